"""A safety alert's history read by its care team, with each message's delivery status; the
clinic's hours and escalation settings; the crisis panel's words at a moment (issue 14)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.audit import Action
from data.checkin import submit_checkin
from data.clinic import (
    CARE_TEAM_TOLD,
    FORMER_DEFAULT_CRISIS_TEXTS,
    clinic_config,
    crisis_text_at,
)
from data.errors import AccessDenied
from data.models import AuditEvent, ClinicSettings, User
from data.notify.models import OutboxMessage
from data.records.alert_history import NewEvent, alert_history, record_events
from data.records.alert_review import acknowledge_alert
from tests.conftest import World

SELF_HARM = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 2}
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
SATURDAY_NOON = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


def _alert(session: Session, world: World) -> int:
    user = session.get(User, world.clinician_a.user_id)
    assert user is not None
    user.email, user.phone = "a@clinic.example", "+12025550143"
    session.flush()
    return submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="phq9",
        answers=SELF_HARM,
    ).alert_ids[0]


def test_the_history_shows_each_step_with_its_delivery_status(
    session: Session, world: World
) -> None:
    alert_id = _alert(session, world)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.alert_id == alert_id, OutboxMessage.channel == "sms")
        .values(status="failed", last_error="gateway refused")
    )
    acknowledge_alert(session, actor=world.clinician_a, alert_id=alert_id, note="called")
    steps = alert_history(session, actor=world.clinician_a, alert_id=alert_id)
    assert list(steps["kind"]) == ["raised", "notified", "notified", "acknowledged"]
    assert list(steps["channel"])[1:3] == ["email", "sms"]
    assert list(steps["status"])[1:3] == ["queued", "failed"]
    assert list(steps["actor"])[3] == "Clinician A"
    assert steps["at"].is_monotonic_increasing
    # Read once per visit, with the patient and the alert named (no clinical content).
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == Action.VIEW_ALERT_HISTORY.stored)
    ).all()
    assert [(e.patient_id, e.subject) for e in events] == [
        (world.patient_a1.patient_id, f"alert {alert_id}")
    ]
    alert_history(session, actor=world.clinician_a, alert_id=alert_id)
    assert (
        len(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == Action.VIEW_ALERT_HISTORY.stored)
            ).all()
        )
        == 1
    )


def test_only_the_care_team_reads_the_history(session: Session, world: World) -> None:
    alert_id = _alert(session, world)
    for actor in (world.patient_a1, world.admin_a, world.clinician_b):
        with pytest.raises(AccessDenied):
            alert_history(session, actor=actor, alert_id=alert_id)
    assert len(alert_history(session, actor=world.system_a, alert_id=alert_id)) == 3


def test_the_history_writer_refuses_an_unknown_step(session: Session, world: World) -> None:
    alert_id = _alert(session, world)
    with pytest.raises(ValueError, match="unknown alert event"):
        record_events(session, [NewEvent(world.clinic_a, alert_id, "forgotten", MONDAY_NOON)])


def test_the_clinics_hours_and_escalation_settings_are_read_with_defaults(
    session: Session, world: World
) -> None:
    config = clinic_config(session, world.clinic_a)  # no settings row
    assert (config.clinic_opens, config.clinic_closes, config.clinic_days) == (
        "08:00",
        "18:00",
        (0, 1, 2, 3, 4),
    )
    assert (config.quiet_hours_start, config.quiet_hours_end) == ("21:00", "08:00")
    assert (config.escalation_minutes, config.max_reminders, config.reminders_on_since) == (
        30,
        3,
        None,
    )
    since = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    session.add(
        ClinicSettings(
            clinic_id=world.clinic_a,
            clinic_opens="09:30",
            clinic_closes="17:00",
            clinic_days="5,6",
            quiet_hours_start="22:00",
            quiet_hours_end="07:00",
            escalation_minutes=15,
            max_reminders=2,
            reminders_on_since=since,
        )
    )
    session.flush()
    config = clinic_config(session, world.clinic_a)
    assert (config.clinic_opens, config.clinic_closes, config.clinic_days) == (
        "09:30",
        "17:00",
        (5, 6),
    )
    assert (config.quiet_hours_start, config.quiet_hours_end) == ("22:00", "07:00")
    assert (config.escalation_minutes, config.max_reminders) == (15, 2)
    assert config.reminders_on_since == since
    assert config.open_at(SATURDAY_NOON) and not config.open_at(MONDAY_NOON)


def test_hand_edited_hours_fall_back_to_the_defaults(session: Session, world: World) -> None:
    session.add(
        ClinicSettings(
            clinic_id=world.clinic_a,
            clinic_opens="18:00",
            clinic_closes="08:00",  # closes before it opens
            clinic_days="Mon-Fri",
            quiet_hours_start="late",
            escalation_minutes=0,
        )
    )
    session.flush()
    config = clinic_config(session, world.clinic_a)
    assert (config.clinic_opens, config.clinic_closes) == ("08:00", "18:00")
    assert config.clinic_days == (0, 1, 2, 3, 4)
    assert config.quiet_hours_start == "21:00" and config.escalation_minutes == 30


def test_the_crisis_words_in_and_out_of_clinic_hours(session: Session, world: World) -> None:
    config = clinic_config(session, world.clinic_a)
    told = crisis_text_at(config, now=MONDAY_NOON, care_team_told=True)
    assert CARE_TEAM_TOLD in told and "call or text 988" in told
    untold = crisis_text_at(config, now=MONDAY_NOON, care_team_told=False)
    assert untold == config.crisis_text and "sent your care team" not in untold
    closed = crisis_text_at(config, now=SATURDAY_NOON, care_team_told=True)
    assert (
        "Our clinic is closed now; your care team will see your answers when it opens at "
        "08:00 on Monday 30 November." in closed
    )
    assert "sent your care team" not in closed and "or call 911." in closed
    # In the clinic's own zone: 07:00 in New York on Monday is 12:00 UTC, opening "today".
    ny = dataclasses.replace(config, time_zone="America/New_York")
    assert "opens at 08:00 today" in crisis_text_at(ny, now=MONDAY_NOON, care_team_told=False)
    # The clinic's own words follow the closed notice; in hours they stand alone.
    own = dataclasses.replace(config, crisis_text="Call us: 5550100.", custom_crisis_text=True)
    assert crisis_text_at(own, now=MONDAY_NOON, care_team_told=True) == "Call us: 5550100."
    assert crisis_text_at(own, now=SATURDAY_NOON, care_team_told=False).endswith(
        "opens at 08:00 on Monday 30 November. Call us: 5550100."
    )


def test_a_former_default_is_still_read_as_no_text_of_the_clinics_own(
    session: Session, world: World
) -> None:
    session.add(
        ClinicSettings(clinic_id=world.clinic_a, crisis_text=FORMER_DEFAULT_CRISIS_TEXTS[0])
    )
    session.flush()
    config = clinic_config(session, world.clinic_a)
    assert not config.custom_crisis_text
    text = crisis_text_at(config, now=MONDAY_NOON, care_team_told=False)
    assert "has been told" not in text and "will contact you" not in text


def test_alert_events_are_written_by_one_writer() -> None:
    """Only data/records/alert_history.py stores steps of an alert's history."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "data"
    writers = [
        path.relative_to(data).as_posix()
        for path in data.rglob("*.py")
        if "migrations" not in path.parts
        and path.relative_to(data).as_posix()
        not in ("records/alert_history.py", "notify/models.py")
        and any(
            pattern in path.read_text(encoding="utf-8")
            for pattern in ("AlertEvent(", "insert(AlertEvent", "INSERT INTO alert_event")
        )
    ]
    assert writers == []


def test_a_page_of_histories_is_one_read_of_the_clinics_alerts_only(
    session: Session, world: World
) -> None:
    from data.records.alert_history import alert_histories

    mine = _alert(session, world)
    other = submit_checkin(
        session,
        actor=world.patient_b1,
        patient_id=world.patient_b1.patient_id or 0,
        instrument="phq9",
        answers=SELF_HARM,
    ).alert_ids[0]
    steps = alert_histories(session, actor=world.clinician_a, alert_ids=[mine, other])
    assert set(steps["alert_id"]) == {mine}
    assert list(steps["kind"]) == ["raised", "notified", "notified"]
    audited = session.scalars(
        select(AuditEvent.patient_id).where(AuditEvent.action == Action.VIEW_ALERT_HISTORY.stored)
    ).all()
    assert audited == [world.patient_a1.patient_id]
    assert alert_histories(session, actor=world.clinician_a, alert_ids=[]).empty
    for refused in (world.patient_a1, world.admin_a):
        with pytest.raises(AccessDenied):
            alert_histories(session, actor=refused, alert_ids=[mine])
