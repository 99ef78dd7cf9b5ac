"""A new safety alert reaches a person: the patient's clinician and the first on-call contact.

Called by the one writer of alerts (:func:`data.records.alerts.write_alerts`) for every open
alert it stores, in the same transaction: the alert, its ``raised`` step, its messages
(``safety_alert``, e-mail and SMS to each person by each channel they have) and a
``notified`` step per message are committed together or not at all. Nothing is sent here:
the worker sends what is queued.

Who is told at once: the patient's assigned clinician (``app_user.email`` / ``phone``, an
active account) and the first active contact of the clinic's on-call list (lowest
``position``). The wording is the clinic's template (:func:`data.notify.templates.
render_message`): no clinical content, only that a patient safety alert needs review and a
link to the app (``settings.public_url``), which asks for a sign-in. A clinic with nobody
reachable still stores the alert (a check-in is never refused) and its history says that
nobody could be told (a ``delivery_failed`` step).

:func:`care_team_told` is what the crisis panel asks: whether a message about one of the
patient's open alerts was queued to someone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_view_patient
from data.errors import InvalidInput
from data.models import Clinic, Patient, SafetyAlert, User
from data.notify.models import AlertEvent, OnCallContact
from data.notify.queue import Channel, NewMessage, queue_message
from data.notify.templates import Template, render_message
from data.records.alert_history import NewEvent, record_events
from data.settings import get_settings

__all__ = [
    "Contact",
    "OpenAlert",
    "alert_link",
    "care_team_told",
    "notify_new_alerts",
    "on_call_contacts",
    "tell",
]

NOBODY_REACHABLE = "nobody reachable: no clinician or on-call contact with an e-mail or phone"


@dataclass(frozen=True)
class OpenAlert:
    """A just-stored open alert: its id, clinic, patient and when it was raised."""

    alert_id: int
    clinic_id: int
    patient_id: int
    created_at: dt.datetime


@dataclass(frozen=True)
class Contact:
    """Someone to tell: a user (the clinician) or an on-call contact, and their addresses.

    ``key`` names them in dedupe keys (``user:12``, ``oncall:3``); ``label`` in the history.
    """

    key: str
    label: str
    email: str | None
    phone: str | None
    user_id: int | None = None
    on_call_contact_id: int | None = None

    def addresses(self) -> list[tuple[Channel, str]]:
        """Each channel the contact has, with its address."""
        found: list[tuple[Channel, str]] = []
        if self.email and self.email.strip():
            found.append(("email", self.email))
        if self.phone and self.phone.strip():
            found.append(("sms", self.phone))
        return found


def alert_link(alert_id: int) -> str:
    """Where a message about ``alert_id`` sends a clinician: the worklist, where open alerts
    are reviewed, behind the app's sign-in."""
    return f"{get_settings().public_url.rstrip('/')}/worklist?alert={alert_id}"


def on_call_contacts(session: Session, clinic_id: int) -> list[Contact]:
    """The clinic's active on-call list in escalation order (position, then first added)."""
    rows = session.scalars(
        select(OnCallContact)
        .where(OnCallContact.clinic_id == clinic_id, OnCallContact.active.is_(True))
        .order_by(OnCallContact.position, OnCallContact.id)
    )
    return [
        Contact(
            key=f"oncall:{row.id}",
            label=f"{row.name} (on call, position {row.position})",
            email=row.email,
            phone=row.phone,
            on_call_contact_id=row.id,
        )
        for row in rows
    ]


def _patients_people(
    session: Session, patient_ids: Iterable[int]
) -> tuple[dict[int, str], dict[int, Contact]]:
    """Each patient's clinic name, and their assigned clinician where the account is active
    (one query: a check-in that raises an alert pays for as few reads as can be)."""
    rows = session.execute(
        select(Patient.id, Clinic.name, User.id, User.display_name, User.email, User.phone)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .outerjoin(User, (User.id == Patient.assigned_clinician_id) & User.active.is_(True))
        .where(Patient.id.in_(sorted(set(patient_ids))))
    )
    names: dict[int, str] = {}
    clinicians: dict[int, Contact] = {}
    for patient_id, clinic_name, user_id, name, email, phone in rows:
        names[patient_id] = clinic_name
        if user_id is not None:
            clinicians[patient_id] = Contact(
                key=f"user:{user_id}",
                label=f"{name} (the patient's clinician)",
                email=email,
                phone=phone,
                user_id=user_id,
            )
    return names, clinicians


