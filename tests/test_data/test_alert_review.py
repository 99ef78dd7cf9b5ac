"""Reviewing safety alerts: the answer level that raised each, most urgent first, paged, and
the history of who acknowledged it, when and what was done (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from data.access import Actor
from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.models import SafetyAlert, User
from data.records.alert_review import acknowledge_alert, open_alerts, patient_alerts
from tests.conftest import World

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
_WEEKS = itertools.count()


def _phq9(session: Session, patient: Actor, item9: int, *, hours_ago: float) -> int:
    """A patient's PHQ-9 with item 9 answered ``item9``; its alert raised ``hours_ago``."""
    answers = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": item9}
    stored = submit_checkin(
        session,
        actor=patient,
        patient_id=patient.patient_id,
        instrument="phq9",
        answers=answers,
        # A week apart: one check-in per window (spec section 3, issue 12).
        administered_at=NOW - dt.timedelta(days=7 * next(_WEEKS)),
    )
    (alert_id,) = stored.alert_ids
    alert = session.get(SafetyAlert, alert_id)
    assert alert is not None
    # The alert's age is what the order is about; set it as if raised that long ago.
    alert.created_at = NOW - dt.timedelta(hours=hours_ago)
    session.flush()
    return alert_id


def _madrs(session: Session, world: World, item10: int, *, hours_ago: float) -> int:
    patient_id = world.patient_a2.patient_id
    answers = {f"madrs_{i}": 2 for i in range(1, 11)} | {"madrs_10": item10}
    stored = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=patient_id,
        instrument="madrs",
        answers=answers,
    )
    (alert_id,) = stored.alert_ids
    alert = session.get(SafetyAlert, alert_id)
    assert alert is not None
    alert.created_at = NOW - dt.timedelta(hours=hours_ago)
    session.flush()
    return alert_id


def test_open_alerts_come_most_urgent_first_then_oldest(session: Session, world: World) -> None:
    mild_old = _phq9(session, world.patient_a1, 1, hours_ago=50)
    severe_new = _phq9(session, world.patient_a1, 3, hours_ago=1)
    severe_old = _phq9(session, world.patient_a2, 3, hours_ago=20)
    madrs_high = _madrs(session, world, 6, hours_ago=2)
    madrs_low = _madrs(session, world, 2, hours_ago=60)
    middle = _phq9(session, world.patient_a2, 2, hours_ago=5)
    alerts = open_alerts(session, actor=world.clinician_a)
    # 3/3 and 6/6 are the top answers: oldest of them first; then 2/3; then 1/3 and 2/6 (a
    # tie of shares, the older first).
    assert list(alerts["alert_id"]) == [
        severe_old,
        madrs_high,
        severe_new,
        middle,
        madrs_low,
        mild_old,
    ]
    first = alerts.iloc[0]
    assert (first["instrument"], first["item_number"], first["answer"]) == ("phq9", 9, 3)
    assert alerts.iloc[1]["item_number"] == 10
    assert alerts.iloc[1]["answer"] == 6
    assert set(alerts["open_total"]) == {6}


def test_open_alerts_name_the_patient_with_mrn_and_date_of_birth(
    session: Session, world: World
) -> None:
    _phq9(session, world.patient_a1, 2, hours_ago=1)
    row = open_alerts(session, actor=world.clinician_a).iloc[0]
    assert (row["name"], row["external_id"], row["date_of_birth"]) == (
        "Patient A1",
        "MRN-patient-a1",
        dt.date(1980, 5, 17),
    )


def test_open_alerts_are_paged_with_the_clinics_total(session: Session, world: World) -> None:
    ids = [_phq9(session, world.patient_a1, 1, hours_ago=100 - n) for n in range(25)]
    everything = open_alerts(session, actor=world.clinician_a)
    assert list(everything["alert_id"]) == ids  # one level: oldest first
    first = open_alerts(session, actor=world.clinician_a, limit=20)
    second = open_alerts(session, actor=world.clinician_a, limit=20, offset=20)
    assert list(first["alert_id"]) == ids[:20]
    assert list(second["alert_id"]) == ids[20:]
    assert set(first["open_total"]) == set(second["open_total"]) == {25}
    acknowledge_alert(session, actor=world.clinician_a, alert_id=ids[0], note="called")
    again = open_alerts(session, actor=world.clinician_a, limit=20)
    assert list(again["alert_id"]) == ids[1:21]
    assert set(again["open_total"]) == {24}
    # Another clinic's alerts are neither listed nor counted.
    assert open_alerts(session, actor=world.clinician_b, limit=20).empty


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (-1, 0), (20, -1)])
def test_a_page_that_cannot_exist_is_refused(
    session: Session, world: World, limit: int, offset: int
) -> None:
    with pytest.raises(InvalidInput):
        open_alerts(session, actor=world.clinician_a, limit=limit, offset=offset)


def test_the_patients_alerts_show_the_answer_level_and_who_acknowledged_with_the_note(
    session: Session, world: World
) -> None:
    earlier = _phq9(session, world.patient_a1, 3, hours_ago=30)
    later = _phq9(session, world.patient_a1, 1, hours_ago=2)
    acknowledge_alert(
        session, actor=world.clinician_a, alert_id=earlier, note="called; safety plan reviewed"
    )
    alerts = patient_alerts(
        session, actor=world.clinician_a, patient_id=world.patient_a1.patient_id
    )
    assert list(alerts["alert_id"]) == [later, earlier]
    closed = alerts.set_index("alert_id").loc[earlier]
    clinician = session.get(User, world.clinician_a.user_id)
    assert clinician is not None
    assert closed["acknowledged_by"] == clinician.display_name
    assert closed["note"] == "called; safety plan reviewed"
    assert pd.Timestamp(closed["acknowledged_at"]) >= NOW - dt.timedelta(minutes=5)
    assert (closed["instrument"], closed["item_number"], closed["answer"]) == ("phq9", 9, 3)
    still_open = alerts.set_index("alert_id").loc[later]
    assert still_open["answer"] == 1
    assert pd.isna(still_open["acknowledged_at"]) and pd.isna(still_open["acknowledged_by"])
