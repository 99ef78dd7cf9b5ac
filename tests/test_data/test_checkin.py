"""Writing a check-in: one transaction, idempotent, invalid answers refused, alerts always."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.errors import AccessDenied, InvalidInput
from data.models import Assessment, AuditEvent, SafetyAlert
from data.records.patient_record import patient_assessments
from tests.conftest import World

PHQ9_MODERATE = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0, "phq9_1": 3}
PHQ9_SELF_HARM = {f"phq9_{i}": 2 for i in range(1, 10)} | {"phq9_9": 1}


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_check_in_stores_answers_score_and_audit_event(session: Session, world: World) -> None:
    me = world.patient_a1
    result = submit_checkin(
        session, actor=me, patient_id=me.patient_id, instrument="phq9", answers=PHQ9_MODERATE
    )
    assert (result.score.total, result.score.severity, result.duplicate) == (10, "moderate", False)
    stored = session.get(Assessment, result.assessment_id)
    assert stored is not None
    assert stored.answers == PHQ9_MODERATE
    assert (stored.total, stored.source, stored.valid) == (10, "patient", True)
    assert stored.scoring_version.startswith("outcomes-")
    assert result.alert_ids == ()
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "submit_phq9" in actions


def test_a_positive_self_harm_item_always_creates_an_alert(session: Session, world: World) -> None:
    me = world.patient_a1
    result = submit_checkin(
        session, actor=me, patient_id=me.patient_id, instrument="phq9", answers=PHQ9_SELF_HARM
    )
    assert "phq9_item9_positive" in result.score.flags
    assert len(result.alert_ids) == 1
    alert = session.get(SafetyAlert, result.alert_ids[0])
    assert alert is not None
    assert (alert.kind, alert.patient_id, alert.assessment_id) == (
        "phq9_item9_positive",
        me.patient_id,
        result.assessment_id,
    )
    assert alert.acknowledged_at is None


def test_the_same_form_submitted_twice_is_stored_once(session: Session, world: World) -> None:
    me = world.patient_a1
    first = submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id,
        instrument="phq9",
        answers=PHQ9_SELF_HARM,
        idempotency_key="form-1",
    )
    again = submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id,
        instrument="phq9",
        answers=PHQ9_SELF_HARM,
        idempotency_key="form-1",
    )
    assert again.duplicate
    assert again.assessment_id == first.assessment_id
    assert again.alert_ids == first.alert_ids
    assert again.score.total == first.score.total
    assert _count(session, Assessment) == 1
    assert _count(session, SafetyAlert) == 1


def test_invalid_answers_write_nothing_and_say_why(session: Session, world: World) -> None:
    me = world.patient_a1
    answers = {"phq9_1": 1, "phq9_2": 9, "phq9_9": 2}
    events_before = _count(session, AuditEvent)
    with pytest.raises(InvalidInput) as refused:
        submit_checkin(
            session, actor=me, patient_id=me.patient_id, instrument="phq9", answers=answers
        )
    assert any("phq9_2: 9 is outside the range 0 to 3" in p for p in refused.value.problems)
    assert "phq9_item9_positive" in refused.value.flags  # the page can still show crisis help
    assert _count(session, Assessment) == 0
    assert _count(session, SafetyAlert) == 0
    assert _count(session, AuditEvent) == events_before


def test_patients_write_only_their_own_and_not_clinician_rated_scales(
    session: Session, world: World
) -> None:
    with pytest.raises(AccessDenied):
        submit_checkin(
            session,
            actor=world.patient_a1,
            patient_id=world.patient_a2.patient_id,
            instrument="phq9",
            answers=PHQ9_MODERATE,
        )
    madrs = {f"madrs_{i}": 2 for i in range(1, 11)}
    with pytest.raises(AccessDenied):
        submit_checkin(
            session,
            actor=world.patient_a1,
            patient_id=world.patient_a1.patient_id,
            instrument="madrs",
            answers=madrs,
        )
    stored = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id,
        instrument="madrs",
        answers=madrs,
    )
    assert stored.score.total == 20
    assert session.get(Assessment, stored.assessment_id).source == "clinician"  # type: ignore[union-attr]
    with pytest.raises(AccessDenied):
        submit_checkin(
            session,
            actor=world.clinician_b,
            patient_id=world.patient_a1.patient_id,
            instrument="madrs",
            answers=madrs,
        )
    assert _count(session, Assessment) == 1


def test_stored_times_come_back_in_utc(session: Session, world: World) -> None:
    me = world.patient_a1
    local = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id,
        instrument="gad7",
        answers={f"gad7_{i}": 1 for i in range(1, 8)},
        administered_at=local,
    )
    frame = patient_assessments(session, actor=me, patient_id=me.patient_id)
    when = frame["administered_at"].iloc[0]
    assert when == local
    assert when.utcoffset() == dt.timedelta(0)
