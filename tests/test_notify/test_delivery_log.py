"""The delivery log, its counts and health, unreachable patients, the messages sent, and
completeness before and after reminders (issue 14)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.checkin import submit_checkin
from data.errors import AccessDenied, InvalidInput
from data.infusions import InfusionInput, record_infusion
from data.models import AuditEvent, Patient, utcnow
from data.notify.delivery_log import (
    delivery_counts,
    delivery_log,
    hide_links,
    mask_recipient,
    sent_messages,
    unreachable_patients,
)
from data.notify.health import delivery_health
from data.notify.models import OutboxAttempt, OutboxMessage
from data.notify.opt_outs import record_opt_out
from data.notify.queue import NewMessage, queue_message
from data.notify.reminder_effect import reminder_completeness
from data.notify.settings_admin import set_message_settings
from tests.conftest import World

TOKEN = "Zq9xK2mVb7Wc4Rt8Yp1LsD6"


def _message(
    session: Session,
    clinic_id: int,
    key: str,
    *,
    kind: str = "checkin_reminder",
    channel: str = "email",
    recipient: str = "pat@example.org",
    status: str = "queued",
    outcome: str | None = None,
    error: str | None = None,
    due: dt.datetime | None = None,
    created: dt.datetime | None = None,
) -> int:
    message_id = queue_message(
        session,
        NewMessage(
            clinic_id=clinic_id,
            kind=kind,
            channel=channel,  # type: ignore[arg-type]
            recipient=recipient,
            subject="Your check-in is due" if channel == "email" else None,
            body=f"Check in: https://outcomes.example.org/l/{TOKEN}",
            dedupe_key=key,
            not_before=due,
        ),
    )
    assert message_id is not None
    # What the worker writes when it tries (its own status updates).
    message = session.get(OutboxMessage, message_id)
    assert message is not None
    message.status = status
    message.last_error = error
    if created is not None:
        message.created_at = created
    if status == "sent":
        message.sent_at = utcnow()
        message.attempts = 1
    if outcome is not None:
        message.attempts += 1
        session.add(
            OutboxAttempt(
                clinic_id=clinic_id,
                message_id=message_id,
                at=utcnow() - dt.timedelta(minutes=5),
                outcome=outcome,
                detail=error,
            )
        )
    session.flush()
    return message_id


def test_recipients_are_masked_and_links_hidden() -> None:
    assert mask_recipient("patient@example.org") == "p***@example.org"
    assert mask_recipient("+15551230143") == "+1••••••0143"
    assert mask_recipient("+442079460123").startswith("+44")
    hidden = hide_links(
        f"Open https://outcomes.example.org/l/{TOKEN} or https://o.example.org/c?t={TOKEN}x"
    )
    assert TOKEN not in hidden
    assert hidden.startswith("Open https://outcomes.example.org/l/[one-time link hidden]")
    assert hide_links("See https://longclinicnameoutcomes.example.org/") == (
        "See https://longclinicnameoutcomes.example.org/"
    )


def test_the_log_counts_filters_and_pages(session: Session, world: World) -> None:
    a = world.clinic_a
    old = utcnow() - dt.timedelta(days=10)
    _message(session, a, "sent", status="sent")
    _message(session, a, "gave-up", status="failed", outcome="gave_up", error="550 no such user")
    _message(session, a, "bounced", status="failed", outcome="bounced", error="bounce")
    _message(session, a, "opted", status="cancelled", outcome="opted_out")
    _message(session, a, "sms", kind="safety_alert", channel="sms", recipient="+12125550143")
    _message(session, a, "old", status="sent", created=old)
    _message(session, world.clinic_b, "elsewhere", status="sent")
    patient = world.patient_a1.patient_id or 0
    record_opt_out(session, clinic_id=a, patient_id=patient, channel="sms", via="STOP")
    record_opt_out(session, clinic_id=a, patient_id=patient, channel="all", via="link")

    counts = delivery_counts(session, actor=world.admin_a)
    assert counts == {
        "sent": 2,
        "failed": 2,
        "bounced": 1,
        "opted_out": 1,
        "cancelled": 1,
        "queued": 1,
        "opted_out_patients": 1,
    }
    today = utcnow().date()
    recent = delivery_counts(session, actor=world.admin_a, between=(today, today))
    assert recent["sent"] == 1

    log = delivery_log(session, actor=world.admin_a, page_size=4)
    assert (log.total, log.pages, log.page) == (6, 2, 0)
    assert len(log.rows) == 4
    assert "old" not in set(log.rows["status"])
    assert set(log.rows["recipient"]) <= {"p***@example.org", "+1••••••0143"}
    assert not log.rows["recipient"].str.contains("pat@").any()
    last = delivery_log(session, actor=world.admin_a, page_size=4, page=5)
    assert last.page == 1 and len(last.rows) == 2
    failed = delivery_log(session, actor=world.admin_a, status="failed")
    assert set(failed.rows["last_error"]) == {"550 no such user", "bounce"}
    alerts = delivery_log(session, actor=world.admin_a, kind="safety_alert")
    assert list(alerts.rows["channel"]) == ["sms"]
    dated = delivery_log(
        session, actor=world.admin_a, between=(old.date(), old.date() + dt.timedelta(days=1))
    )
    assert dated.total == 1
    # Read once per visit in the audit trail.
    views = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "view_delivery_log")
    ).all()
    assert len(views) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "lost"},
        {"kind": "newsletter"},
        {"page_size": 0},
        {"page": -1},
        {"between": (dt.date(2026, 2, 2), dt.date(2026, 2, 1))},
    ],
)
def test_bad_filters_are_refused(session: Session, world: World, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        delivery_log(session, actor=world.admin_a, **bad)  # type: ignore[arg-type]


def test_health_says_when_sending_is_stuck(session: Session, world: World) -> None:
    a = world.clinic_a
    now = utcnow()
    assert not delivery_health(session, actor=world.admin_a, now=now).stuck
    # Waiting for the morning (quiet hours) is not stuck; due 5 minutes ago is not yet.
    _message(session, a, "morning", due=now + dt.timedelta(hours=8))
    _message(session, a, "just-due", due=now - dt.timedelta(minutes=5))
    assert not delivery_health(session, actor=world.admin_a, now=now).stuck
    _message(session, a, "overdue", due=now - dt.timedelta(minutes=20))
    health = delivery_health(session, actor=world.admin_a, now=now)
    assert health.stuck and health.failed_last_hour == 0
    assert health.oldest_waiting is not None
    assert health.oldest_waiting >= dt.timedelta(minutes=20)
    # A failed attempt within the hour is stuck too, with its error.
    _message(session, a, "retry", outcome="failed", error="connection refused", due=now)
    later = delivery_health(session, actor=world.admin_a, now=now + dt.timedelta(minutes=1))
    assert later.failed_last_hour == 1 and later.last_error == "connection refused"
    elsewhere = Actor.system(world.clinic_b)
    assert not delivery_health(session, actor=elsewhere, now=now + dt.timedelta(minutes=1)).stuck


def test_patients_without_email_and_phone_are_counted(session: Session, world: World) -> None:
    assert unreachable_patients(session, actor=world.admin_a) == 2
    first = session.get(Patient, world.patient_a1.patient_id)
    second = session.get(Patient, world.patient_a2.patient_id)
    assert first is not None and second is not None
    first.email = "a1@example.org"
    second.phone = "  "
    session.flush()
    assert unreachable_patients(session, actor=world.admin_a) == 1
    assert unreachable_patients(session, actor=world.clinician_a) == 1
    with pytest.raises(AccessDenied):
        unreachable_patients(session, actor=world.patient_a1)


def test_sent_messages_show_subject_and_body_without_links(session: Session, world: World) -> None:
    _message(session, world.clinic_a, "sent", status="sent")
    _message(session, world.clinic_a, "queued")
    sent = sent_messages(session, actor=world.admin_a)
    assert len(sent) == 1
    row = sent.iloc[0]
    assert row["subject"] == "Your check-in is due"
    assert row["recipient"] == "p***@example.org"
    assert TOKEN not in row["body"] and "[one-time link hidden]" in row["body"]
    with pytest.raises(AccessDenied):
        sent_messages(session, actor=world.clinician_a)


# --- completeness before and after reminders ---------------------------------------------------

MILD = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}


def test_completeness_before_and_after_the_switch(session: Session, world: World) -> None:
    today = utcnow().date() - dt.timedelta(days=1)
    switch = today - dt.timedelta(days=28)

    def moment(offset: int) -> dt.datetime:
        return dt.datetime.combine(switch + dt.timedelta(days=offset), dt.time(12), dt.UTC)

    off = reminder_completeness(session, actor=world.admin_a, weeks=4, today=today)
    assert off.since is None and off.weekly.empty
    # Two patients, first infusion five weeks before the switch.
    plan = {
        world.patient_a1.patient_id: (-25, -11, 2, 9, 16, 23),
        world.patient_a2.patient_id: (3, 17),
    }
    for patient_id, days in plan.items():
        assert patient_id is not None
        record_infusion(
            session,
            actor=world.clinician_a,
            patient_id=patient_id,
            infusion=InfusionInput(administered_at=moment(-35), route="iv", dose_mg_per_kg=0.5),
        )
        for day in days:
            submit_checkin(
                session,
                actor=world.clinician_a,
                patient_id=patient_id,
                instrument="phq9",
                answers=MILD,
                administered_at=moment(day),
                source="patient",
            )
    set_message_settings(session, actor=world.admin_a, reminders_on=True, now=moment(0))
    effect = reminder_completeness(session, actor=world.admin_a, weeks=4, today=today)
    assert effect.since == moment(0) and effect.instrument == "phq9"
    assert list(effect.weekly["period"]) == ["before"] * 4 + ["after"] * 4
    assert list(effect.weekly["expected"]) == [2] * 8
    assert list(effect.weekly["received"]) == [1, 0, 1, 0, 2, 1, 2, 1]
    assert effect.before == pytest.approx(2 / 8)
    assert effect.after == pytest.approx(6 / 8)
    # Two weeks after the switch, only the weeks that have ended count.
    early = reminder_completeness(
        session, actor=world.clinician_a, weeks=4, today=switch + dt.timedelta(days=15)
    )
    assert list(early.weekly["period"]).count("after") == 2
    assert early.after == pytest.approx(3 / 4)
    with pytest.raises(InvalidInput):
        reminder_completeness(session, actor=world.admin_a, weeks=0)
