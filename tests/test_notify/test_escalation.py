"""Unacknowledged safety alerts escalate down the on-call list in opening hours (issue 14)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Assessment, ClinicSettings, User
from data.notify.escalation import NOBODY_ON_CALL, escalate_due
from data.notify.models import AlertEvent, OnCallContact, OutboxMessage
from data.notify.steps import STEPS
from data.records.alert_review import acknowledge_alert
from data.records.alerts import NewAlert, write_alerts
from tests.conftest import World

NY = zoneinfo.ZoneInfo("America/New_York")
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=NY)
FRIDAY_1750 = dt.datetime(2026, 11, 27, 17, 50, tzinfo=NY)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.fixture
def clinic(session: Session, world: World) -> list[int]:
    """Clinic A in New York, open Monday to Friday 08:00-18:00, escalating after 30 minutes,
    with a reachable clinician and three on-call contacts; their ids in list order."""
    session.add(ClinicSettings(clinic_id=world.clinic_a, time_zone="America/New_York"))
    user = session.get(User, world.clinician_a.user_id)
    assert user is not None
    user.email = "clinician.a@clinic.example"
    contacts = [
        OnCallContact(
            clinic_id=world.clinic_a,
            position=position,
            name=name,
            email=f"{name.lower()}@clinic.example",
            phone="+1202555019" + str(position) if position == 2 else None,
        )
        for position, name in ((1, "First"), (2, "Second"), (3, "Third"))
    ]
    session.add_all(contacts)
    session.flush()
    return [c.id for c in contacts]


def raise_alert(session: Session, world: World, at: dt.datetime) -> int:
    """An open alert raised at ``at`` (through the one writer: told at once)."""
    patient = world.patient_a1.patient_id or 0
    assessment = Assessment(
        clinic_id=world.clinic_a,
        patient_id=patient,
        instrument="phq9",
        administered_at=at,
        source="patient",
        answers={},
        total=10,
        severity="moderate",
        flags=["phq9_item9_positive"],
        valid=True,
        scoring_version="test",
    )
    session.add(assessment)
    session.flush()
    (alert_id,) = write_alerts(
        session,
        [
            NewAlert(
                clinic_id=world.clinic_a,
                patient_id=patient,
                assessment_id=assessment.id,
                kind="phq9_item9_positive",
                created_at=at.astimezone(dt.UTC),
            )
        ],
        return_ids=True,
    )
    return alert_id


def recipients(session: Session, alert_id: int, kind: str) -> list[str]:
    return list(
        session.scalars(
            select(OutboxMessage.recipient)
            .where(OutboxMessage.alert_id == alert_id, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
    )


def history(session: Session, alert_id: int) -> list[tuple[str, str | None]]:
    return [
        (e.kind, e.detail)
        for e in session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
    ]


def test_escalation_is_a_worker_step() -> None:
    assert ("escalate unacknowledged safety alerts", escalate_due) in STEPS


def test_an_alert_escalates_down_the_list_then_stays_on_its_last_contact(
    session: Session, world: World, clinic: list[int]
) -> None:
    alert_id = raise_alert(session, world, MONDAY_9)
    assert recipients(session, alert_id, "safety_alert") == [
        "clinician.a@clinic.example",
        "first@clinic.example",
    ]
    assert escalate_due(session, MONDAY_9 + minutes(29)) == 0
    # 30 minutes: the second contact, by e-mail and text.
    assert escalate_due(session, MONDAY_9 + minutes(30)) == 2
    assert recipients(session, alert_id, "safety_escalation") == [
        "second@clinic.example",
        "+12025550192",
    ]
    # Run again (a second pass, a second worker): nothing more.
    assert escalate_due(session, MONDAY_9 + minutes(31)) == 0
    assert escalate_due(session, MONDAY_9 + minutes(31)) == 0
    # 30 minutes after the last escalation: the third; then the third again (the list's end).
    assert escalate_due(session, MONDAY_9 + minutes(59)) == 0
    assert escalate_due(session, MONDAY_9 + minutes(60)) == 1
    assert escalate_due(session, MONDAY_9 + minutes(90)) == 1
    assert recipients(session, alert_id, "safety_escalation")[2:] == [
        "third@clinic.example",
        "third@clinic.example",
    ]
    steps = history(session, alert_id)
    escalations = [detail for kind, detail in steps if kind == "escalated"]
    assert escalations == [
        "escalation 1 to Second (on call, position 2), unacknowledged after 30 min",
        "escalation 2 to Third (on call, position 3), unacknowledged after 60 min",
        "escalation 3 to Third (on call, position 3), unacknowledged after 90 min",
    ]
    assert steps[-1] == ("notified", "Third (on call, position 3) by e-mail")
    body = session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.kind == "safety_escalation")
    ).first()
    assert body is not None and "30 minutes" in body and "Clinic A" in body


def test_only_opening_hours_count(session: Session, world: World, clinic: list[int]) -> None:
    # Raised at 17:50 on a Friday: 10 minutes that day, 20 more on Monday morning.
    alert_id = raise_alert(session, world, FRIDAY_1750)
    assert escalate_due(session, FRIDAY_1750 + dt.timedelta(hours=5)) == 0
    monday = dt.datetime(2026, 11, 30, 8, 19, tzinfo=NY)
    assert escalate_due(session, monday) == 0
    assert escalate_due(session, monday + minutes(1)) == 2
    assert recipients(session, alert_id, "safety_escalation")[0] == "second@clinic.example"


def test_the_clinics_own_escalation_time(session: Session, world: World, clinic: list[int]) -> None:
    settings = session.get(ClinicSettings, world.clinic_a)
    assert settings is not None
    settings.escalation_minutes = 10
    session.flush()
    raise_alert(session, world, MONDAY_9)
    assert escalate_due(session, MONDAY_9 + minutes(9)) == 0
    assert escalate_due(session, MONDAY_9 + minutes(10)) == 2


def test_an_acknowledged_alert_stops_escalating_and_its_history_says_who(
    session: Session, world: World, clinic: list[int]
) -> None:
    alert_id = raise_alert(session, world, MONDAY_9)
    acknowledge_alert(session, actor=world.clinician_a, alert_id=alert_id, note="called patient")
    assert escalate_due(session, MONDAY_9 + dt.timedelta(hours=3)) == 0
    assert recipients(session, alert_id, "safety_escalation") == []
    event = session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "acknowledged")
    ).one()
    assert event.actor_id == world.clinician_a.user_id


def test_nobody_on_call_is_said_once(session: Session, world: World) -> None:
    session.add(ClinicSettings(clinic_id=world.clinic_a, time_zone="America/New_York"))
    session.flush()
    alert_id = raise_alert(session, world, MONDAY_9)
    assert escalate_due(session, MONDAY_9 + minutes(30)) == 0
    assert escalate_due(session, MONDAY_9 + minutes(60)) == 0
    assert escalate_due(session, MONDAY_9 + minutes(120)) == 0
    assert [s for s in history(session, alert_id) if s[0] == "escalated"] == [
        ("escalated", NOBODY_ON_CALL)
    ]


def test_one_on_call_contact_is_told_again_each_round(session: Session, world: World) -> None:
    session.add(ClinicSettings(clinic_id=world.clinic_a, time_zone="America/New_York"))
    session.add(
        OnCallContact(clinic_id=world.clinic_a, position=1, name="Only", email="only@x.example")
    )
    session.flush()
    alert_id = raise_alert(session, world, MONDAY_9)
    assert escalate_due(session, MONDAY_9 + minutes(30)) == 1
    assert escalate_due(session, MONDAY_9 + minutes(60)) == 1
    assert recipients(session, alert_id, "safety_escalation") == ["only@x.example"] * 2


def test_other_clinics_alerts_use_their_own_list(
    session: Session, world: World, clinic: list[int]
) -> None:
    session.add(
        OnCallContact(clinic_id=world.clinic_b, position=1, name="B1", email="b1@x.example")
    )
    session.flush()
    alert_id = raise_alert(session, world, MONDAY_9)
    escalate_due(session, MONDAY_9 + minutes(30))
    assert "b1@x.example" not in recipients(session, alert_id, "safety_escalation")
