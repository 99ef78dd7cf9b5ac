"""The outbox's rules: leases, retries with backoff, giving up, expiry and opt-outs (issue 14).

Each test runs on SQLite and PostgreSQL in the rolled-back ``session``; the channel results
it records are those a channel gives (the channels themselves are tested against real
servers in test_channels.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import utcnow
from data.notify.channels.base import Delivery
from data.notify.models import MessageOptOut, OutboxAttempt, OutboxMessage
from data.notify.opt_outs import record_opt_out
from data.notify.outbox import claim_due, record_delivery, release_leases, retry_delay
from data.notify.queue import NewMessage, queue_message
from data.settings import Settings
from tests.conftest import World

LEASE = dt.timedelta(minutes=2)
SETTINGS = Settings(
    messages_max_attempts=3, messages_retry_base_seconds=60, messages_retry_cap_seconds=600
)


def queue(session: Session, world: World, key: str, **changes: object) -> int:
    values: dict[str, object] = {
        "clinic_id": world.clinic_a,
        "kind": "checkin_reminder",
        "channel": "email",
        "recipient": "pat@example.org",
        "body": "Your check-in with Clinic A is due: https://clinic.example/c/abc",
        "dedupe_key": key,
        "subject": "Your check-in is due",
        "patient_id": world.patient_a1.patient_id,
        # Due a minute ago: a test's "now", read before queueing, finds it due.
        "not_before": utcnow() - dt.timedelta(minutes=1),
    }
    values.update(changes)
    queued = queue_message(session, NewMessage(**values))  # type: ignore[arg-type]
    assert queued is not None
    return queued


def outcomes_of(session: Session, message_id: int) -> list[str]:
    return list(
        session.scalars(
            select(OutboxAttempt.outcome)
            .where(OutboxAttempt.message_id == message_id)
            .order_by(OutboxAttempt.id)
        )
    )


def test_a_due_message_is_leased_to_one_worker_until_the_lease_runs_out(
    session: Session, world: World
) -> None:
    now = utcnow()
    due = queue(session, world, "k:due")
    later = queue(session, world, "k:later", not_before=now + dt.timedelta(hours=1))
    first = claim_due(session, now=now, worker="w1", limit=10, lease=LEASE)
    assert [c.outgoing.message_id for c in first.messages] == [due]
    # Another worker finds nothing while the lease runs ...
    assert claim_due(session, now=now, worker="w2", limit=10, lease=LEASE).messages == []
    # ... and takes it once it has run out (the first worker was killed mid-send).
    again = claim_due(session, now=now + LEASE, worker="w2", limit=10, lease=LEASE)
    assert [c.outgoing.message_id for c in again.messages] == [due]
    row = session.get(OutboxMessage, due)
    assert row is not None and row.leased_by == "w2"
    # A worker that stops gives its leases back: the next pass need not wait.
    assert release_leases(session, worker="w2") == 1
    session.expire_all()
    taken = claim_due(session, now=now + LEASE, worker="w3", limit=10, lease=LEASE)
    assert [c.outgoing.message_id for c in taken.messages] == [due]
    assert later not in [c.outgoing.message_id for c in taken.messages]


def test_a_claim_takes_at_most_the_batch_oldest_first(session: Session, world: World) -> None:
    now = utcnow()
    ids = [
        queue(session, world, f"k:{n}", not_before=now - dt.timedelta(minutes=10 - n))
        for n in range(5)
    ]
    claim = claim_due(session, now=now, worker="w", limit=3, lease=LEASE)
    assert [c.outgoing.message_id for c in claim.messages] == ids[:3]


def test_a_sent_message_is_marked_with_its_attempt(session: Session, world: World) -> None:
    now = utcnow()
    message = queue(session, world, "k:sent")
    (claimed,) = claim_due(session, now=now, worker="w", limit=10, lease=LEASE).messages
    outcome = record_delivery(
        session,
        claimed=claimed,
        delivery=Delivery("sent", provider_id="<outbox.1.1@x>"),
        now=now,
        worker="w",
        settings=SETTINGS,
    )
    session.expire_all()
    row = session.get(OutboxMessage, message)
    assert outcome == "sent" and row is not None
    assert (row.status, row.attempts, row.provider_id, row.lease_until) == (
        "sent",
        1,
        "<outbox.1.1@x>",
        None,
    )
    assert row.sent_at == now
    assert outcomes_of(session, message) == ["sent"]
    assert claim_due(session, now=now + LEASE, worker="w", limit=10, lease=LEASE).messages == []


def test_refusals_are_retried_with_backoff_then_given_up(session: Session, world: World) -> None:
    now = utcnow()
    message = queue(session, world, "k:refused")
    waits = []
    for _ in range(SETTINGS.messages_max_attempts):
        (claimed,) = claim_due(session, now=now, worker="w", limit=10, lease=LEASE).messages
        record_delivery(
            session,
            claimed=claimed,
            delivery=Delivery("failed", detail="SMTP 451: try again later"),
            now=now,
            worker="w",
            settings=SETTINGS,
        )
        session.expire_all()
        row = session.get(OutboxMessage, message)
        assert row is not None
        if row.status == "queued":
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert waits == [dt.timedelta(minutes=1), dt.timedelta(minutes=2)]
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "SMTP 451: try again later")
    assert outcomes_of(session, message) == ["failed", "failed", "gave_up"]
    tomorrow = now + dt.timedelta(days=1)
    assert claim_due(session, now=tomorrow, worker="w", limit=9, lease=LEASE).messages == []


def test_the_backoff_doubles_up_to_its_cap() -> None:
    minutes = [retry_delay(n, SETTINGS).total_seconds() / 60 for n in range(1, 7)]
    assert minutes == [1, 2, 4, 8, 10, 10]


def test_an_unreachable_server_never_gives_a_message_up(session: Session, world: World) -> None:
    now = utcnow()
    message = queue(session, world, "k:down", kind="safety_alert", patient_id=None)
    for _ in range(SETTINGS.messages_max_attempts * 3):
        (claimed,) = claim_due(session, now=now, worker="w", limit=10, lease=LEASE).messages
        record_delivery(
            session,
            claimed=claimed,
            delivery=Delivery("unreachable", detail="cannot reach the SMTP server"),
            now=now,
            worker="w",
            settings=SETTINGS,
        )
        session.expire_all()
        row = session.get(OutboxMessage, message)
        assert row is not None and row.status == "queued"
        assert row.next_attempt_at - now <= dt.timedelta(minutes=10)
        now = row.next_attempt_at
    assert set(outcomes_of(session, message)) == {"unreachable"}


def test_a_permanent_refusal_bounces_without_retry(session: Session, world: World) -> None:
    now = utcnow()
    message = queue(session, world, "k:bounce")
    (claimed,) = claim_due(session, now=now, worker="w", limit=10, lease=LEASE).messages
    record_delivery(
        session,
        claimed=claimed,
        delivery=Delivery("bounced", detail="SMTP 550: <recipient> unknown"),
        now=now,
        worker="w",
        settings=SETTINGS,
    )
    session.expire_all()
    row = session.get(OutboxMessage, message)
    assert row is not None and (row.status, row.attempts) == ("failed", 1)
    assert outcomes_of(session, message) == ["bounced"]


def test_an_expired_message_is_cancelled_never_sent(session: Session, world: World) -> None:
    now = utcnow()
    # Waiting for the morning, but its window closes in the night: never sent.
    waiting = queue(
        session,
        world,
        "k:expired",
        not_before=now + dt.timedelta(hours=8),
        expires_at=now + dt.timedelta(hours=2),
    )
    fresh = queue(session, world, "k:fresh", expires_at=now + dt.timedelta(days=1))
    at_nine = now + dt.timedelta(hours=9)
    claim = claim_due(session, now=at_nine, worker="w", limit=10, lease=LEASE)
    assert claim.expired == 1
    assert [c.outgoing.message_id for c in claim.messages] == [fresh]
    session.expire_all()
    assert session.get(OutboxMessage, waiting).status == "cancelled"  # type: ignore[union-attr]
    assert outcomes_of(session, waiting) == ["expired"]


def test_an_opt_out_cancels_the_patients_reminders_never_a_safety_message(
    session: Session, world: World
) -> None:
    now = utcnow()
    patient = world.patient_a1.patient_id
    assert patient is not None
    record_opt_out(
        session, clinic_id=world.clinic_a, patient_id=patient, channel="email", via="link"
    )
    reminder = queue(session, world, "k:reminder")
    invitation = queue(session, world, "k:invite", kind="invitation")
    text = queue(session, world, "k:text", channel="sms", recipient="+12025550143", subject=None)
    safety = queue(
        session,
        world,
        "k:safety",
        kind="safety_alert",
        recipient="clinician@clinic.example",
        subject="A patient safety alert needs review",
    )
    claim = claim_due(session, now=now, worker="w", limit=10, lease=LEASE)
    assert claim.opted_out == 2
    assert sorted(c.outgoing.message_id for c in claim.messages) == sorted([text, safety])
    session.expire_all()
    for cancelled in (reminder, invitation):
        assert session.get(OutboxMessage, cancelled).status == "cancelled"  # type: ignore[union-attr]
        assert outcomes_of(session, cancelled) == ["opted_out"]


def test_a_stop_reported_by_the_gateway_records_the_opt_out(session: Session, world: World) -> None:
    now = utcnow()
    patient = world.patient_a1.patient_id
    text = queue(session, world, "k:t1", channel="sms", recipient="+12025550143", subject=None)
    (claimed,) = claim_due(session, now=now, worker="w", limit=10, lease=LEASE).messages
    outcome = record_delivery(
        session,
        claimed=claimed,
        delivery=Delivery("opted_out", detail="gateway HTTP 400, error 21610"),
        now=now,
        worker="w",
        settings=SETTINGS,
    )
    assert outcome == "opted_out"
    session.expire_all()
    assert session.get(OutboxMessage, text).status == "cancelled"  # type: ignore[union-attr]
    opt_out = session.scalars(
        select(MessageOptOut).where(MessageOptOut.patient_id == patient)
    ).one()
    assert (opt_out.channel, opt_out.via) == ("sms", "STOP")
    # The next text to that patient is cancelled before it is sent; an e-mail still goes.
    later = queue(session, world, "k:t2", channel="sms", recipient="+12025550143", subject=None)
    mail = queue(session, world, "k:mail")
    claim = claim_due(session, now=now, worker="w", limit=10, lease=LEASE)
    assert [c.outgoing.message_id for c in claim.messages] == [mail]
    assert outcomes_of(session, later) == ["opted_out"]