def tell(
    session: Session,
    *,
    alert: OpenAlert,
    contacts: Sequence[Contact],
    kind: str,
    step: str,
    at: dt.datetime,
    clinic_name: str,
    values: dict[str, str] | None = None,
) -> tuple[list[NewEvent], int]:
    """Queue ``kind`` to each of ``contacts`` by each channel they have; the history steps to
    store (``notified`` per message, ``delivery_failed`` for an address that is not valid)
    and how many messages were queued now. ``step`` names the occasion in the messages'
    dedupe keys (``notified``, ``escalated:2``).

    The same address is told once (a clinician who is also on call). A message queued
    already (the same dedupe key: a retried transaction, a second worker) is not queued
    again and its step is not repeated.
    """
    events: list[NewEvent] = []
    queued = 0
    seen: set[tuple[str, str]] = set()
    fields = {"clinic_name": clinic_name, "link": alert_link(alert.alert_id)} | (values or {})
    texts: dict[str, Template] = {}
    for contact in contacts:
        for channel, address in contact.addresses():
            # One person on two lists (a clinician also on call) is told once; an address's
            # case and spacing make no other mailbox or phone in practice.
            same = (channel, "".join(address.split()).lower())
            if same in seen:
                continue
            seen.add(same)
            if channel not in texts:  # the same words for everyone told of this alert
                texts[channel] = render_message(
                    session, clinic_id=alert.clinic_id, kind=kind, channel=channel, values=fields
                )
            text = texts[channel]
            try:
                message_id = queue_message(
                    session,
                    NewMessage(
                        clinic_id=alert.clinic_id,
                        kind=kind,
                        channel=channel,
                        recipient=address,
                        subject=text.subject,
                        body=text.body,
                        dedupe_key=f"alert:{alert.alert_id}:{step}:{contact.key}:{channel}",
                        user_id=contact.user_id,
                        on_call_contact_id=contact.on_call_contact_id,
                        alert_id=alert.alert_id,
                        patient_id=alert.patient_id,
                    ),
                )
            except InvalidInput:  # an address on record that no channel can use
                events.append(
                    NewEvent(
                        alert.clinic_id,
                        alert.alert_id,
                        "delivery_failed",
                        at,
                        f"{contact.label}: the {channel} address on record is not valid",
                    )
                )
                continue
            if message_id is None:
                continue
            queued += 1
            by = "e-mail" if channel == "email" else "text message"
            events.append(
                NewEvent(
                    alert.clinic_id,
                    alert.alert_id,
                    "notified",
                    at,
                    f"{contact.label} by {by}",
                    message_id=message_id,
                )
            )
    return events, queued


def notify_new_alerts(session: Session, alerts: Sequence[OpenAlert]) -> int:
    """Store each alert's ``raised`` step and tell its people (module notes); how many
    messages were queued. The caller owns the transaction and has checked the actor."""
    if not alerts:
        return 0
    clinic_ids = sorted({alert.clinic_id for alert in alerts})
    names, clinicians = _patients_people(session, (alert.patient_id for alert in alerts))
    on_call = {clinic_id: on_call_contacts(session, clinic_id)[:1] for clinic_id in clinic_ids}
    events: list[NewEvent] = []
    queued = 0
    for alert in alerts:
        events.append(NewEvent(alert.clinic_id, alert.alert_id, "raised", alert.created_at))
        people = [c for c in (clinicians.get(alert.patient_id),) if c is not None]
        people += on_call[alert.clinic_id]
        told, count = tell(
            session,
            alert=alert,
            contacts=people,
            kind="safety_alert",
            step="notified",
            at=alert.created_at,
            clinic_name=names.get(alert.patient_id, "your clinic"),
        )
        queued += count
        events += told
        if not any(event.kind == "notified" for event in told):
            events.append(
                NewEvent(
                    alert.clinic_id,
                    alert.alert_id,
                    "delivery_failed",
                    alert.created_at,
                    NOBODY_REACHABLE,
                )
            )
    record_events(session, events)
    return queued


def care_team_told(session: Session, *, actor: Actor, patient_id: int) -> bool:
    """Whether a message about one of the patient's open alerts was queued to someone (the
    crisis panel may then say the care team has been sent a message).

    The patient themself or their care team; a yes or no, nothing about whom or what.
    """
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    notified = exists().where(
        AlertEvent.alert_id == SafetyAlert.id,
        AlertEvent.kind == "notified",
    )
    found = session.scalar(
        select(SafetyAlert.id)
        .where(
            SafetyAlert.patient_id == patient_id,
            SafetyAlert.clinic_id == actor.clinic_id,
            SafetyAlert.acknowledged_at.is_(None),
            notified,
        )
        .limit(1)
    )
    audit.record(
        session,
        actor=actor,
        action=audit.Action.VIEW_ALERT_NOTICE,
        patient_id=patient_id,
        once_within=audit.VISIT,
    )
    return found is not None
