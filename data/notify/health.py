"""Whether messages are leaving: what the administration page says when they are not.

An unreachable mail server or SMS gateway loses nothing (the messages stay queued and are
tried again), but someone must know: :func:`delivery_health` gives the age of the oldest
message that should have gone already, the failed tries of the last hour and the last
error's words. No patient data: counts, times, and server answers with the recipient's
address left out (:func:`data.notify.channels.base.without_recipient`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Actor, ensure_role
from data.models import utcnow
from data.notify.models import OutboxAttempt, OutboxMessage

__all__ = ["STUCK_AFTER", "DeliveryHealth", "delivery_health"]

STUCK_AFTER: Final = dt.timedelta(minutes=15)
"""A message due this long ago and still not sent means delivery is stuck."""

_FAILED_OUTCOMES: Final = ("failed", "unreachable", "gave_up", "bounced")


@dataclass(frozen=True)
class DeliveryHealth:
    """How the clinic's messages are leaving, at ``at``.

    Attributes
    ----------
    queued : int
        Messages waiting (for their time, or for a retry).
    oldest_waiting : datetime.timedelta or None
        How long the longest-overdue queued message has been due (its first time, or its
        next retry); None when none is due. A reminder waiting for the morning is not.
    failed_last_hour : int
        Tries that did not deliver (refused, unreachable, bounced, given up) in the last hour.
    last_error : str or None
        The words of the most recent failed try, and ``last_error_at`` its time.
    """

    at: dt.datetime
    queued: int
    oldest_waiting: dt.timedelta | None
    failed_last_hour: int
    last_error: str | None
    last_error_at: dt.datetime | None

    @property
    def stuck(self) -> bool:
        """Messages are not leaving: one waits longer than :data:`STUCK_AFTER`, or tries
        failed in the last hour."""
        waiting_long = self.oldest_waiting is not None and self.oldest_waiting > STUCK_AFTER
        return waiting_long or self.failed_last_hour > 0


def delivery_health(
    session: Session, *, actor: Actor, now: dt.datetime | None = None
) -> DeliveryHealth:
    """How the messages of the actor's clinic are leaving (administrators and the system).

    Parameters
    ----------
    session : Session
        Any transaction; nothing is written.
    actor : Actor
        An administrator (or the system actor) of the clinic.
    now : datetime, optional
        The moment to judge at; default: now.
    """
    ensure_role(session, actor, "administrator", "system")
    now = now or utcnow()
    clinic = actor.clinic_id
    queued = OutboxMessage.status == "queued"
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.clinic_id == clinic, queued)
    )
    # Waiting since it fell due (a retry's next try, a reminder's end of quiet hours), so a
    # reminder held for the morning is not "stuck" and a message due 20 minutes ago is.
    oldest = session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.clinic_id == clinic, queued, OutboxMessage.next_attempt_at <= now
        )
    )
    failed = session.scalar(
        select(func.count())
        .select_from(OutboxAttempt)
        .where(
            OutboxAttempt.clinic_id == clinic,
            OutboxAttempt.outcome.in_(_FAILED_OUTCOMES),
            OutboxAttempt.at > now - dt.timedelta(hours=1),
        )
    )
    last = session.execute(
        select(OutboxAttempt.detail, OutboxAttempt.at)
        .where(OutboxAttempt.clinic_id == clinic, OutboxAttempt.outcome.in_(_FAILED_OUTCOMES))
        .order_by(OutboxAttempt.at.desc(), OutboxAttempt.id.desc())
        .limit(1)
    ).first()
    return DeliveryHealth(
        at=now,
        queued=int(count or 0),
        oldest_waiting=None if oldest is None else max(now - oldest, dt.timedelta(0)),
        failed_last_hour=int(failed or 0),
        last_error=None if last is None else last.detail,
        last_error_at=None if last is None else last.at,
    )
