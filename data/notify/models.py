"""The tables of messages that leave the building (issue 14, migration 0010).

Reminders, invitations and safety notifications are rows of ``outbox_message``, written in
the same transaction as the event that causes them (a transactional outbox): a check-in
with a self-harm answer commits its alert and its staff notifications together, or
neither. A worker (``outcomes worker`` / ``outcomes send-due``) sends them and records each
attempt in ``outbox_attempt``; nothing is deleted, so the delivery log is the table itself.

Also here: what a clinic edits about messages (templates, on-call list, measurement
schedules), who asked to hear nothing more (``message_opt_out``), the one-tap links a
message carries (``access_link``), infusions booked ahead (``planned_infusion``, which move
the schedule as recorded ones do) and each safety alert's history (``alert_event``).
Every row carries its clinic, as everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base, JsonType, UTCDateTime, utcnow

__all__ = [
    "AccessLink",
    "AlertEvent",
    "MeasurementSchedule",
    "MessageOptOut",
    "MessageTemplate",
    "OnCallContact",
    "OutboxAttempt",
    "OutboxMessage",
    "PlannedInfusion",
]


class OutboxMessage(Base):
    """One message to send, written in the transaction of the event that causes it.

    ``status``: ``queued`` (waiting for its turn or a retry), ``sent``, ``failed`` (gave up
    after the last retry, or refused for good by the server), ``cancelled`` (no longer to
    be sent: its window closed, the patient opted out, the alert was acknowledged first).
    ``dedupe_key`` names what the message is for (``reminder:<patient>:<window>:<n>``) so the
    same message is never queued twice, whoever computes it. A worker takes a message by
    setting ``lease_until`` (another worker leaves it alone until then); a worker killed
    mid-send leaves the lease to run out and the message is sent again (at most once more).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("clinic_id", "dedupe_key", name="uq_outbox_message_clinic_dedupe"),
        # The worker's one question: what is queued and due now.
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_clinic_created", "clinic_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    # checkin_reminder, invitation, safety_alert, safety_escalation (data.notify.kinds)
    kind: Mapped[str] = mapped_column(String(40))
    # email, sms or local (the embedded default's outbox, read in the app)
    channel: Mapped[str] = mapped_column(String(20))
    # An e-mail address or an E.164 number, validated when queued.
    recipient: Mapped[str] = mapped_column(String(320))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    on_call_contact_id: Mapped[int | None] = mapped_column(ForeignKey("on_call_contact.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("safety_alert.id"), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    # Never clinical content: a clinic's name, that something is due or needs review, a link.
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Not before this moment (a reminder queued in quiet hours waits for the morning).
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Not after this moment: a reminder whose window has closed is cancelled, never sent.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    leased_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The channel's own id for it (SMTP Message-ID, the gateway's message sid).
    provider_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxAttempt(Base):
    """One try at sending one message, and how it ended (the delivery log's detail).

    ``outcome``: ``sent``, ``failed`` (will be retried), ``gave_up``, ``bounced``,
    ``opted_out``, ``expired``, ``unreachable``.
    """

    __tablename__ = "outbox_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))


class MessageOptOut(Base):
    """A patient who asked for no more reminders on a channel (``email``, ``sms`` or ``all``),
    by the link in an e-mail, STOP by text, or through the care team (``via``)."""

    __tablename__ = "message_opt_out"
    __table_args__ = (
        UniqueConstraint("patient_id", "channel", name="uq_message_opt_out_patient_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    channel: Mapped[str] = mapped_column(String(20))
    via: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OnCallContact(Base):
    """One person on the clinic's on-call list, in the order safety alerts escalate through
    (``position`` 1 is told at once with the patient's clinician; the next after the set
    time unacknowledged, and so on)."""

    __tablename__ = "on_call_contact"
    __table_args__ = (Index("ix_on_call_contact_clinic_position", "clinic_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MessageTemplate(Base):
    """A clinic's own wording of one kind of message on one channel (the default otherwise).

    Placeholders (``{clinic_name}``, ``{link}``, ...) are checked when saved: a template
    names only those its kind supplies, and never anything clinical."""

    __tablename__ = "message_template"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class MeasurementSchedule(Base):
    """A protocol's measurement schedule (course-and-reporting §4) as the clinic edits it.

    ``protocol`` is a treatment course's protocol name; ``""`` is the clinic's default for
    every protocol without a schedule of its own. ``points`` is the list
    :func:`outcomes.schedule` reads (baseline, before each induction infusion, weekly between
    infusions, end of induction, maintenance, before each booster, with their windows);
    ``induction_infusions`` says how many infusions make the induction."""

    __tablename__ = "measurement_schedule"
    __table_args__ = (
        UniqueConstraint("clinic_id", "protocol", name="uq_measurement_schedule_clinic_protocol"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    protocol: Mapped[str] = mapped_column(String(200), default="")
    induction_infusions: Mapped[int] = mapped_column(Integer, default=6)
    points: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class PlannedInfusion(Base):
    """An infusion booked ahead: it moves the schedule as a recorded one does (a check-in is
    due before it). Recording the infusion, or cancelling the booking, ends it."""

    __tablename__ = "planned_infusion"
    __table_args__ = (Index("ix_planned_infusion_patient_time", "patient_id", "planned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    planned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # The infusion that was given for it, or when and by whom it was cancelled.
    infusion_id: Mapped[int | None] = mapped_column(ForeignKey("infusion.id"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AccessLink(Base):
    """A signed one-tap link a message carries: it opens one thing for one patient without a
    password (``purpose``: ``checkin`` — that check-in, until its window closes; ``invitation``
    — setting a password; ``opt_out`` — no more reminders), once.

    Only the token's SHA-256 is stored; a used, expired or revoked link, or one of a disabled
    patient, opens a clear page and nothing else."""

    __tablename__ = "access_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What it opens (a check-in's instruments and the window it is for).
    scope: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AlertEvent(Base):
    """One step in a safety alert's history: ``raised``, ``notified`` (who was told, by
    which channel), ``escalated`` (to the next on-call contact), ``delivery_failed``,
    ``acknowledged``. Written in the transaction of the step itself."""

    __tablename__ = "alert_event"
    __table_args__ = (Index("ix_alert_event_alert_at", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("safety_alert.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    # Who or what: a contact's name and channel, never clinical content.
    detail: Mapped[str | None] = mapped_column(String(300))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))
