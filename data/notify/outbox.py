"""The outbox's side of sending: take what is due, and record how each try went (issue 14).

A worker (:mod:`data.notify.worker`) alternates two short transactions of its own:

1. :func:`claim_due` takes up to a batch of due messages by setting their lease
   (``lease_until``, ``leased_by``): on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so two
   workers take different messages without waiting for each other; on SQLite inside the
   caller's write transaction (``BEGIN IMMEDIATE``: one writer at a time). Messages whose
   time has passed (``expires_at``) and patient reminders or invitations to a patient who
   opted out are cancelled there, never sent. A safety message to staff is never cancelled
   by an opt-out: opt-outs are the patient's, about their own reminders.
2. After each message's own send, :func:`record_delivery` marks it (sent, tried again later,
   given up, bounced, opted out) and adds its :class:`~data.notify.models.OutboxAttempt`,
   and the caller commits. A worker killed mid-batch therefore loses at most the one message
   in flight: sent, but not yet marked. Its lease runs out and another pass sends it again,
   so each kill costs at most one duplicate and never a lost message.

Retries wait 1, 2, 4, ... minutes (``OUTCOMES_MESSAGES_RETRY_*``, capped). A server that
refused for now gives up after ``OUTCOMES_MESSAGES_MAX_ATTEMPTS`` refusals (``gave_up``); a
server that could not be reached at all is tried again for as long as the message lives, so
an outage loses nothing. Nothing here commits: the caller owns each transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.orm import Session

from data.notify.channels.base import Delivery, Outgoing
from data.notify.models import OutboxAttempt, OutboxMessage
from data.notify.opt_outs import opted_out, record_opt_out
from data.settings import Settings

__all__ = [
    "PATIENT_KINDS",
    "Claim",
    "Claimed",
    "claim_due",
    "record_delivery",
    "release_leases",
    "retry_delay",
]

PATIENT_KINDS: Final = frozenset({"checkin_reminder", "invitation"})
"""Messages to a patient about their own care, which an opt-out stops. Safety messages go
to staff and are never stopped by a patient's opt-out."""


@dataclass(frozen=True)
class Claimed:
    """One leased message, as the worker needs it to send and then record it."""

    outgoing: Outgoing
    kind: str
    patient_id: int | None
    attempts: int


@dataclass
class Claim:
    """What one claim took (to send) and cancelled (never to send)."""

    messages: list[Claimed] = field(default_factory=list)
    expired: int = 0
    opted_out: int = 0


# Core statements on the tables (not the ORM's unit of work): one update and one insert per
# message sent, where the ORM's bookkeeping doubled the cost (bench/notify.py).
_MESSAGES: Table = OutboxMessage.__table__  # type: ignore[assignment]
_ATTEMPTS: Table = OutboxAttempt.__table__  # type: ignore[assignment]


def retry_delay(attempts: int, settings: Settings) -> dt.timedelta:
    """How long to wait after the ``attempts``-th try: base, 2 x base, 4 x base, ... capped."""
    exponent = min(max(attempts - 1, 0), 30)  # 2**30 minutes is past any cap already
    seconds = settings.messages_retry_base_seconds * (2**exponent)
    return dt.timedelta(seconds=min(seconds, settings.messages_retry_cap_seconds))


def _attempt(
    session: Session,
    *,
    clinic_id: int,
    message_id: int,
    outcome: str,
    detail: str | None,
    now: dt.datetime,
    worker: str,
) -> None:
    session.execute(
        insert(_ATTEMPTS),
        {
            "clinic_id": clinic_id,
            "message_id": message_id,
            "at": now,
            "outcome": outcome,
            "detail": detail,
            "worker": worker,
        },
    )


def _cancel(
    session: Session,
    row: OutboxMessage,
    *,
    outcome: str,
    detail: str,
    now: dt.datetime,
    worker: str,
) -> None:
    row.status = "cancelled"
    row.lease_until = None
    row.leased_by = None
    row.last_error = detail
    _attempt(
        session,
        clinic_id=row.clinic_id,
        message_id=row.id,
        outcome=outcome,
        detail=detail,
        now=now,
        worker=worker,
    )


