"""One check-in per window and corrections that keep both (issue 12, spec §3).

"Resubmission hides a crisis": after a self-harm answer of 3 a patient could send an all-zero
form at once, and the clinician saw "Latest 0" while the alert was open. The writer now
refuses a second check-in of an instrument in one window, and a correction is a new record
linked to the one it corrects, which is kept; the earlier answers' alert stays open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data.audit import Action, stored_action
from data.checkin import CheckinResult, submit_checkin
from data.errors import AccessDenied, InvalidInput
from data.infusions import record_infusion
from data.models import Assessment, AuditEvent, SafetyAlert, utcnow
from data.records.alert_review import open_alerts, patient_alerts
from data.records.patient_record import patient_assessments, patient_infusions
from outcomes.course import course_outcomes
from outcomes.worklist import worklist
from tests.conftest import World
from tests.test_data.test_infusions import GOOD

ZEROS = {f"phq9_{i}": 0 for i in range(1, 10)}
CRISIS = ZEROS | {"phq9_1": 2, "phq9_2": 3, "phq9_9": 3}
MILD = ZEROS | {"phq9_1": 2, "phq9_2": 2, "phq9_3": 1}


def _count(session: Session, model: type, **where: object) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(session.scalar(query) or 0)


def _checkin(
    session: Session,
    world: World,
    answers: dict[str, int],
    *,
    key: str | None = None,
    corrects: int | None = None,
    days_ago: int = 0,
) -> CheckinResult:
    me = world.patient_a1
    return submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument="phq9",
        answers=answers,
        idempotency_key=key,
        corrects=corrects,
        administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
    )


def _stored(session: Session) -> tuple[int, int, int]:
    return (_count(session, Assessment), _count(session, SafetyAlert), _count(session, AuditEvent))


def test_a_second_check_in_in_the_same_window_is_refused_and_changes_nothing(
    session: Session, world: World
) -> None:
    _checkin(session, world, MILD, key="form-1")
    before = _stored(session)
    with pytest.raises(InvalidInput, match="already done the PHQ-9 check-in") as refused:
        _checkin(session, world, MILD, key="form-2")
    assert "Correct my answers" in refused.value.problems[0]
    assert _stored(session) == before


def test_a_crisis_answer_is_never_turned_away_by_the_window_rule(
    session: Session, world: World
) -> None:
    """A second form in the window (another tab, a correction after its 24 hours) that
    answers self-harm is stored as a check-in of its own and alerts the care team: the rule
    stops a later form hiding a crisis, never one being reported."""
    _checkin(session, world, MILD, key="form-1")
    alerts_before = _count(session, SafetyAlert)
    stored = _checkin(session, world, CRISIS, key="form-2")
    assert stored.alert_ids
    assert _count(session, SafetyAlert) == alerts_before + len(stored.alert_ids)
    assert _count(session, Assessment, patient_id=world.patient_a1.patient_id) == 2


def test_the_same_form_sent_again_returns_the_stored_one(session: Session, world: World) -> None:
    first = _checkin(session, world, MILD, key="form-1")
    again = _checkin(session, world, MILD, key="form-1")
    assert (again.assessment_id, again.duplicate) == (first.assessment_id, True)
    assert _count(session, Assessment, patient_id=world.patient_a1.patient_id) == 1


def test_the_next_window_takes_a_new_check_in(session: Session, world: World) -> None:
    # The schedule hangs on infusions (spec §4): one 8 days ago puts today in the weekly
    # window after it (days -2..1) and 7 days ago in the stretch before that window.
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        infusion=replace(GOOD, administered_at=utcnow() - dt.timedelta(days=8)),
    )
    _checkin(session, world, MILD, days_ago=7)
    later = _checkin(session, world, ZEROS)
    assert later.duplicate is False
    assert _count(session, Assessment, patient_id=world.patient_a1.patient_id) == 2


def test_the_care_team_may_still_enter_a_record_in_the_window(
    session: Session, world: World
) -> None:
    """The rule is the patient's self-service check-in; a clinician entering the paper form
    the patient filled in at the clinic is a deliberate, audited record."""
    _checkin(session, world, MILD)
    entered = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="phq9",
        answers=ZEROS,
    )
    assert entered.duplicate is False


def test_a_correction_keeps_both_and_only_the_latest_counts(session: Session, world: World) -> None:
    first = _checkin(session, world, MILD, key="form-1")
    corrected = _checkin(session, world, ZEROS, key="fix-1", corrects=first.assessment_id)
    old = session.get(Assessment, first.assessment_id)
    new = session.get(Assessment, corrected.assessment_id)
    assert old is not None and new is not None
    session.refresh(old)
    assert old.superseded_at is not None and old.answers == MILD
    assert (new.corrects_id, new.superseded_at, new.total) == (old.id, None, 0)

    me = world.patient_a1
    counted = patient_assessments(session, actor=me, patient_id=me.patient_id or 0)
    assert list(counted["assessment_id"]) == [new.id]
    both = patient_assessments(
        session, actor=world.clinician_a, patient_id=me.patient_id or 0, include_superseded=True
    )
    assert list(both["assessment_id"]) == [old.id, new.id]
    assert both["superseded_at"].notna().tolist() == [True, False]
    assert both["corrects_id"].tolist()[1] == old.id

    # The same correction form sent again: the stored correction, nothing more.
    again = _checkin(session, world, ZEROS, key="fix-1", corrects=first.assessment_id)
    assert (again.assessment_id, again.duplicate) == (new.id, True)
    # A correction takes no window of its own, and gives no second check-in either.
    with pytest.raises(InvalidInput, match="already done"):
        _checkin(session, world, ZEROS, key="form-2")
    # Only the latest of a chain can be corrected.
    with pytest.raises(InvalidInput, match="only the latest"):
        _checkin(session, world, MILD, key="fix-2", corrects=first.assessment_id)
    chained = _checkin(session, world, MILD, key="fix-3", corrects=new.id)
    assert chained.duplicate is False


def test_a_correction_audits_the_check_in(session: Session, world: World) -> None:
    first = _checkin(session, world, MILD)
    corrected = stored_action(Action.CORRECT, instrument="phq9")
    before = _count(session, AuditEvent, action=corrected)
    _checkin(session, world, ZEROS, corrects=first.assessment_id)
    assert _count(session, AuditEvent, action=corrected) == before + 1
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == corrected).order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.subject == f"assessment {first.assessment_id}"


def test_a_correction_after_correction_hours_is_refused(session: Session, world: World) -> None:
    first = _checkin(session, world, MILD)
    session.execute(
        update(Assessment)
        .where(Assessment.id == first.assessment_id)
        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
    )
    session.expire_all()
    before = _stored(session)
    with pytest.raises(InvalidInput, match="24 hours"):
        _checkin(session, world, ZEROS, corrects=first.assessment_id)
    assert _stored(session) == before


def test_only_the_patient_corrects_and_only_their_own(session: Session, world: World) -> None:
    first = _checkin(session, world, MILD)
    with pytest.raises(AccessDenied):
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            instrument="phq9",
            answers=ZEROS,
            corrects=first.assessment_id,
        )
    other = world.patient_a2
    with pytest.raises(InvalidInput, match="cannot be corrected here"):
        submit_checkin(
            session,
            actor=other,
            patient_id=other.patient_id or 0,
            instrument="phq9",
            answers=ZEROS,
            corrects=first.assessment_id,
        )
    row = session.get(Assessment, first.assessment_id)
    assert row is not None and row.superseded_at is None


def test_self_harm_then_an_all_zero_correction_keeps_the_alert_open_and_first(
    session: Session, world: World
) -> None:
    """The issue's exact case: item 9 = 3, then a correction answering 0 everywhere."""
    me = world.patient_a1
    patient_id = me.patient_id or 0
    crisis = _checkin(session, world, CRISIS, key="form-1")
    (alert_id,) = crisis.alert_ids
    correction = _checkin(session, world, ZEROS, key="fix-1", corrects=crisis.assessment_id)
    assert correction.alert_ids == ()

    alert = session.get(SafetyAlert, alert_id)
    assert alert is not None and alert.acknowledged_at is None and alert.resolved_at is None
    clinician = world.clinician_a
    still_open = open_alerts(session, actor=clinician)
    assert alert_id in set(still_open["alert_id"])
    # The clinician still reads the answer that raised it: self-harm 3.
    mine = patient_alerts(session, actor=clinician, patient_id=patient_id)
    assert mine.loc[mine["alert_id"] == alert_id, "answer"].tolist() == [3]
    history = patient_assessments(
        session, actor=clinician, patient_id=patient_id, include_superseded=True
    )
    superseded = history[history["superseded_at"].notna()]
    assert [answers["phq9_9"] for answers in superseded["answers"]] == [3]

    # The worklist: the alert first, whatever the latest (corrected) score says.
    scores = patient_assessments(session, actor=clinician, patient_id=patient_id)
    assert scores["total"].tolist() == [0]
    infusions = patient_infusions(session, actor=clinician, patient_id=patient_id)
    today = dt.datetime.now(dt.UTC).date()
    courses = course_outcomes("phq9", scores.assign(patient_id=patient_id), infusions, today=today)
    items = worklist(
        courses,
        last_checkin=scores.groupby("patient_id")["administered_at"].max(),
        open_alerts=still_open,
        today=today,
        patient_ids=pd.Index([patient_id]),
    )
    first = items.iloc[0]
    assert (first["patient_id"], first["reason"]) == (patient_id, "safety_alert")


