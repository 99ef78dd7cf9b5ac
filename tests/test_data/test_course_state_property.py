"""Course state kept on write equals a full recomputation, whatever the writes (issue 13).

Random sequences of writes go through the real data functions a page, an import or the
command line calls (check-ins with self-harm answers, a patient's correction, clinician
ratings complete or not, infusions recorded and marked entered in error, alerts
acknowledged, a small CSV import of each kind, a rule change and its rescore, a new
patient); after every few writes and at the end, :func:`data.course_state.drift` (a full
recomputation from the records, compared column by column) must find nothing. On SQLite and
PostgreSQL; each example runs in a savepoint that is rolled back, so one fixture world serves
them all.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.course_state import build_clinic, drift
from data.errors import InvalidInput
from data.infusions import InfusionInput, mark_infusion_entered_in_error, record_infusion
from data.interchange.csv_assessments import import_assessments_csv
from data.interchange.csv_infusions import import_infusions_csv
from data.models import Assessment, ClinicSettings, Infusion, SafetyAlert, utcnow
from data.records.alert_review import acknowledge_alert
from data.records.assessments import counted
from data.records.patients import create_patient
from data.rescore import rescore
from tests.conftest import World

PHQ9_HEADER = "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 11))
INFUSION_HEADER = "patient_id,administered_at,route,dose_mg_per_kg,duration_minutes"

Step = tuple[Any, ...]

patient = st.integers(0, 2)  # patient_a1, patient_a2, and one registered in the example
days_ago = st.integers(0, 70)
steps: st.SearchStrategy[Step] = st.one_of(
    st.tuples(
        st.just("checkin"),
        patient,
        st.sampled_from(["phq9", "gad7"]),
        days_ago,
        st.integers(0, 3),  # answer level
        st.integers(0, 3),  # PHQ-9 item 9 (self-harm)
        st.booleans(),  # the patient's own (else entered by the clinician)
    ),
    st.tuples(st.just("correct"), patient, st.integers(0, 3), st.integers(0, 3)),
    st.tuples(
        st.just("rating"),
        patient,
        days_ago,
        st.integers(0, 6),  # answer level
        st.integers(0, 6),  # MADRS item 10 (suicidal thoughts)
        st.booleans(),  # an item not rated (kept, invalid)
    ),
    st.tuples(st.just("infusion"), patient, days_ago),
    st.tuples(st.just("error"), patient, st.integers(0, 5)),
    st.tuples(st.just("ack"), st.integers(0, 5)),
    st.tuples(st.just("csv"), patient, st.integers(1, 70), st.integers(0, 3)),
    st.tuples(st.just("csv_infusion"), patient, st.integers(1, 70)),
    st.tuples(st.just("rules"), st.integers(4, 8), st.integers(0, 2)),
)


def _mrns(world: World) -> list[str]:
    return [f"MRN-{world.patient_a1.username}", f"MRN-{world.patient_a2.username}", "MRN-NEW-1"]


def _apply(session: Session, world: World, patients: list[int], step: Step) -> None:
    """One write, through the function the app calls for it; a refusal writes nothing."""
    kind, *args = step
    now = utcnow()
    clinician, system = world.clinician_a, world.system_a
    owners = [world.patient_a1, world.patient_a2, None]
    action: Callable[[], object]
    if kind == "checkin":
        index, instrument, days, level, item9, own = args
        count = 9 if instrument == "phq9" else 7
        answers: dict[str, object] = {f"{instrument}_{i}": level for i in range(1, count + 1)}
        if instrument == "phq9":
            answers["phq9_9"] = item9
        actor = owners[index] if own and owners[index] is not None else clinician

        def action() -> object:
            return submit_checkin(
                session,
                actor=actor,
                patient_id=patients[index],
                instrument=instrument,
                answers=answers,
                administered_at=now - dt.timedelta(days=days, minutes=index),
            )

    elif kind == "correct":
        index, level, item9 = args
        owner = owners[index]
        latest = session.scalar(
            select(Assessment.id)
            .where(
                Assessment.patient_id == patients[index],
                Assessment.instrument == "phq9",
                counted(),
            )
            .order_by(Assessment.administered_at.desc(), Assessment.id.desc())
            .limit(1)
        )
        if owner is None or latest is None:
            return
        fixed: dict[str, object] = {f"phq9_{i}": level for i in range(1, 10)}
        fixed["phq9_9"] = item9

        def action() -> object:
            return submit_checkin(
                session,
                actor=owner,
                patient_id=patients[index],
                instrument="phq9",
                answers=fixed,
                corrects=latest,
            )

    elif kind == "rating":
        index, days, level, item10, incomplete = args
        rated: dict[str, object] = {f"madrs_{i}": level for i in range(1, 10)}
        rated["madrs_10"] = item10
        if incomplete:
            del rated["madrs_3"]

        def action() -> object:
            return submit_checkin(
                session,
                actor=clinician,
                patient_id=patients[index],
                instrument="madrs",
                answers=rated,
                administered_at=now - dt.timedelta(days=days, hours=1),
                keep_incomplete=incomplete,
            )

    elif kind == "infusion":
        index, days = args

        def action() -> object:
            return record_infusion(
                session,
                actor=clinician,
                patient_id=patients[index],
                infusion=InfusionInput(
                    administered_at=now - dt.timedelta(days=days, hours=2),
                    route="iv",
                    dose_mg_per_kg=0.5,
                ),
                confirm_near_duplicate=True,
            )

    elif kind == "error":
        index, pick = args
        given = session.scalars(
            select(Infusion.id)
            .where(Infusion.patient_id == patients[index], Infusion.entered_in_error_at.is_(None))
            .order_by(Infusion.id)
        ).all()
        if not given:
            return
        chosen = given[pick % len(given)]

        def action() -> object:
            mark_infusion_entered_in_error(
                session,
                actor=clinician,
                patient_id=patients[index],
                infusion_id=chosen,
                reason="recorded for the wrong patient",
            )
            return None

    elif kind == "ack":
        (pick,) = args
        open_ids = session.scalars(
            select(SafetyAlert.id)
            .where(SafetyAlert.clinic_id == world.clinic_a, SafetyAlert.acknowledged_at.is_(None))
            .order_by(SafetyAlert.id)
        ).all()
        if not open_ids:
            return
        alert_id = open_ids[pick % len(open_ids)]

        def action() -> object:
            acknowledge_alert(session, actor=clinician, alert_id=alert_id, note="called them")
            return None

    elif kind == "csv":
        index, days, level = args
        day = (now - dt.timedelta(days=days)).date().isoformat()
        items = ",".join(str(level) for _ in range(8))
        source = io.StringIO(f"{PHQ9_HEADER}\n{_mrns(world)[index]},phq9,{day},{items},1,\n")

        def action() -> object:
            return import_assessments_csv(session, actor=system, source=source, now=now)

    elif kind == "csv_infusion":
        index, days = args
        moment = (now - dt.timedelta(days=days, hours=3)).isoformat()
        source = io.StringIO(f"{INFUSION_HEADER}\n{_mrns(world)[index]},{moment},iv,0.5,40\n")

        def action() -> object:
            return import_infusions_csv(session, actor=system, source=source, now=now)

    elif kind == "rules":
        induction, max_missing = args
        settings_row = session.get(ClinicSettings, world.clinic_a)
        overrides = {
            "course": {"induction_infusions": induction},
            "phq9": {"max_missing": max_missing},
        }
        if settings_row is None:
            session.add(ClinicSettings(clinic_id=world.clinic_a, rule_overrides=overrides))
        else:
            settings_row.rule_overrides = overrides
        session.flush()

        def action() -> object:
            # A rule change is followed by `outcomes rescore` (docs/records.md).
            return rescore(session, actor=system, now=now)

    else:  # pragma: no cover - every kind is drawn above
        raise AssertionError(kind)
    try:
        with session.begin_nested():
            action()
    except InvalidInput:
        pass  # refused (a second check-in in a window, a late correction, ...): nothing written


def _no_drift(session: Session, world: World) -> None:
    for clinic_id in (world.clinic_a, world.clinic_b):
        assert drift(session, clinic_id=clinic_id) == []


def test_course_state_kept_on_write_equals_a_full_recomputation(
    session: Session, world: World
) -> None:
    # The world's patients were added directly, as a database from before migration 0009.
    for clinic_id in (world.clinic_a, world.clinic_b):
        build_clinic(session, clinic_id=clinic_id)
    _no_drift(session, world)

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sequence=st.lists(steps, min_size=1, max_size=16))
    def run(sequence: list[Step]) -> None:
        example = session.begin_nested()
        try:
            new = create_patient(
                session, actor=world.clinician_a, external_id="MRN-NEW-1", name="New Patient"
            )
            patients = [world.patient_a1.patient_id or 0, world.patient_a2.patient_id or 0, new]
            _no_drift(session, world)
            for number, step in enumerate(sequence, start=1):
                _apply(session, world, patients, step)
                if number % 5 == 0:
                    _no_drift(session, world)
            _no_drift(session, world)
        finally:
            example.rollback()

    run()
