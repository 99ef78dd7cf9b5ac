"""Invite a patient to check in online: a link to set their own password (issue 14).

The care team (or an administrator at the front desk) sends the invitation from the
patient's record: a one-tap link (:mod:`data.notify.links`, purpose ``invitation``, a week)
in a message queued in the same transaction (:func:`data.notify.queue.queue_message`), by
e-mail or text to the contact on record. A new invitation withdraws the patient's earlier
open ones. Following the link, the patient chooses a password under the patient password
rules (:func:`data.password_policy.password_problems`); their sign-in is made (or given the
new password) as :func:`data.account_admin.issue_patient_sign_in` makes it, and they then
sign in as usual. Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.account_admin import issue_patient_sign_in
from data.accounts import hash_password
from data.errors import AccessDenied, InvalidInput
from data.models import Clinic, Patient, User
from data.notify.links import (
    RefusedLink,
    issue_link,
    mark_link_used,
    open_link,
    revoke_links,
)
from data.notify.queue import Channel, NewMessage, normalise_email, normalise_phone, queue_message
from data.notify.templates import render_message
from data.password_policy import password_problems

__all__ = ["NO_CONTACT", "Invitation", "accept_invitation", "invite_patient"]

NO_CONTACT = "no e-mail or phone on record"


@dataclass(frozen=True)
class Invitation:
    """A queued invitation: its link's row, its message's row and where it goes."""

    link_id: int
    message_id: int | None
    channel: str
    recipient: str


def _recipient(patient: Patient, channel: str) -> str:
    if channel == "email":
        if not (patient.email or "").strip():
            raise InvalidInput([f"{NO_CONTACT}: add the patient's e-mail address first"])
        return normalise_email(patient.email or "")
    if channel == "sms":
        if not (patient.phone or "").strip():
            raise InvalidInput([f"{NO_CONTACT}: add the patient's phone number first"])
        return normalise_phone(patient.phone or "")
    raise InvalidInput([f"unknown channel {channel!r}: e-mail or text"])


def invite_patient(
    session: Session, *, actor: Actor, patient_id: int, channel: Channel
) -> Invitation:
    """Queue an invitation to set a password to a patient of the clinic, by ``channel``.

    Raises
    ------
    AccessDenied
        Not the care team, an administrator or the operator, or no such patient in the clinic.
    InvalidInput
        No e-mail address (or phone number) on record, or one that is not valid; or the
        patient's sign-in is disabled.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    patient = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None or patient.clinic_id != actor.clinic_id:
        raise AccessDenied("no such patient in your clinic")
    recipient = _recipient(patient, channel)
    if patient.user_id is not None:
        user = session.get(User, patient.user_id)
        if user is not None and not user.active:
            raise InvalidInput(
                [
                    "this patient's sign-in is disabled; an administrator can enable it on "
                    "the Users page first"
                ]
            )
    revoke_links(session, patient_id=patient.id, purpose="invitation")
    link = issue_link(
        session, clinic_id=actor.clinic_id, patient_id=patient.id, purpose="invitation"
    )
    clinic = session.get(Clinic, actor.clinic_id)
    text = render_message(
        session,
        clinic_id=actor.clinic_id,
        kind="invitation",
        channel=channel,
        values={"clinic_name": clinic.name if clinic else "Your clinic", "link": link.url},
    )
    message_id = queue_message(
        session,
        NewMessage(
            clinic_id=actor.clinic_id,
            kind="invitation",
            channel=channel,
            recipient=recipient,
            subject=text.subject,
            body=text.body,
            dedupe_key=f"invitation:{link.link_id}",
            patient_id=patient.id,
            expires_at=link.expires_at,
        ),
    )
    audit.record(
        session,
        actor=actor,
        action=audit.Action.INVITE_PATIENT,
        patient_id=patient.id,
        subject=f"link {link.link_id} ({channel})",
    )
    return Invitation(
        link_id=link.link_id, message_id=message_id, channel=channel, recipient=recipient
    )


def accept_invitation(
    session: Session, *, token: str, password: str, secret: bytes | None = None
) -> str:
    """Set the patient's password with an invitation link; the username to sign in with.

    The link is the credential, so this takes no actor. The password is checked by the
    patient rules before anything is written; the sign-in is made (generated username) or,
    if the patient has one, given this password (its other sessions end), and the link is
    used up.

    Raises
    ------
    AccessDenied
        The link does not open (the words of :data:`data.notify.links.REASONS`) or is not an
        invitation.
    InvalidInput
        The password breaks a rule (each problem in words).
    """
    opened = open_link(session, token=token, secret=secret)
    if isinstance(opened, RefusedLink):
        raise AccessDenied(opened.message)
    if opened.purpose != "invitation":
        raise AccessDenied("this link is not an invitation")
    problems = password_problems(password, role="patient")
    if problems:
        raise InvalidInput(problems)
    # The operator's account-making, named for the link in the audit trail.
    maker = Actor.system(opened.clinic_id, name=f"invitation link {opened.link_id}")
    made = issue_patient_sign_in(session, actor=maker, patient_id=opened.patient_id)
    problems = password_problems(password, role="patient", username=made.username)
    if problems:
        raise InvalidInput(problems)
    user = session.get(User, made.user_id)
    if user is None:  # pragma: no cover - just made or found
        raise AccessDenied()
    user.password_hash = hash_password(password)
    mark_link_used(session, link_id=opened.link_id)
    audit.record(
        session,
        actor=opened.actor,
        action=audit.Action.ACCEPT_INVITATION,
        patient_id=opened.patient_id,
        subject=audit.subject_of_account(made.username),
    )
    session.flush()
    return made.username