def test_a_correction_with_its_own_flag_raises_its_own_alert(
    session: Session, world: World
) -> None:
    first = _checkin(session, world, CRISIS)
    again = _checkin(session, world, CRISIS | {"phq9_9": 1}, corrects=first.assessment_id)
    assert len(again.alert_ids) == 1 and again.alert_ids != first.alert_ids
    assert _count(session, SafetyAlert, patient_id=world.patient_a1.patient_id) == 2


def test_a_rescore_keeps_the_correction_chain_and_its_alert(session: Session, world: World) -> None:
    """Rescoring recomputes derived values of every record, corrected ones too, and changes
    neither the chain nor the alert the corrected answers raised."""
    from data.rescore import rescore

    crisis = _checkin(session, world, CRISIS)
    fixed = _checkin(session, world, ZEROS, corrects=crisis.assessment_id)
    rescore(session, actor=world.system_a)
    old = session.get(Assessment, crisis.assessment_id)
    new = session.get(Assessment, fixed.assessment_id)
    assert old is not None and new is not None
    session.refresh(old)
    session.refresh(new)
    assert old.superseded_at is not None and new.corrects_id == old.id
    (alert_id,) = crisis.alert_ids
    alert = session.get(SafetyAlert, alert_id)
    assert alert is not None and alert.acknowledged_at is None
