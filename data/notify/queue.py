"""Queue a message: the one writer of ``outbox_message`` rows (issue 14).

Called in the transaction of the event that causes the message (a check-in's safety alert, a
due reminder, an invitation), never committed here: the event and its messages are stored
together or not at all (a transactional outbox). Sending is the worker's job
(:mod:`data.notify.worker`); nothing here talks to a server.

Addresses and numbers are checked before anything is queued (``email-validator``; E.164 via
``phonenumbers``), so the outbox only ever holds something a channel can try. The same
``dedupe_key`` is queued once per clinic: whoever computes a reminder or a notification
again (two workers, a retry of the event's transaction) finds it queued already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.models import utcnow
from data.notify.models import OutboxMessage

__all__ = [
    "CHANNELS",
    "KINDS",
    "Channel",
    "NewMessage",
    "normalise_email",
    "normalise_phone",
    "queue_message",
    "queue_messages",
]

Channel = Literal["email", "sms"]
CHANNELS: Final[tuple[Channel, ...]] = ("email", "sms")

KINDS: Final[dict[str, str]] = {
    "checkin_reminder": "a reminder that a check-in is due",
    "invitation": "an invitation to set a password",
    "safety_alert": "a patient safety alert needs review (to the care team)",
    "safety_escalation": "an unacknowledged safety alert, to the next on-call contact",
}
"""Every kind of message, in words for the delivery log."""

_MAX_BODY = 2_000


@dataclass(frozen=True)
class NewMessage:
    """One message to queue. ``recipient`` is an e-mail address (``channel="email"``) or a
    phone number (``"sms"``; E.164, or national in ``region``)."""

    clinic_id: int
    kind: str
    channel: Channel
    recipient: str
    body: str
    dedupe_key: str
    subject: str | None = None
    patient_id: int | None = None
    user_id: int | None = None
    on_call_contact_id: int | None = None
    alert_id: int | None = None
    not_before: dt.datetime | None = None
    expires_at: dt.datetime | None = None


def normalise_email(address: str) -> str:
    """The address as it is sent to, or InvalidInput saying what is wrong with it.

    Syntax only (no DNS lookup: a clinic's records are entered offline too)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(address.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise InvalidInput([f"the e-mail address {address!r} is not valid: {error}"]) from None


def normalise_phone(number: str, region: str | None = "US") -> str:
    """The number in E.164 (``+15551234567``), or InvalidInput saying it is not a number a
    text can be sent to. A national number is read in ``region``."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number.strip(), region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise InvalidInput([f"the phone number {number!r} is not a valid number"])
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _insert_once(dialect: str) -> object:
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["clinic_id", "dedupe_key"])
        .returning(table.c.id)
    )


def _row(message: NewMessage, now: dt.datetime, *, recipient_checked: bool) -> dict[str, object]:
    """The outbox row of ``message``, checked (InvalidInput says what is wrong)."""
    if message.kind not in KINDS:
        raise InvalidInput([f"unknown kind of message {message.kind!r}"])
    if message.channel not in CHANNELS:
        raise InvalidInput([f"unknown channel {message.channel!r}"])
    if not message.body.strip() or len(message.body) > _MAX_BODY:
        raise InvalidInput([f"a message needs a body of 1 to {_MAX_BODY} characters"])
    if not message.dedupe_key or len(message.dedupe_key) > 200:
        raise InvalidInput(["a message needs a dedupe key of 1 to 200 characters"])
    if recipient_checked:
        recipient = message.recipient
    elif message.channel == "email":
        recipient = normalise_email(message.recipient)
    else:
        recipient = normalise_phone(message.recipient)
    return {
        "clinic_id": message.clinic_id,
        "kind": message.kind,
        "channel": message.channel,
        "recipient": recipient,
        "patient_id": message.patient_id,
        "user_id": message.user_id,
        "on_call_contact_id": message.on_call_contact_id,
        "alert_id": message.alert_id,
        "subject": message.subject,
        "body": message.body,
        "dedupe_key": message.dedupe_key,
        "status": "queued",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": message.not_before or now,
        "expires_at": message.expires_at,
    }


def queue_message(session: Session, message: NewMessage) -> int | None:
    """Queue ``message`` in the caller's transaction; its id, or None when a message with its
    ``dedupe_key`` is queued (or was sent) already.

    Raises InvalidInput for an unknown kind or channel, an invalid address or number, or a
    body that is empty or too long. Nothing is written then.
    """
    values = _row(message, utcnow(), recipient_checked=False)
    connection = session.connection()
    found = connection.execute(_insert_once(connection.dialect.name), values).scalar()  # type: ignore[call-overload]
    return None if found is None else int(found)


def queue_messages(
    session: Session, messages: Sequence[NewMessage], *, recipients_checked: bool = False
) -> int:
    """Queue many messages in one statement (a reminders pass); how many were new (a key
    queued already is skipped, as :func:`queue_message` skips it).

    Every message is checked first: one bad message refuses them all (InvalidInput) and
    nothing is written. ``recipients_checked``: the caller has normalised every address and
    number with :func:`normalise_email` / :func:`normalise_phone` already (not done twice).
    """
    if not messages:
        return 0
    now = utcnow()
    rows = [_row(m, now, recipient_checked=recipients_checked) for m in messages]
    connection = session.connection()
    # One INSERT ... ON CONFLICT DO NOTHING RETURNING id for all (SQLAlchemy's "insert many
    # values"): only the new rows come back.
    found = connection.execute(_insert_once(connection.dialect.name), rows).all()  # type: ignore[call-overload]
    return len(found)


def queued_ids(session: Session, *, clinic_id: int, dedupe_prefix: str) -> list[int]:
    """The ids of a clinic's messages whose key starts with ``dedupe_prefix`` (tests, logs)."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.clinic_id == clinic_id,
                OutboxMessage.dedupe_key.startswith(dedupe_prefix, autoescape=True),
            )
            .order_by(OutboxMessage.id)
        )
    )
