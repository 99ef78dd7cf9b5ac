"""What became of the clinic's messages, for its administrators (issue 14).

The delivery log is the outbox itself (nothing is deleted): each message's kind, channel,
recipient (masked: ``p***@example.org``, ``+1••••••0143``), status, attempts, last error and
times, filtered and a page at a time; the counts of sent, failed, bounced, opted-out,
cancelled and queued messages; how many patients cannot be reached at all (no e-mail and no
phone) (whether sending is stuck: :mod:`data.notify.health`); and the
sent messages themselves, subject and body, which the embedded default's local outbox lets a
newcomer read ("messages sent"; one-time links in them are hidden).

Administrators see no patient's name here: a message's patient is not shown, its recipient
is masked. The log and the sent messages are audited once per visit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

import pandas as pd
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import Patient
from data.notify.models import MessageOptOut, OutboxAttempt, OutboxMessage
from data.notify.queue import KINDS

__all__ = [
    "COUNTED",
    "LOG_COLUMNS",
    "STATUSES",
    "LogPage",
    "delivery_counts",
    "delivery_log",
    "hide_links",
    "mask_recipient",
    "sent_messages",
    "unreachable_patients",
]

STATUSES: Final = ("queued", "sent", "failed", "cancelled")
COUNTED: Final = ("sent", "failed", "bounced", "opted_out", "cancelled", "queued")
"""The delivery counts, in the order the page shows them."""
LOG_COLUMNS: Final = (
    "message_id",
    "created_at",
    "kind",
    "channel",
    "recipient",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "sent_at",
)


MAX_PAGE_SIZE: Final = 200


def mask_recipient(recipient: str) -> str:
    """An address or number with enough left to recognise it, not to read it:
    ``p***@example.org``, ``+1••••••0143``."""
    if "@" in recipient:
        local, _, domain = recipient.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if recipient.startswith("+") and len(recipient) > 6:
        import phonenumbers

        try:
            code = str(phonenumbers.parse(recipient, None).country_code)
        except phonenumbers.NumberParseException:
            code = recipient[1:2]
        hidden = max(len(recipient) - 1 - len(code) - 4, 1)
        return f"+{code}{'•' * hidden}{recipient[-4:]}"
    return "•" * max(len(recipient) - 2, 1) + recipient[-2:]


# A one-time link's token (a run of 16 or more URL-safe characters in an address) opens a
# patient's check-in: shown to nobody but its recipient.
_TOKEN = re.compile(r"(https?://[^\s/]+[^\s]*?[/=])([A-Za-z0-9_-]{16,})")


def hide_links(text: str) -> str:
    """``text`` with every one-time link's token replaced by ``[one-time link hidden]``."""
    return _TOKEN.sub(lambda match: match.group(1) + "[one-time link hidden]", text)


def _conditions(
    actor: Actor,
    status: str | None,
    kind: str | None,
    between: tuple[dt.date, dt.date] | None,
) -> list[ColumnElement[bool]]:
    problems = []
    if status is not None and status not in STATUSES:
        problems.append(f"status must be one of {', '.join(STATUSES)}")
    if kind is not None and kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}")
    if between is not None and between[0] > between[1]:
        problems.append("the first day must not be after the last")
    if problems:
        raise InvalidInput(problems)
    conditions: list[ColumnElement[bool]] = [OutboxMessage.clinic_id == actor.clinic_id]
    if status is not None:
        conditions.append(OutboxMessage.status == status)
    if kind is not None:
        conditions.append(OutboxMessage.kind == kind)
    if between is not None:
        start = dt.datetime.combine(between[0], dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(between[1] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        conditions += [OutboxMessage.created_at >= start, OutboxMessage.created_at < end]
    return conditions


@dataclass(frozen=True)
class LogPage:
    """One page of the delivery log, newest first: ``rows`` (:data:`LOG_COLUMNS`), how many
    messages match in all (``total``), and which page of how many this is."""

    rows: pd.DataFrame
    total: int
    page: int
    pages: int


def delivery_log(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    kind: str | None = None,
    between: tuple[dt.date, dt.date] | None = None,
    page: int = 0,
    page_size: int = 50,
) -> LogPage:
    """The clinic's messages, newest first, ``page_size`` a page (administrators and the
    operator). Recipients masked, no patient named. Audited once per visit.

    ``between`` is two days (UTC, both included) the messages were queued on.
    """
    ensure_role(session, actor, "administrator", "system")
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
        raise InvalidInput([f"a page holds 1 to {MAX_PAGE_SIZE} messages, from page 0"])
    conditions = _conditions(actor, status, kind, between)
    total = int(session.scalar(select(func.count(OutboxMessage.id)).where(*conditions)) or 0)
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(page, pages - 1)
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.created_at,
            OutboxMessage.kind,
            OutboxMessage.channel,
            OutboxMessage.recipient,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.next_attempt_at,
            OutboxMessage.sent_at,
        )
        .where(*conditions)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(page_size)
        .offset(page * page_size)
    ).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(LOG_COLUMNS))
    frame["recipient"] = [mask_recipient(str(r)) for r in frame["recipient"]]
    audit.record(
        session, actor=actor, action=audit.Action.VIEW_DELIVERY_LOG, once_within=audit.VISIT
    )
    return LogPage(frame, total, page, pages)


