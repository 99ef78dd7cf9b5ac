"""Exports carry the latest of each correction chain (course-and-reporting §3): a file read
back in counts what the app counts, not a patient's corrected answers twice."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.interchange.csv_export import export_assessments_csv
from data.interchange.fhir_export import export_fhir_bundle
from tests.conftest import World

ZEROS = {f"phq9_{i}": 0 for i in range(1, 10)}
FIRST = ZEROS | {"phq9_1": 3, "phq9_2": 3}
CORRECTED = ZEROS | {"phq9_1": 1}


def _corrected_check_in(session: Session, world: World) -> int:
    me = world.patient_a1
    first = submit_checkin(
        session, actor=me, patient_id=me.patient_id or 0, instrument="phq9", answers=FIRST
    )
    submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument="phq9",
        answers=CORRECTED,
        corrects=first.assessment_id,
    )
    return me.patient_id or 0


def test_the_csv_export_holds_the_corrected_answers_only(session: Session, world: World) -> None:
    patient_id = _corrected_check_in(session, world)
    out = io.StringIO()
    export_assessments_csv(session, actor=world.clinician_a, out=out, patient_id=patient_id)
    rows = [r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["instrument"] == "phq9"]
    assert [r["phq9_1"] for r in rows] == ["1"]


def test_the_fhir_export_holds_the_corrected_answers_only(session: Session, world: World) -> None:
    patient_id = _corrected_check_in(session, world)
    bundle = export_fhir_bundle(session, actor=world.clinician_a, patient_id=patient_id)
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    assert len(responses) == 1
