"""What a worker pass does before it sends: each step queues the messages that are now due.

One list, one line per step (``data.notify.worker`` runs them in order, each in its own
transaction, then sends what is queued): escalating unacknowledged safety alerts, queueing
due check-in reminders. A new kind of message that is due by the clock adds its step here.
Each step is ``step(session, now) -> int`` (how many messages it queued) and must be safe to
run twice, or in two workers at once: it queues through :func:`data.notify.queue.
queue_message`, whose dedupe key makes a second run queue nothing more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from data.notify.escalation import escalate_due
from data.notify.reminders import queue_due_reminders

__all__ = ["STEPS", "Step"]

Step = Callable[[Session, dt.datetime], int]

STEPS: list[tuple[str, Step]] = [
    ("escalate unacknowledged safety alerts", escalate_due),
    ("queue due check-in reminders", queue_due_reminders),
]
"""(name, step) in the order a pass runs them."""