def delivery_counts(
    session: Session, *, actor: Actor, between: tuple[dt.date, dt.date] | None = None
) -> dict[str, int]:
    """How many of the clinic's messages (queued ``between`` those days) were sent, failed,
    bounced, stopped by an opt-out, cancelled, or are queued (:data:`COUNTED`); and
    ``opted_out_patients``, how many patients asked for no more reminders at all or on a
    channel. Counts only: not audited."""
    ensure_role(session, actor, "administrator", "system")
    conditions = _conditions(actor, None, None, between)
    by_status = dict(
        session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .where(*conditions)
            .group_by(OutboxMessage.status)
        ).all()
    )

    def with_attempt(outcome: str) -> int:
        attempted = exists().where(
            OutboxAttempt.message_id == OutboxMessage.id, OutboxAttempt.outcome == outcome
        )
        return int(
            session.scalar(select(func.count(OutboxMessage.id)).where(*conditions, attempted)) or 0
        )

    counts = {status: int(by_status.get(status, 0)) for status in STATUSES}
    counts["bounced"] = with_attempt("bounced")
    counts["opted_out"] = with_attempt("opted_out")
    counts["opted_out_patients"] = int(
        session.scalar(
            select(func.count(func.distinct(MessageOptOut.patient_id))).where(
                MessageOptOut.clinic_id == actor.clinic_id
            )
        )
        or 0
    )
    return {name: counts[name] for name in (*COUNTED, "opted_out_patients")}


def unreachable_patients(session: Session, *, actor: Actor) -> int:
    """How many of the clinic's patients have neither an e-mail address nor a phone number,
    so no reminder can reach them (a count for the clinic's aggregates: not audited)."""
    ensure_role(session, actor, "clinician", "administrator", "system")
    missing_email = or_(Patient.email.is_(None), func.trim(Patient.email) == "")
    missing_phone = or_(Patient.phone.is_(None), func.trim(Patient.phone) == "")
    return int(
        session.scalar(
            select(func.count(Patient.id)).where(
                Patient.clinic_id == actor.clinic_id, missing_email, missing_phone
            )
        )
        or 0
    )


SENT_COLUMNS: Final = ("sent_at", "kind", "channel", "recipient", "subject", "body")


def sent_messages(session: Session, *, actor: Actor, limit: int = 50) -> pd.DataFrame:
    """The clinic's latest ``limit`` sent messages as their recipients read them
    (:data:`SENT_COLUMNS`), newest first, for administrators ("messages sent": the embedded
    default's local outbox).

    Messages carry no clinical content by design; the recipient is masked and every
    one-time link's token hidden (:func:`hide_links`), since it would open a patient's
    check-in. Audited once per visit.
    """
    ensure_role(session, actor, "administrator", "system")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput([f"show 1 to {MAX_PAGE_SIZE} messages"])
    rows = session.execute(
        select(
            OutboxMessage.sent_at,
            OutboxMessage.kind,
            OutboxMessage.channel,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.body,
        )
        .where(OutboxMessage.clinic_id == actor.clinic_id, OutboxMessage.status == "sent")
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    frame = pd.DataFrame(
        [
            (sent_at, kind, channel, mask_recipient(recipient), subject, hide_links(body))
            for sent_at, kind, channel, recipient, subject, body in rows
        ],
        columns=list(SENT_COLUMNS),
    )
    audit.record(
        session, actor=actor, action=audit.Action.VIEW_SENT_MESSAGES, once_within=audit.VISIT
    )
    return frame
