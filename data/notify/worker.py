"""The worker: a pass queues what the clock has made due, then sends what is queued (issue 14).

A pass (:func:`run_pass`, ``outcomes send-due``) runs each step of
:data:`data.notify.steps.STEPS` in a transaction of its own (one step's error is logged and
the pass goes on: an escalation must not wait for a broken reminder step), then
:func:`send_due`: claim a batch (one short transaction), send each message through its
channel and record it (one transaction per message, see :mod:`data.notify.outbox` for why),
until nothing is due. :func:`run_forever` (``outcomes worker``) repeats passes, sleeping
``OUTCOMES_WORKER_INTERVAL_SECONDS`` between them, and stops between two messages on SIGTERM
or SIGINT, giving back the leases of what it had not sent yet.

Several workers may run at once (PostgreSQL or SQLite): leases keep them off each other's
messages. Neither a message body nor a password is ever logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import FrameType

from sqlalchemy import Engine

from data.engine import transaction
from data.models import utcnow
from data.notify import steps
from data.notify.channels import Sender, open_senders
from data.notify.channels.base import Delivery, Outgoing
from data.notify.outbox import claim_due, record_delivery, release_leases
from data.settings import Settings

__all__ = ["PassCounts", "run_forever", "run_pass", "run_steps", "send_due", "worker_name"]

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This worker's name in leases and the delivery log: host, process, and a nonce (a
    restarted process may get the same pid)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class PassCounts:
    """What one pass did, by outcome."""

    queued: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    step_errors: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        if outcome == "sent":
            self.sent += 1
        elif outcome in ("failed", "unreachable"):
            self.retried += 1
        elif outcome in ("gave_up", "bounced"):
            self.failed += 1
        else:  # opted_out, expired
            self.cancelled += 1

    def summary(self) -> str:
        return (
            f"queued {self.queued}, sent {self.sent}, to retry {self.retried}, "
            f"failed {self.failed}, cancelled {self.cancelled}"
        )


def run_steps(engine: Engine, *, now: dt.datetime, counts: PassCounts | None = None) -> int:
    """Run every step of :data:`data.notify.steps.STEPS`, each in its own transaction; how
    many messages they queued.

    A step that raises is rolled back and logged (its name in ``counts.step_errors``); the
    others run all the same."""
    counts = counts if counts is not None else PassCounts()
    queued = 0
    for name, step in steps.STEPS:
        try:
            with transaction(engine, write=True) as session:
                queued += step(session, now)
        except Exception:
            log.exception("the worker step %r failed; the pass goes on without it", name)
            counts.step_errors.append(name)
    counts.queued += queued
    return queued


def _send_one(sender: Sender | None, outgoing: Outgoing) -> Delivery:
    channel = outgoing.channel
    if sender is None:
        return Delivery("failed", detail=f"no sender for the channel {channel!r}")
    try:
        return sender.send(outgoing)
    except Exception as error:  # a channel's bug must not stop the pass, nor lose a message
        log.exception("the %s sender failed unexpectedly", channel)
        return Delivery("failed", detail=f"the {channel} sender failed ({type(error).__name__})")


def send_due(
    engine: Engine,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    worker: str | None = None,
    stop: threading.Event | None = None,
    senders: Mapping[str, Sender] | None = None,
    counts: PassCounts | None = None,
) -> PassCounts:
    """Send everything due until nothing is (or ``stop`` is set); the counts.

    ``now`` fixes the clock (tests); by default each batch reads the time anew. ``senders``
    replaces the configured channels (by channel); by default they are opened from
    ``settings`` for this pass and closed after it.
    """
    counts = counts if counts is not None else PassCounts()
    worker = worker or worker_name()
    own = senders is None
    channels: Mapping[str, Sender] = open_senders(settings) if senders is None else senders
    lease = dt.timedelta(seconds=settings.messages_lease_seconds)
    try:
        while stop is None or not stop.is_set():
            moment = now or utcnow()
            with transaction(engine, write=True) as session:
                claim = claim_due(
                    session,
                    now=moment,
                    worker=worker,
                    limit=settings.messages_batch_size,
                    lease=lease,
                )
            counts.cancelled += claim.expired + claim.opted_out
            if not claim.messages and not (claim.expired or claim.opted_out):
                break
            for claimed in claim.messages:
                if stop is not None and stop.is_set():
                    break
                outgoing = claimed.outgoing
                delivery = _send_one(channels.get(outgoing.channel), outgoing)
                # Marked at once, in its own transaction: a kill now loses this one mark at
                # most (the message is sent again, once), never the rest of the batch.
                with transaction(engine, write=True) as session:
                    outcome = record_delivery(
                        session,
                        claimed=claimed,
                        delivery=delivery,
                        now=now or utcnow(),
                        worker=worker,
                        settings=settings,
                    )
                counts.add(outcome)
    finally:
        if own:
            for sender in channels.values():
                sender.close()
        if stop is not None and stop.is_set():
            with transaction(engine, write=True) as session:
                release_leases(session, worker=worker)
    return counts


def run_pass(
    engine: Engine,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    worker: str | None = None,
    stop: threading.Event | None = None,
    senders: Mapping[str, Sender] | None = None,
) -> PassCounts:
    """One pass: the steps, then :func:`send_due`; the counts (``outcomes send-due``)."""
    counts = PassCounts()
    run_steps(engine, now=now or utcnow(), counts=counts)
    return send_due(
        engine,
        settings=settings,
        now=now,
        worker=worker,
        stop=stop,
        senders=senders,
        counts=counts,
    )


def run_forever(
    engine: Engine,
    *,
    settings: Settings,
    stop: threading.Event | None = None,
    parent_pid: int | None = None,
) -> None:
    """Pass after pass until ``stop`` is set, SIGTERM or SIGINT arrives, or (with
    ``parent_pid``) that process, which started this one, has ended (the embedded app's
    worker: its parent is then no longer that process).

    A pass that fails (the database is down, say) is logged and tried again after the
    interval: the worker outlives an outage.
    """
    stop = stop or threading.Event()
    worker = worker_name()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping (signal %d)", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    log.info("worker %s started (transport %s)", worker, settings.messages_transport)
    while not stop.is_set():
        try:
            counts = run_pass(engine, settings=settings, worker=worker, stop=stop)
            if counts.sent or counts.failed or counts.retried or counts.cancelled:
                log.info("pass: %s", counts.summary())
        except Exception:
            log.exception("a worker pass failed; trying again after the interval")
        waited = 0.0
        # Short naps: a stop (or the parent's end) is noticed within half a second.
        while waited < settings.worker_interval_seconds and not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                log.info("the app that started this worker has stopped; stopping")
                stop.set()
                break
            nap = min(0.5, settings.worker_interval_seconds - waited)
            stop.wait(nap)
            waited += nap
    log.info("worker %s stopped", worker)
