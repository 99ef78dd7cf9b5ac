"""Inviting a patient to set a password: the link, its message, and setting it (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.accounts import authenticate
from data.errors import AccessDenied, InvalidInput
from data.models import AuditEvent, Patient, User
from data.notify.invitations import NO_CONTACT, accept_invitation, invite_patient
from data.notify.links import RefusedLink, open_link
from data.notify.models import AccessLink, OutboxMessage
from tests.conftest import World

SECRET = b"a test key that is long enough for links, 48 chars"
NEW_PASSWORD = "river lantern quietly"


def _patient(session: Session, world: World, **contact: str | None) -> Patient:
    patient = Patient(clinic_id=world.clinic_a, external_id="MRN-invite", name="Ivy Invite")
    for field, value in contact.items():
        setattr(patient, field, value)
    session.add(patient)
    session.flush()
    return patient


def _token(session: Session, message_id: int | None) -> str:
    message = session.get(OutboxMessage, message_id)
    assert message is not None
    return message.body.split("?link=")[1].split()[0]


def test_an_invitation_queues_a_message_with_its_link_and_no_clinical_content(
    session: Session, world: World
) -> None:
    patient = _patient(session, world, email=" Ivy@Example.org ", phone="(202) 555-0143")
    sent = invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel="email")
    message = session.get(OutboxMessage, sent.message_id)
    assert message is not None
    assert (message.kind, message.channel, message.status) == ("invitation", "email", "queued")
    assert message.recipient == sent.recipient == "Ivy@example.org"
    assert message.subject == "Set up your Clinic A account"
    assert "Ivy" not in message.body and "MRN" not in message.body
    link = session.get(AccessLink, sent.link_id)
    assert link is not None and link.purpose == "invitation"
    assert message.expires_at == link.expires_at
    text = invite_patient(session, actor=world.admin_a, patient_id=patient.id, channel="sms")
    sms = session.get(OutboxMessage, text.message_id)
    assert sms is not None and sms.recipient == "+12025550143"
    # The newer invitation withdraws the older one.
    session.refresh(link)
    assert link.revoked_at is not None
    events = session.scalars(
        select(AuditEvent.subject).where(AuditEvent.action == "invite_patient")
    ).all()
    assert events == [f"link {sent.link_id} (email)", f"link {text.link_id} (sms)"]


def test_a_patient_without_contact_or_with_a_bad_one_is_told_clearly(
    session: Session, world: World
) -> None:
    patient = _patient(session, world)
    for channel in ("email", "sms"):
        with pytest.raises(InvalidInput, match=NO_CONTACT):
            invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel=channel)  # type: ignore[arg-type]
    patient.email = "not an address"
    session.flush()
    with pytest.raises(InvalidInput, match="not valid"):
        invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel="email")
    assert session.scalar(select(OutboxMessage.id)) is None
    with pytest.raises(AccessDenied):
        invite_patient(session, actor=world.clinician_b, patient_id=patient.id, channel="email")


def test_the_link_sets_a_password_once_and_the_patient_signs_in(
    session: Session, world: World
) -> None:
    patient = _patient(session, world, email="ivy@example.org")
    sent = invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel="email")
    token = _token(session, sent.message_id)
    with pytest.raises(InvalidInput):
        accept_invitation(session, token=token, password="short", secret=None)
    assert patient.user_id is None  # nothing made for a refused password
    username = accept_invitation(session, token=token, password=NEW_PASSWORD)
    session.refresh(patient)
    user = session.get(User, patient.user_id)
    assert user is not None and user.username == username and user.role == "patient"
    actor = authenticate(session, username=username, password=NEW_PASSWORD)
    assert actor.patient_id == patient.id
    refused = open_link(session, token=token)
    assert isinstance(refused, RefusedLink) and refused.reason == "used"
    with pytest.raises(AccessDenied, match="used"):
        accept_invitation(session, token=token, password="another long password")
    assert (
        session.scalar(select(AuditEvent.subject).where(AuditEvent.action == "accept_invitation"))
        == f"account {username}"
    )


def test_an_invitation_to_a_patient_with_a_sign_in_sets_its_password(
    session: Session, world: World
) -> None:
    patient = session.get(Patient, world.patient_a1.patient_id)
    assert patient is not None
    patient.phone = "+12025550143"
    sent = invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel="sms")
    token = _token(session, sent.message_id)
    assert accept_invitation(session, token=token, password=NEW_PASSWORD) == "patient-a1"
    assert (
        authenticate(session, username="patient-a1", password=NEW_PASSWORD).patient_id == patient.id
    )
    # A disabled sign-in is refused an invitation, and an invitation already sent says so.
    user = session.get(User, patient.user_id)
    assert user is not None
    again = invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel="sms")
    user.active = False
    session.flush()
    refused = open_link(session, token=_token(session, again.message_id))
    assert isinstance(refused, RefusedLink) and refused.reason == "disabled"
    with pytest.raises(InvalidInput, match="disabled"):
        invite_patient(session, actor=world.clinician_a, patient_id=patient.id, channel="sms")
