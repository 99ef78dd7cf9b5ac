"""The worklist's read (issue 13): each patient's stored state, for the clinic's care team only.

On SQLite and PostgreSQL (the ``session`` fixture). Records are entered the way the app enters
them, then the clinic's course state is built (``data.course_state.build_clinic``) as
``upgrade()`` builds it and the writers keep it current.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.clinic import clinic_config
from data.course_state import build_clinic, stored_course_facts
from data.errors import AccessDenied
from data.models import AuditEvent, Patient
from data.records.cohort import cohort_assessments, cohort_infusions
from data.records.worklist_state import PATIENT_COLUMNS, worklist_state
from outcomes.course import FACT_COLUMNS, course_outcomes, courses_at
from tests.conftest import World
from tests.test_data.builders import NOW, _history


def _clinic_a(session: Session, world: World) -> None:
    """Clinic A's history, a GAD-7 after patient a2's PHQ-9, and its course state built."""
    _history(session, world)
    submit_checkin(
        session,
        actor=world.patient_a2,
        patient_id=world.patient_a2.patient_id or 0,
        instrument="gad7",
        answers={f"gad7_{i}": 1 for i in range(1, 8)},
        administered_at=NOW - dt.timedelta(days=2),
    )
    build_clinic(session, clinic_id=world.clinic_a)


def _patient_ids(session: Session, clinic_id: int) -> set[int]:
    return set(session.scalars(select(Patient.id).where(Patient.clinic_id == clinic_id)))


def test_every_patient_of_the_clinic_with_their_stored_state(
    session: Session, world: World
) -> None:
    _clinic_a(session, world)
    state = worklist_state(session, actor=world.clinician_a)
    assert set(state.patients.index) == _patient_ids(session, world.clinic_a)
    assert list(state.patients.columns) == list(PATIENT_COLUMNS)
    a1, a2 = world.patient_a1.patient_id, world.patient_a2.patient_id
    # The latest check-in of any instrument: a2's GAD-7 two days ago, after the PHQ-9.
    assert state.patients.loc[a2, "last_checkin_at"] == pd.Timestamp(NOW - dt.timedelta(days=2))
    assert state.courses.loc[a2, "latest_date"] == (NOW - dt.timedelta(days=6)).date()
    # a1's first check-in answered item 9: its alert is open.
    assert state.patients.loc[a1, "open_alerts"] == 1
    assert state.patients.loc[a2, "open_alerts"] == 0
    assert state.patients.loc[a1, "assigned_clinician_id"] == world.clinician_a.user_id


def test_my_patients_reads_only_the_clinicians_own(session: Session, world: World) -> None:
    """ "My patients" reads the clinician's own rows only: the same rows as the clinic's."""
    _clinic_a(session, world)
    unassigned = Patient(clinic_id=world.clinic_a, external_id="MRN-NOBODY", name="No One")
    session.add(unassigned)
    session.flush()
    build_clinic(session, clinic_id=world.clinic_a)
    whole = worklist_state(session, actor=world.clinician_a)
    mine = worklist_state(session, actor=world.clinician_a, assigned_to=world.clinician_a.user_id)
    assert unassigned.id in whole.patients.index
    assert set(mine.patients.index) == set(
        whole.patients.index[whole.patients["assigned_clinician_id"] == world.clinician_a.user_id]
    )
    assert unassigned.id not in mine.patients.index
    pd.testing.assert_frame_equal(mine.courses, whole.courses.loc[mine.courses.index])


def test_the_stored_courses_give_the_courses_of_the_clinic_history(
    session: Session, world: World
) -> None:
    """courses_at(stored facts) is what the page computed from the whole history before."""
    _clinic_a(session, world)
    state = worklist_state(session, actor=world.clinician_a)
    rules = clinic_config(session, world.clinic_a).rules
    today = (NOW + dt.timedelta(days=1)).date()
    from_history = course_outcomes(
        "phq9",
        cohort_assessments(session, actor=world.clinician_a, instrument="phq9"),
        cohort_infusions(session, actor=world.clinician_a),
        rules=rules,
        today=today,
    )
    assert list(state.courses.columns) == list(FACT_COLUMNS)
    # The same facts as the course state's own reader gives (which also decodes the JSON).
    pd.testing.assert_frame_equal(
        state.courses,
        stored_course_facts(session, clinic_id=world.clinic_a, instrument="phq9")[
            list(FACT_COLUMNS)
        ],
    )
    pd.testing.assert_frame_equal(
        courses_at(state.courses, today=today, rules=rules),
        from_history,
        check_index_type=False,
        check_names=False,
    )


def test_a_patient_registered_after_the_build_is_listed_with_nothing_recorded(
    session: Session, world: World
) -> None:
    _clinic_a(session, world)
    newcomer = Patient(clinic_id=world.clinic_a, external_id="NEW-1", name="New Comer")
    session.add(newcomer)
    session.flush()
    state = worklist_state(session, actor=world.clinician_a)
    assert newcomer.id in state.patients.index and newcomer.id not in state.courses.index
    row = state.patients.loc[newcomer.id]
    assert pd.isna(row["last_checkin_at"]) and row["open_alerts"] == 0


def test_a_clinician_of_another_clinic_gets_nothing_of_this_one(
    session: Session, world: World
) -> None:
    _clinic_a(session, world)
    build_clinic(session, clinic_id=world.clinic_b)
    state = worklist_state(session, actor=world.clinician_b)
    clinic_a = _patient_ids(session, world.clinic_a)
    assert set(state.patients.index) == _patient_ids(session, world.clinic_b)
    assert not clinic_a & set(state.patients.index)
    assert not clinic_a & set(state.courses.index)


@pytest.mark.parametrize("who", ["admin_a", "patient_a1"])
def test_an_administrator_or_a_patient_is_refused(session: Session, world: World, who: str) -> None:
    _clinic_a(session, world)
    with pytest.raises(AccessDenied):
        worklist_state(session, actor=getattr(world, who))


def test_the_read_is_audited_like_the_cohort_reads_it_replaces(
    session: Session, world: World
) -> None:
    _clinic_a(session, world)
    last = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
    worklist_state(session, actor=world.clinician_a)
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.id > last, AuditEvent.actor_id == world.clinician_a.user_id
        )
    ).all()
    assert sorted(actions) == ["view_cohort_infusions", "view_cohort_phq9"]