def claim_due(
    session: Session,
    *,
    now: dt.datetime,
    worker: str,
    limit: int,
    lease: dt.timedelta,
) -> Claim:
    """Lease up to ``limit`` messages that are due at ``now`` to ``worker`` until ``now +
    lease``; cancel those that expired or whose patient opted out.

    Due: queued, ``next_attempt_at`` reached (or ``expires_at`` passed: cancelled at once,
    even while it waited for the morning), and not leased by a worker whose lease is still
    running. Oldest first. Call in a write transaction and commit at once, before sending.
    """
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "queued",
            or_(OutboxMessage.next_attempt_at <= now, OutboxMessage.expires_at <= now),
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        # PostgreSQL: rows another worker is claiming are skipped, not waited for. SQLite
        # renders nothing here; its write transaction already admits one writer.
        .with_for_update(skip_locked=True)
    ).all()
    claim = Claim()
    for row in rows:
        if row.expires_at is not None and row.expires_at <= now:
            _cancel(
                session,
                row,
                outcome="expired",
                detail="its time had passed before it could be sent",
                now=now,
                worker=worker,
            )
            claim.expired += 1
            continue
        if (
            row.kind in PATIENT_KINDS
            and row.patient_id is not None
            and opted_out(session, patient_id=row.patient_id, channel=row.channel)
        ):
            _cancel(
                session,
                row,
                outcome="opted_out",
                detail=f"the patient opted out of {row.channel} messages",
                now=now,
                worker=worker,
            )
            claim.opted_out += 1
            continue
        row.lease_until = now + lease
        row.leased_by = worker
        claim.messages.append(
            Claimed(
                outgoing=Outgoing(
                    message_id=row.id,
                    clinic_id=row.clinic_id,
                    channel=row.channel,
                    recipient=row.recipient,
                    subject=row.subject,
                    body=row.body,
                ),
                kind=row.kind,
                patient_id=row.patient_id,
                attempts=row.attempts,
            )
        )
    session.flush()
    return claim


def _refusals_so_far(session: Session, message_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxAttempt)
            .where(OutboxAttempt.message_id == message_id, OutboxAttempt.outcome == "failed")
        )
        or 0
    )


def record_delivery(
    session: Session,
    *,
    claimed: Claimed,
    delivery: Delivery,
    now: dt.datetime,
    worker: str,
    settings: Settings,
) -> str:
    """Mark ``claimed`` after one try and record the attempt; the outcome recorded.

    ``sent``; ``failed`` (queued again after :func:`retry_delay`), ``unreachable`` (queued
    again, never given up), ``gave_up`` (the last refusal allowed), ``bounced`` (refused for
    good), ``opted_out`` (the gateway says the recipient texted STOP: a patient's opt-out is
    recorded and the message cancelled). A message another worker has marked meanwhile
    (its lease had run out) keeps that mark; the attempt is recorded all the same.
    """
    message = claimed.outgoing
    attempts = claimed.attempts + 1
    outcome: str = delivery.outcome
    values: dict[str, object] = {
        "attempts": attempts,
        "lease_until": None,
        "leased_by": None,
    }
    if delivery.outcome == "sent":
        values |= {
            "status": "sent",
            "sent_at": now,
            "provider_id": delivery.provider_id,
            "last_error": None,
        }
    elif delivery.outcome == "bounced":
        values |= {"status": "failed", "last_error": delivery.detail}
    elif delivery.outcome == "opted_out":
        values |= {"status": "cancelled", "last_error": delivery.detail}
        if claimed.kind in PATIENT_KINDS and claimed.patient_id is not None:
            record_opt_out(
                session,
                clinic_id=message.clinic_id,
                patient_id=claimed.patient_id,
                channel=message.channel,
                via="STOP",
            )
        else:
            # Staff whose number answered STOP: the text cannot go; a failure, not a choice
            # of the patient's.
            values["status"] = "failed"
    elif delivery.outcome == "unreachable":
        values |= {"next_attempt_at": now + retry_delay(attempts, settings)}
        values["last_error"] = delivery.detail
    else:  # failed: refused for now
        if _refusals_so_far(session, message.message_id) + 1 >= settings.messages_max_attempts:
            outcome = "gave_up"
            values |= {"status": "failed", "last_error": delivery.detail}
        else:
            values |= {
                "next_attempt_at": now + retry_delay(attempts, settings),
                "last_error": delivery.detail,
            }
    session.execute(
        update(_MESSAGES)
        .where(_MESSAGES.c.id == message.message_id, _MESSAGES.c.status == "queued")
        .values(**values)
    )
    _attempt(
        session,
        clinic_id=message.clinic_id,
        message_id=message.message_id,
        outcome=outcome,
        detail=delivery.detail,
        now=now,
        worker=worker,
    )
    return outcome


def release_leases(session: Session, *, worker: str) -> int:
    """Give back the leases ``worker`` holds on messages it did not send (it is stopping), so
    that the next pass need not wait for them to run out; how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.leased_by == worker, OutboxMessage.status == "queued")
        .values(lease_until=None, leased_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
