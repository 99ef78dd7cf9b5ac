"""Each writer keeps the course state current in its own transaction (issue 13).

The property test (``test_course_state_property.py``) checks random sequences of writes; these
name one writer each and what it must leave behind: the demo seed a built clinic, a new
patient a ``patient_state`` row, an acknowledgement the open-alert count, and every write a
new data version (the stamp cached clinic-wide aggregates are keyed on).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.course_state import build_clinic, data_version, drift, stored_patient_states
from data.demo.seed import seed_demo
from data.infusions import InfusionInput, record_infusion
from data.interchange.fhir_read import import_fhir_bundle
from data.models import CourseState, SafetyAlert, utcnow
from data.records.alert_review import acknowledge_alert
from data.records.patients import create_patient
from outcomes.fhir import patient_bundle
from tests.conftest import World

TODAY = dt.date(2025, 6, 1)
SELF_HARM = {f"phq9_{i}": 1 for i in range(1, 9)} | {"phq9_9": 2}


def test_the_demo_seed_leaves_its_clinic_built(session: Session) -> None:
    summary = seed_demo(session, patients=20, today=TODAY)

    assert drift(session, clinic_id=summary.clinic_id) == []
    states = stored_patient_states(session, clinic_id=summary.clinic_id)
    assert len(states) == 20 and int(states["infusions"].sum()) == summary.infusions


def test_a_new_patient_has_a_state_row_and_no_course(session: Session, world: World) -> None:
    build_clinic(session, clinic_id=world.clinic_a)
    new = create_patient(session, actor=world.clinician_a, external_id="MRN-77", name="New One")

    state = stored_patient_states(session, clinic_id=world.clinic_a, patient_ids=[new])
    assert state.loc[new, "infusions"] == 0 and state.loc[new, "open_alerts"] == 0
    assert state.loc[new, "next_due"] is None
    assert not session.scalars(select(CourseState).where(CourseState.patient_id == new)).all()
    assert drift(session, clinic_id=world.clinic_a) == []


def test_a_self_harm_answer_and_its_acknowledgement_move_the_open_alerts(
    session: Session, world: World
) -> None:
    build_clinic(session, clinic_id=world.clinic_a)
    patient = world.patient_a1.patient_id or 0
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=patient,
        infusion=InfusionInput(
            administered_at=utcnow() - dt.timedelta(days=3), route="iv", dose_mg_per_kg=0.5
        ),
    )
    before = data_version(session, clinic_id=world.clinic_a)
    submit_checkin(
        session, actor=world.patient_a1, patient_id=patient, instrument="phq9", answers=SELF_HARM
    )
    raised = stored_patient_states(session, clinic_id=world.clinic_a, patient_ids=[patient])
    assert raised.loc[patient, "open_alerts"] == 1
    after_checkin = data_version(session, clinic_id=world.clinic_a)
    assert after_checkin > before
    alert_id = session.scalar(select(SafetyAlert.id).where(SafetyAlert.patient_id == patient))
    phq9_before = session.scalar(
        select(CourseState.updated_at).where(
            CourseState.patient_id == patient, CourseState.instrument == "phq9"
        )
    )

    acknowledge_alert(session, actor=world.clinician_a, alert_id=alert_id or 0, note="called")

    seen = stored_patient_states(session, clinic_id=world.clinic_a, patient_ids=[patient])
    assert seen.loc[patient, "open_alerts"] == 0
    assert seen.loc[patient, "oldest_open_alert_at"] is None
    assert data_version(session, clinic_id=world.clinic_a) > after_checkin
    # Only the patient's state was recomputed (instruments=()): the course row is as it was.
    assert (
        session.scalar(
            select(CourseState.updated_at).where(
                CourseState.patient_id == patient, CourseState.instrument == "phq9"
            )
        )
        == phq9_before
    )
    assert drift(session, clinic_id=world.clinic_a) == []


def test_a_fhir_import_refreshes_the_patients_it_touched(session: Session, world: World) -> None:
    build_clinic(session, clinic_id=world.clinic_a)
    when = utcnow() - dt.timedelta(days=2)
    bundle = patient_bundle(
        [("phq9", SELF_HARM, when), ("gad7", {f"gad7_{i}": 2 for i in range(1, 8)}, when)],
        subject=f"Patient/MRN-{world.patient_a2.username}",
    ).model_dump(mode="json", exclude_none=True)
    before = data_version(session, clinic_id=world.clinic_a)

    result = import_fhir_bundle(session, actor=world.system_a, source=bundle)

    assert (result.imported, result.alerts_created) == (2, 1)
    patient = world.patient_a2.patient_id or 0
    state = stored_patient_states(session, clinic_id=world.clinic_a, patient_ids=[patient])
    assert state.loc[patient, "open_alerts"] == 1
    assert set(
        session.scalars(select(CourseState.instrument).where(CourseState.patient_id == patient))
    ) == {"phq9", "gad7"}
    assert data_version(session, clinic_id=world.clinic_a) == before + 1  # once per import
    assert drift(session, clinic_id=world.clinic_a) == []
