"""CSV and FHIR import/export and rescoring, on SQLite and PostgreSQL (issue #3).

Each import test states the clinic-facing rule it checks: all or nothing, every bad row by its
spreadsheet number, re-imports that never double a record, safety alerts for imported
answers, audit events per patient, and exports that re-import unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from data.access import Actor
from data.checkin import submit_checkin
from data.clinic import SCORING_VERSION
from data.csv_io import (
    HISTORICAL_ALERT_NOTE,
    export_assessments_csv,
    export_infusions_csv,
    import_assessments_csv,
    import_infusions_csv,
)
from data.engine import make_engine, transaction
from data.errors import AccessDenied, InvalidInput
from data.fhir_io import export_fhir_bundle, import_fhir_bundle
from data.infusions import InfusionInput, record_infusion
from data.models import (
    Assessment,
    AuditEvent,
    Base,
    Clinic,
    ClinicSettings,
    Infusion,
    Patient,
    SafetyAlert,
)
from data.repository import create_patient
from data.rescore import rescore
from data.schema import upgrade
from data.spreadsheet import guard_cell, restore_cell
from outcomes import score
from tests.conftest import World

NOW = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
PHQ9_HEADER = "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 11))


def _count(session: Session, model: type[Base], **where: object) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(session.scalar(query) or 0)


def _csv(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join(lines) + "\n")


def _mrn(world: World, patient: Actor) -> str:
    return f"MRN-{patient.username}"


def _stored(session: Session, clinic_id: int) -> list[Assessment]:
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.clinic_id == clinic_id)
            .order_by(Assessment.administered_at, Assessment.instrument)
        )
    )


# --------------------------------------------------------------------------------------------
# Assessments CSV
# --------------------------------------------------------------------------------------------


def test_a_good_file_is_stored_scored_like_a_check_in_and_rescores_identically(
    session: Session, world: World
) -> None:
    a1, a2 = _mrn(world, world.patient_a1), _mrn(world, world.patient_a2)
    source = _csv(
        PHQ9_HEADER + ",gad7_1,gad7_2,gad7_3,gad7_4,gad7_5,gad7_6,gad7_7",
        # a date alone means noon UTC
        f"{a1},phq9,2025-01-06,2,2,1,1,1,1,1,1,0,1,,,,,,,",
        # a naive time is UTC; phq9_8 and phq9_9 missing: prorated
        f"{a1},PHQ-9,2025-01-13T10:30,1,1,1,1,1,1,1,,,,,,,,,,",
        # an offset is converted to UTC
        f"{a2},gad7,2025-01-07T09:00:00-05:00,,,,,,,,,,,3,3,2,2,1,1,0",
    )
    result = import_assessments_csv(session, actor=world.system_a, source=source, now=NOW)

    assert (result.rows, result.imported, result.skipped, result.patients) == (3, 3, 0, 2)
    stored = _stored(session, world.clinic_a)
    assert [a.administered_at for a in stored] == [
        dt.datetime(2025, 1, 6, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 7, 14, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 13, 10, 30, tzinfo=dt.UTC),
    ]
    for assessment in stored:
        expected = score(assessment.instrument, assessment.answers)
        assert (assessment.total, assessment.severity, tuple(assessment.flags)) == (
            expected.total,
            expected.severity,
            expected.flags,
        )
        assert (assessment.valid, assessment.source, assessment.scoring_version) == (
            True,
            "import",
            SCORING_VERSION,
        )
    assert stored[0].answers == {
        f"phq9_{i}": v for i, v in enumerate([2, 2, 1, 1, 1, 1, 1, 1, 0, 1], 1)
    }
    assert stored[2].flags == ["prorated"] and stored[2].total == 9
    # one audit event per imported patient, not per row
    assert _count(session, AuditEvent, action="import_assessments") == 2
    # the bulk path stores times exactly as the ORM would: SQL equality finds them
    noon = dt.datetime(2025, 1, 6, 12, 0, tzinfo=dt.UTC)
    assert _count(session, Assessment, administered_at=noon) == 1

    summary = rescore(session, actor=world.system_a)
    assert (summary.examined, summary.changed, summary.restamped) == (3, 0, 0)


def test_a_file_with_bad_rows_writes_nothing_and_names_every_bad_row(
    session: Session, world: World
) -> None:
    a1 = _mrn(world, world.patient_a1)
    source = _csv(
        PHQ9_HEADER + ",gad7_1,total",
        f"{a1},phq9,2025-01-06,1,1,1,1,1,1,1,1,0,,,",  # row 2: good
        f"{a1},phq10,2025-01-07,1,1,1,1,1,1,1,1,0,,,",  # row 3: unknown instrument
        f"{a1},phq9,2025-01-08,1,7,1,1,1,1,1,1,0,,,",  # row 4: out of range
        f"{a1},phq9,2025-01-09,1,two,1,1,1,1,1,1,0,,,",  # row 5: text
        "",  # row 6: blank, ignored but counted
        f"{a1},phq9,01/10/2025,1,1,1,1,1,1,1,1,0,,,",  # row 7: unreadable date
        f"{a1},phq9,2025-01-06,1,1,1,1,1,1,1,1,0,,,",  # row 8: repeats row 2
        f"{a1},phq9,2025-01-11,1,1,1,1,1,1,1,1,0,,2,",  # row 9: a GAD-7 answer on a PHQ-9 row
        f"{a1},phq9,2025-01-12,1,1,1,1,1,1,1,1,0,,,x",  # row 10: total not a number
        f"{a1},phq9,2099-01-12,1,1,1,1,1,1,1,1,0,,,",  # row 11: in the future
        f"{a1},phq9,2025-01-13,1,1,1,1,1,1,,,,,,",  # row 12: three missing, max is 2
        f"{a1},phq9,2025-01-14,1,1,1,1,1,1,1,1,0,9,,",  # row 13: unscored item out of range
    )
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=source, now=NOW)

    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [
        f"row {n}" for n in (3, 4, 5, 7, 8, 9, 10, 11, 12, 13)
    ]
    reasons = dict(p.split(": ", 1) for p in problems)
    # Where and what is wrong, never what the file holds there (issue 9, item 10).
    assert "instrument is not one we know" in reasons["row 3"]
    assert "phq9_2 is not an answer; answers are whole numbers from 0 to 3" in reasons["row 4"]
    assert "phq9_2 is not an answer" in reasons["row 5"]
    assert "administered_at is not a date" in reasons["row 7"]
    assert "repeats row 2" in reasons["row 8"]
    assert "gad7_1 has an answer, but this row is a PHQ-9 record" in reasons["row 9"]
    assert "total is not a number" in reasons["row 10"]
    assert "in the future" in reasons["row 11"]
    assert "3 of 9 items unanswered" in reasons["row 12"]
    assert "phq9_10 is not an answer" in reasons["row 13"]
    for echoed in ("phq10", "7 is", "two", "01/10/2025", "'x'", "9 is"):
        assert not [p for p in problems if echoed in p], echoed
    assert _count(session, Assessment) == 0
    assert _count(session, AuditEvent, action="import_assessments") == 0


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("patient_id,instrument,phq9_1", "lacks the column(s): administered_at"),
        (PHQ9_HEADER + ",phq9_01", "unknown column name(s) in column(s) 14 (N)"),
        (PHQ9_HEADER + ",phq9_1", "names column(s) twice: phq9_1"),
        ("", "the file is empty"),
    ],
)
def test_a_bad_header_is_refused_before_any_row(
    session: Session, world: World, header: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason.replace("(", r"\(").replace(")", r"\)")):
        import_assessments_csv(session, actor=world.system_a, source=_csv(header, "x,phq9,1"))


def test_a_row_with_more_fields_than_columns_is_refused_not_truncated(
    session: Session, world: World
) -> None:
    a1 = _mrn(world, world.patient_a1)
    trailing_blank = f"{a1},phq9,2025-01-06,1,1,1,1,1,1,1,1,0,,,"
    shifted = f"{a1},phq9,2025-01-07,1,1,1,1,1,1,1,1,0,,3"
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(
            session, actor=world.system_a, source=_csv(PHQ9_HEADER, trailing_blank, shifted)
        )
    assert refused.value.problems == (
        "row 3 has 14 fields but the header names 13 columns; a comma inside a value needs "
        "the value in double quotes",
    )
    result = import_assessments_csv(
        session, actor=world.system_a, source=_csv(PHQ9_HEADER, trailing_blank), now=NOW
    )
    assert result.imported == 1


def test_the_examples_in_the_documentation_import(session: Session, world: World) -> None:
    """docs/records.md shows files a clinic can copy: they must import as described."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "records.md").read_text()
    blocks = [b.split("```", 1)[0] for b in docs.split("```csv\n")[1:]]
    assessments, infusions = blocks
    empty = Clinic(name="Docs Clinic")
    session.add(empty)
    session.flush()
    actor = Actor.system(empty.id)
    first = import_assessments_csv(
        session, actor=actor, source=io.StringIO(assessments), create_patients=True, now=NOW
    )
    second = import_infusions_csv(session, actor=actor, source=io.StringIO(infusions), now=NOW)
    assert (first.imported, first.warnings, second.imported) == (3, (), 2)
    prorated = _stored(session, empty.id)[-1]
    assert (prorated.total, prorated.flags) == (9, ["prorated"])


def test_unknown_patients_are_refused_unless_create_patients(
    session: Session, world: World
) -> None:
    lines = (
        PHQ9_HEADER,
        "NEW-1,phq9,2025-01-06,1,1,1,1,1,1,1,1,0,",
        "NEW-1,phq9,2025-01-13,0,0,0,0,0,0,0,0,0,",
    )
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv(*lines), now=NOW)
    assert len(refused.value.problems) == 2
    assert all("--create-patients" in p for p in refused.value.problems)
    # the message names the row, never the patient's id
    assert not any("NEW-1" in p for p in refused.value.problems)
    assert _count(session, Patient, clinic_id=world.clinic_a) == 2

    result = import_assessments_csv(
        session, actor=world.system_a, source=_csv(*lines), create_patients=True, now=NOW
    )
    assert (result.imported, result.patients_created) == (2, 1)
    patient = session.scalar(select(Patient).where(Patient.external_id == "NEW-1"))
    assert patient is not None and patient.clinic_id == world.clinic_a
    assert _count(session, AuditEvent, action="create_patient", patient_id=patient.id) == 1


def test_reimporting_skips_identical_rows_and_refuses_changed_ones(
    session: Session, world: World
) -> None:
    a1 = _mrn(world, world.patient_a1)
    original = (PHQ9_HEADER, f"{a1},phq9,2025-01-06,1,1,1,1,1,1,1,1,0,")
    import_assessments_csv(session, actor=world.system_a, source=_csv(*original), now=NOW)

    again = import_assessments_csv(
        session,
        actor=world.system_a,
        source=_csv(*original, f"{a1},phq9,2025-01-13,0,0,0,0,0,0,0,0,0,"),
        now=NOW,
    )
    assert (again.imported, again.skipped) == (1, 1)
    assert _count(session, Assessment) == 2

    changed = (PHQ9_HEADER, f"{a1},phq9,2025-01-06T12:00:00Z,3,1,1,1,1,1,1,1,0,")
    with pytest.raises(InvalidInput, match="row 2: a record of this patient, instrument and time"):
        import_assessments_csv(session, actor=world.system_a, source=_csv(*changed), now=NOW)
    assert _count(session, Assessment) == 2


def test_imported_safety_answers_raise_alerts_and_old_ones_are_history(
    session: Session, world: World
) -> None:
    a1 = _mrn(world, world.patient_a1)
    old = (NOW - dt.timedelta(days=30)).date().isoformat()
    recent = (NOW - dt.timedelta(days=3)).date().isoformat()
    source = _csv(
        PHQ9_HEADER,
        f"{a1},phq9,{old},1,1,1,1,1,1,1,1,2,",
        f"{a1},phq9,{recent},1,1,1,1,1,1,1,1,1,",
        f"{a1},phq9,{NOW.date()},1,1,1,1,1,1,1,1,0,",
    )
    result = import_assessments_csv(session, actor=world.system_a, source=source, now=NOW)

    assert (result.alerts_created, result.alerts_acknowledged) == (2, 1)
    alerts = session.execute(
        select(SafetyAlert, Assessment.administered_at)
        .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
        .order_by(Assessment.administered_at)
    ).all()
    (historical, old_at), (open_alert, recent_at) = alerts
    assert old_at.date().isoformat() == old and recent_at.date().isoformat() == recent
    assert historical.kind == "phq9_item9_positive"
    assert (historical.acknowledged_at, historical.note) == (NOW, HISTORICAL_ALERT_NOTE)
    assert historical.acknowledged_by_id is None
    assert (open_alert.acknowledged_at, open_alert.note) == (None, None)


def test_progress_is_reported_while_writing(session: Session, world: World) -> None:
    a1 = _mrn(world, world.patient_a1)
    rows = [f"{a1},phq9,2024-01-{day:02d},1,1,1,1,1,1,1,1,0," for day in range(1, 29)]
    calls: list[tuple[int, int]] = []
    import_assessments_csv(
        session,
        actor=world.system_a,
        source=_csv(PHQ9_HEADER, *rows),
        progress=lambda done, total: calls.append((done, total)),
        now=NOW,
    )
    assert calls[0] == (0, 28) and calls[-1] == (28, 28)


@pytest.mark.parametrize("who", ["patient_a1", "admin_a", "clinician_b"])
def test_only_the_clinics_care_team_or_the_system_may_import(
    session: Session, world: World, who: str
) -> None:
    source = _csv(
        PHQ9_HEADER, f"{_mrn(world, world.patient_a1)},phq9,2025-01-06,1,1,1,1,1,1,1,1,0,"
    )
    actor: Actor = getattr(world, who)
    if who == "clinician_b":
        # Clinic B's clinician imports into clinic B: clinic A's patient is unknown there.
        with pytest.raises(InvalidInput, match="no patient with this patient_id"):
            import_assessments_csv(session, actor=actor, source=source)
    else:
        with pytest.raises(AccessDenied):
            import_assessments_csv(session, actor=actor, source=source)
    assert _count(session, Assessment) == 0


# --------------------------------------------------------------------------------------------
# Infusions CSV
# --------------------------------------------------------------------------------------------

INFUSION_HEADER = (
    "patient_id,administered_at,route,dose_mg_per_kg,duration_minutes,systolic_before,"
    "diastolic_before,heart_rate_before,spo2_min,side_effects,side_effects_note"
)


def test_infusions_import_with_their_measurements(session: Session, world: World) -> None:
    a1 = _mrn(world, world.patient_a1)
    result = import_infusions_csv(
        session,
        actor=world.system_a,
        source=_csv(
            INFUSION_HEADER,
            f"{a1},2025-01-06T15:00Z,IV,0.5,40,128,82,76,96,nausea; Dizziness,felt floaty",
            f"{a1},2025-01-08T15:00Z,iv,0.5,40,,,,,,",
        ),
        now=NOW,
    )
    assert (result.imported, result.patients) == (2, 1)
    first = session.scalars(select(Infusion).order_by(Infusion.administered_at)).first()
    assert first is not None
    assert (first.route, first.dose_mg_per_kg, first.duration_minutes, first.systolic_before) == (
        "iv",
        0.5,
        40,
        128,
    )
    assert first.side_effects == ["nausea", "dizziness"]
    assert first.side_effects_note == "felt floaty"
    assert _count(session, AuditEvent, action="import_infusions") == 1


def test_a_time_without_a_zone_is_utc_whatever_row_comes_before_it(
    session: Session, world: World
) -> None:
    """pandas gave naive times and dates the offset of a zoned time earlier in the file."""
    a1, a2 = _mrn(world, world.patient_a1), _mrn(world, world.patient_a2)
    import_assessments_csv(
        session,
        actor=world.system_a,
        source=_csv(
            PHQ9_HEADER,
            f"{a2},phq9,2025-01-07T09:00:00-05:00,1,1,1,1,1,1,1,1,0,",
            f"{a1},phq9,2025-01-13T10:30,1,1,1,1,1,1,1,1,0,",
            f"{a1},phq9,2025-01-20,1,1,1,1,1,1,1,1,0,",
            f"{a2},phq9,2025-01-21T08:00+01:00,1,1,1,1,1,1,1,1,0,",
        ),
        now=NOW,
    )
    assert [a.administered_at for a in _stored(session, world.clinic_a)] == [
        dt.datetime(2025, 1, 7, 14, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 13, 10, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 20, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 21, 7, 0, tzinfo=dt.UTC),
    ]
    import_infusions_csv(
        session,
        actor=world.system_a,
        source=_csv(
            INFUSION_HEADER,
            f"{a1},2025-02-03T15:00-05:00,iv,0.5,40,,,,,,",
            f"{a1},2025-02-05T15:00,iv,0.5,40,,,,,,",
        ),
        now=NOW,
    )
    times = session.scalars(select(Infusion.administered_at).order_by(Infusion.administered_at))
    assert list(times) == [
        dt.datetime(2025, 2, 3, 20, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 2, 5, 15, 0, tzinfo=dt.UTC),
    ]


def test_implausible_infusions_are_refused_with_every_reason(
    session: Session, world: World
) -> None:
    a1 = _mrn(world, world.patient_a1)
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(
            session,
            actor=world.system_a,
            source=_csv(
                INFUSION_HEADER,
                f"{a1},2025-01-06T15:00Z,iv,0.5,40,128,82,76,96,,",  # row 2: fine
                f"{a1},2025-01-07T15:00Z,iv,5,40,12,82,76,96,,",  # row 3: mg/kg typo, BP digit
                f"{a1},2025-01-08T15:00Z,iv,0.5,forty,128,82,76,96,hiccups,",  # row 4
                f"{a1},2025-01-09T15:00Z,iv drip,0.5,40,128,82,76,96,,",  # row 5: route
                f"{a1},2025-01-06T15:00Z,iv,0.5,40,128,82,76,96,,",  # row 6: repeats row 2
            ),
            now=NOW,
        )
    reasons = dict(p.split(": ", 1) for p in refused.value.problems)
    assert list(reasons) == ["row 3", "row 4", "row 5", "row 6"]
    assert "dose per kg is outside the plausible range 0.05–2 mg/kg" in reasons["row 3"]
    assert "systolic pressure before is outside the plausible range" in reasons["row 3"]
    assert "duration_minutes (duration) is not a number" in reasons["row 4"]
    assert "side_effects names 1 unknown side effect(s)" in reasons["row 4"]
    assert "route is not one of" in reasons["row 5"]
    # The refusal names columns, not what the file holds (issue 9, item 10).
    for echoed in ("of 5 ", "of 12 ", "forty", "hiccups", "iv drip"):
        assert not [p for p in refused.value.problems if echoed in p], echoed
    assert "repeats row 2" in reasons["row 6"]
    assert _count(session, Infusion) == 0


# --------------------------------------------------------------------------------------------
# Export and round trips
# --------------------------------------------------------------------------------------------


def _history(session: Session, world: World) -> None:
    """Check-ins and infusions of clinic A, entered the way the app enters them."""
    for days, patient, item9 in (
        (20, world.patient_a1, 1),
        (13, world.patient_a1, 0),
        (6, world.patient_a2, 0),
    ):
        answers: dict[str, Any] = {f"phq9_{i}": (i + days) % 4 for i in range(1, 9)}
        answers["phq9_9"] = item9
        submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=answers,
            administered_at=NOW - dt.timedelta(days=days),
        )
    submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="gad7",
        answers={f"gad7_{i}": 2 for i in range(1, 7)},  # one missing: prorated
        administered_at=NOW - dt.timedelta(days=13, hours=1),
    )
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        infusion=InfusionInput(
            administered_at=NOW - dt.timedelta(days=21),
            route="iv",
            dose_mg_per_kg=0.5,
            systolic_before=130,
            diastolic_before=85,
            side_effects=("nausea",),
            side_effects_note="=1+1 ginger ale helped",
        ),
    )


def _export_csv(session: Session, actor: Actor, kind: str) -> str:
    out = io.StringIO()
    writer = export_assessments_csv if kind == "assessments" else export_infusions_csv
    writer(session, actor=actor, out=out)
    return out.getvalue()


def test_a_csv_export_imports_into_an_empty_clinic_unchanged(
    session: Session, world: World
) -> None:
    _history(session, world)
    exported = {
        kind: _export_csv(session, world.system_a, kind) for kind in ("assessments", "infusions")
    }
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    clinic_c = Actor.system(empty.id)

    assessments = import_assessments_csv(
        session, actor=clinic_c, source=io.StringIO(exported["assessments"]), create_patients=True
    )
    infusions = import_infusions_csv(
        session, actor=clinic_c, source=io.StringIO(exported["infusions"])
    )
    assert (assessments.imported, assessments.patients_created, infusions.imported) == (4, 2, 1)
    assert {kind: _export_csv(session, clinic_c, kind) for kind in exported} == exported
    original, copy = _stored(session, world.clinic_a), _stored(session, empty.id)
    fields = ("instrument", "administered_at", "answers", "total", "severity", "flags", "valid")
    assert [[getattr(a, f) for f in fields] for a in copy] == [
        [getattr(a, f) for f in fields] for a in original
    ]


def test_a_fhir_export_imports_into_an_empty_clinic_unchanged(
    session: Session, world: World
) -> None:
    _history(session, world)
    bundle = export_fhir_bundle(session, actor=world.system_a)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]].count(
        "QuestionnaireResponse"
    ) == 4
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    clinic_c = Actor.system(empty.id)

    result = import_fhir_bundle(
        session, actor=clinic_c, source=io.StringIO(json.dumps(bundle)), create_patients=True
    )
    assert (result.imported, result.patients_created, result.warnings) == (4, 2, ())
    assert export_fhir_bundle(session, actor=clinic_c) == bundle
    # the positive item 9 twenty days ago is history by now; it still has its alert
    assert _count(session, SafetyAlert, clinic_id=empty.id) == 1


def test_fhir_totals_that_disagree_are_warnings_and_bad_entries_are_all_listed(
    session: Session, world: World
) -> None:
    _history(session, world)
    bundle = export_fhir_bundle(session, actor=world.system_a)
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    phq9 = next(r for r in responses if r["questionnaire"].endswith("44249-1"))
    phq9["item"].append({"linkId": "44261-6", "answer": [{"valueInteger": 27}]})
    draft = json.loads(json.dumps(phq9)) | {"status": "in-progress", "authored": "2025-02-01"}
    bundle["entry"].append({"resource": draft})
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()

    result = import_fhir_bundle(
        session, actor=Actor.system(empty.id), source=bundle, create_patients=True
    )
    assert result.imported == 4
    mismatch, draft_skipped = result.warnings
    assert mismatch.startswith("Bundle entry[0]: the PHQ-9 total reported by the sender differs")
    assert draft_skipped.startswith("Bundle entry[8]: status is not completed or amended")

    broken = json.loads(json.dumps(bundle))
    broken["entry"][0]["resource"]["item"][0]["answer"] = [{"valueString": "often"}]
    broken["entry"][2]["resource"]["subject"] = {"reference": "Group/7"}
    broken["entry"][4]["resource"]["item"][1]["answer"] = [{"valueInteger": 5}]
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=Actor.system(world.clinic_b), source=broken)
    labels = [p.split(":")[0] for p in refused.value.problems]
    assert labels[0] == "Bundle entry[0]" and "valueString" in refused.value.problems[0]
    assert {"Bundle entry[2]", "Bundle entry[4]"} <= set(labels)
    assert _count(session, Assessment, clinic_id=world.clinic_b) == 0


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'quoted", "''quoted"),
        ("MRN-1", "MRN-1"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised_and_restored(cell: str, written: str) -> None:
    """OWASP CSV injection: a leading =, +, -, @, tab or CR gets an apostrophe."""
    assert guard_cell(cell) == written
    assert restore_cell(written) == cell


def test_exports_cannot_smuggle_a_formula_into_a_spreadsheet(
    session: Session, world: World
) -> None:
    patient = session.get(Patient, world.patient_a1.patient_id)
    assert patient is not None
    patient.external_id = "=cmd|' /C calc'!A0"
    _history(session, world)

    assessments = list(csv.reader(io.StringIO(_export_csv(session, world.system_a, "assessments"))))
    infusions = list(csv.DictReader(io.StringIO(_export_csv(session, world.system_a, "infusions"))))
    assert "'=cmd|' /C calc'!A0" in {row[0] for row in assessments}
    assert infusions[0]["patient_id"] == "'=cmd|' /C calc'!A0"
    assert infusions[0]["side_effects_note"] == "'=1+1 ginger ale helped"
    for row in assessments:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))

    # ... and the same file re-imports with the original values (a patient id may no longer
    # hold "=", so the round trip uses an allowed id; the id above is a record stored before)
    patient.external_id = "MRN-1"
    session.flush()
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    import_infusions_csv(
        session,
        actor=Actor.system(empty.id),
        source=io.StringIO(_export_csv(session, world.system_a, "infusions")),
        create_patients=True,
    )
    copy = session.scalar(select(Infusion).where(Infusion.clinic_id == empty.id))
    assert copy is not None and copy.side_effects_note == "=1+1 ginger ale helped"
    assert session.scalar(select(Patient.external_id).where(Patient.id == copy.patient_id)) == (
        "MRN-1"
    )


def test_exports_are_access_checked_and_audited_per_patient(session: Session, world: World) -> None:
    _history(session, world)
    own = world.patient_a1.patient_id
    out = io.StringIO()
    summary = export_assessments_csv(session, actor=world.patient_a1, out=out, patient_id=own)
    assert summary.rows == 3 and summary.patients == 1
    assert {row["patient_id"] for row in csv.DictReader(io.StringIO(out.getvalue()))} == {
        "MRN-patient-a1"
    }
    for actor, patient_id in (
        (world.patient_a1, world.patient_a2.patient_id),  # another patient
        (world.patient_a1, None),  # the whole clinic
        (world.admin_a, own),  # administrators see aggregates only
        (world.admin_a, None),
        (world.clinician_b, own),  # another clinic
    ):
        with pytest.raises(AccessDenied):
            export_fhir_bundle(session, actor=actor, patient_id=patient_id)

    export_infusions_csv(session, actor=world.clinician_a, out=io.StringIO())
    export_fhir_bundle(session, actor=world.clinician_a)
    events = session.execute(
        select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.actor_name).where(
            AuditEvent.action.like("export_%")
        )
    ).all()
    assert sorted(events) == sorted(
        [
            ("export_assessments", own, world.patient_a1.username),
            ("export_infusions", own, world.clinician_a.username),
            ("export_fhir", own, world.clinician_a.username),
            ("export_fhir", world.patient_a2.patient_id, world.clinician_a.username),
        ]
    )


# --------------------------------------------------------------------------------------------
# Rescore
# --------------------------------------------------------------------------------------------


def _set_rules(session: Session, clinic_id: int, overrides: dict[str, Any]) -> None:
    settings = session.get(ClinicSettings, clinic_id)
    if settings is None:
        session.add(ClinicSettings(clinic_id=clinic_id, rule_overrides=overrides))
    else:
        settings.rule_overrides = overrides
    session.flush()


def test_rescore_applies_a_changed_rule_and_keeps_the_answers(
    session: Session, world: World
) -> None:
    """PHQ-9 max_missing 2 -> 1: a record prorated over two missing items is no longer
    allowed. It is kept, marked invalid without total or severity; its answers stay."""
    me = world.patient_a1
    prorated = {f"phq9_{i}": 2 for i in range(1, 8)}
    stored = submit_checkin(
        session, actor=me, patient_id=me.patient_id or 0, instrument="phq9", answers=prorated
    )
    submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument="phq9",
        answers={f"phq9_{i}": 1 for i in range(1, 10)},
    )
    assessment = session.get(Assessment, stored.assessment_id)
    assert assessment is not None and (assessment.total, assessment.valid) == (18, True)

    _set_rules(session, world.clinic_a, {"phq9": {"max_missing": 1}})
    summary = rescore(session, actor=world.system_a)
    assert (summary.examined, summary.changed, summary.now_invalid) == (2, 1, 1)
    assert summary.changed_by_instrument == {"phq9": 1}
    session.refresh(assessment)
    assert (assessment.valid, assessment.total, assessment.severity) == (False, None, None)
    assert assessment.flags == [] and assessment.answers == prorated

    _set_rules(session, world.clinic_a, {})
    back = rescore(session, actor=world.admin_a)
    assert (back.changed, back.now_valid) == (1, 1)
    session.refresh(assessment)
    assert (assessment.valid, assessment.total, assessment.flags) == (True, 18, ["prorated"])
    assert _count(session, AuditEvent, action="rescore") == 2


def test_rescore_restamps_an_old_scoring_version_and_needs_an_administrator(
    session: Session, world: World
) -> None:
    me = world.patient_a1
    result = submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument="phq9",
        answers={f"phq9_{i}": 1 for i in range(1, 10)},
    )
    session.execute(
        text("UPDATE assessment SET scoring_version = 'outcomes-0.0.1' WHERE id = :id"),
        {"id": result.assessment_id},
    )
    with pytest.raises(AccessDenied):
        rescore(session, actor=world.clinician_a)
    summary = rescore(session, actor=world.system_a)
    assert (summary.changed, summary.restamped) == (0, 1)
    assert session.scalar(select(Assessment.scoring_version)) == SCORING_VERSION


@pytest.mark.parametrize("instrument", ["phq9", "madrs", "pcl5"])
def test_answers_are_stored_as_the_json_text_of_the_answered_items(instrument: str) -> None:
    """The bulk path writes answers as text without json.dumps per row: it must give the
    same text, with unanswered items left out, whatever the instrument's range."""
    import random

    import numpy as np
    import pandas as pd

    from data.csv_io import AdministrationTable, _answers_json
    from outcomes import get_instrument

    definition = get_instrument(instrument)
    rng = random.Random(instrument)
    rows = [
        {
            key: (
                None
                if rng.random() < 0.1
                else rng.randint(definition.min_value, definition.max_value)
            )
            for key in definition.item_keys
        }
        for _ in range(300)
    ]
    rows[0] = dict.fromkeys(definition.item_keys)  # nothing answered
    items = {
        key: pd.Series([row[key] for row in rows], dtype="Int64") for key in definition.item_keys
    }
    table = AdministrationTable(
        labels=[f"row {i}" for i in range(len(rows))],
        patient=pd.Series(["P"] * len(rows)),
        instrument=pd.Series([instrument] * len(rows)),
        administered_at=pd.Series(pd.NaT, index=range(len(rows)), dtype="datetime64[ns, UTC]"),
        items=items,
    )
    positions = np.arange(len(rows))[::-1].copy()  # any order of rows
    expected = [
        json.dumps({key: value for key, value in rows[p].items() if value is not None})
        for p in positions
    ]
    assert _answers_json(table, definition, positions) == expected
    assert any(all(v is not None for v in row.values()) for row in rows)  # the fast path ran


# --------------------------------------------------------------------------------------------
# Issue 9: refusals that do not repeat the file, patient ids and names, limits, validation
# --------------------------------------------------------------------------------------------

PHQ9_ROW = "phq9,2025-01-06,1,1,1,1,1,1,1,1,0,"


def _problems(refused: pytest.ExceptionInfo[InvalidInput]) -> str:
    return "\n".join(refused.value.problems)


def test_a_csv_without_a_header_is_refused_without_repeating_its_first_record(
    session: Session, world: World
) -> None:
    first = "MRN-secret-77,phq9,2025-01-06,1,1,1,1,1,1,1,1,0"
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv(first), now=NOW)
    text = _problems(refused)
    assert "row 1 (the header) has unknown column name(s) in column(s) 1 (A), 2 (B)" in text
    assert "starts with the header row patient_id, instrument, administered_at" in text
    for value in ("MRN-secret-77", "phq9", "2025-01-06"):
        assert value not in text


def test_a_system_file_given_as_an_import_is_refused_without_repeating_a_line(
    session: Session, world: World, tmp_path: Path
) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    )
    for importer in (import_assessments_csv, import_infusions_csv, import_fhir_bundle):
        with pytest.raises(InvalidInput) as refused:
            importer(session, actor=world.system_a, source=passwd, now=NOW)
        text = _problems(refused)
        for secret in ("root", "daemon", "/bin", "nologin", "x:0"):
            assert secret not in text, (importer.__name__, text)
    assert _count(session, Assessment) == 0


def test_a_nul_byte_in_a_patient_id_is_refused_not_truncated_into_another_patient(
    session: Session, world: World, tmp_path: Path
) -> None:
    a1 = _mrn(world, world.patient_a1)
    source = tmp_path / "nul.csv"
    source.write_bytes(f"{PHQ9_HEADER}\n{a1}\x00-other,{PHQ9_ROW}\n".encode())
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(
            session, actor=world.system_a, source=source, create_patients=True, now=NOW
        )
    assert refused.value.problems[0].startswith("row 2 holds a NUL character")
    bundle = json.loads(
        json.dumps(_one_response_bundle(f"Patient/{a1}\u0000-other"), ensure_ascii=True)
    )
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle, create_patients=True)
    assert "patient_id holds a character that is not allowed" in _problems(refused)
    assert _count(session, Assessment) == 0


def _one_response_bundle(subject: str, authored: str = "2025-01-06") -> dict[str, Any]:
    from outcomes.fhir import patient_bundle

    when = dt.datetime.fromisoformat(authored).replace(hour=12, tzinfo=dt.UTC)
    bundle = patient_bundle(
        [("phq9", {f"phq9_{i}": 1 for i in range(1, 10)}, when)], subject=subject
    )
    dumped: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return dumped


HOSTILE_IDS = [
    "MRN-1 :green[**reviewed, all clear — no action needed**]",
    "![](http://example.com/beacon.png)",
    "MRN-1\n# heading",
    "<img src=x onerror=alert(1)>",
    "MRN\u202e1-ABC",
    "-2+3",
    "=HYPERLINK(1)",
    "x" * 65,
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_patient_ids_outside_the_documented_characters_are_refused_on_every_path(
    session: Session, world: World, hostile: str
) -> None:
    """Item 1: CSV import, FHIR import and the app's form refuse the id by rule, not by value."""
    patients = _count(session, Patient)
    file = io.StringIO()
    csv.writer(file, lineterminator="\r\n").writerow(["patient_id", "administered_at", "route"])
    csv.writer(file, lineterminator="\r\n").writerow([hostile, "2025-01-06T10:00Z", "iv"])
    file.seek(0)
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(
            session, actor=world.system_a, source=file, create_patients=True, now=NOW
        )
    assert "patient_id" in _problems(refused) and hostile.strip() not in _problems(refused)
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(
            session,
            actor=world.system_a,
            source=_one_response_bundle(f"Patient/{hostile}"),
            create_patients=True,
        )
    assert "patient_id" in _problems(refused) and hostile not in _problems(refused)
    with pytest.raises(InvalidInput) as refused:
        create_patient(session, actor=world.clinician_a, external_id=hostile, name="Ann Lee")
    assert "patient id" in _problems(refused) and hostile.strip() not in _problems(refused)
    assert _count(session, Patient) == patients


def test_patient_ids_of_the_documented_characters_round_trip_through_csv_and_fhir(
    session: Session, world: World
) -> None:
    mrn = "MRN 12/a_b.c-9"
    result = import_assessments_csv(
        session,
        actor=world.system_a,
        source=_csv(PHQ9_HEADER, f"{mrn},{PHQ9_ROW}"),
        create_patients=True,
        now=NOW,
    )
    assert result.patients_created == 1
    bundle = export_fhir_bundle(session, actor=world.system_a)
    empty = Clinic(name="Clinic C")
    session.add(empty)
    session.flush()
    copied = import_fhir_bundle(
        session, actor=Actor.system(empty.id), source=bundle, create_patients=True
    )
    assert copied.imported == 1
    assert session.scalar(select(Patient.external_id).where(Patient.clinic_id == empty.id)) == mrn


@pytest.mark.parametrize(
    "name",
    ["Ann\x00Lee", "Ann\nLee", "Ann\r\n# Lee", "Ann\u2028Lee", "Ann \u202eeeL", "x" * 201, " "],
)
def test_patient_names_refuse_control_characters_line_breaks_and_overlong_text(
    session: Session, world: World, name: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_patient(session, actor=world.clinician_a, external_id="MRN-new-9", name=name)
    assert "the patient's name" in _problems(refused)
    assert name.strip() not in _problems(refused) or not name.strip()


def test_patient_names_of_any_script_are_stored(session: Session, world: World) -> None:
    for number, name in enumerate(("José Müller-Åberg", "山田 太郎", "O'Brien, Siobhán")):
        create_patient(
            session, actor=world.clinician_a, external_id=f"MRN-script-{number}", name=name
        )
    assert _count(session, Patient, name="山田 太郎") == 1


def test_records_dated_before_the_patients_birth_are_refused_by_row(
    session: Session, world: World
) -> None:
    patient = session.get(Patient, world.patient_a1.patient_id)
    assert patient is not None
    patient.date_of_birth = dt.date(1990, 5, 1)
    session.flush()
    a1 = _mrn(world, world.patient_a1)
    before_birth = PHQ9_ROW.replace("2025-01-06", "1990-04-30")
    # 01:00 on the day of birth at UTC+5 is still the day before in UTC: not refused.
    birth_day = PHQ9_ROW.replace("2025-01-06", "1990-05-01T01:00+05:00")
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(
            session,
            actor=world.system_a,
            source=_csv(PHQ9_HEADER, f"{a1},{birth_day}", f"{a1},{before_birth}"),
            now=NOW,
        )
    assert refused.value.problems == (
        "row 3: administered_at is before the patient's date of birth; check the date (or "
        "the date of birth recorded for the patient)",
    )
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(
            session,
            actor=world.system_a,
            source=_csv("patient_id,administered_at,route", f"{a1},1989-12-01T10:00Z,iv"),
            now=NOW,
        )
    assert refused.value.problems[0].startswith("row 2: administered_at is before the patient")
    assert _count(session, Assessment) == _count(session, Infusion) == 0


def test_a_fhir_file_with_a_byte_order_mark_is_read_as_a_csv_file_is(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "bundle.json"
    bundle = _one_response_bundle("Patient/MRN-bom-1")
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(bundle).encode())
    result = import_fhir_bundle(session, actor=world.system_a, source=path, create_patients=True)
    assert result.imported == 1


def test_deeply_nested_json_is_refused_with_a_message_not_a_recursion_error(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"resourceType": "Bundle", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=path)
    assert "more than 32 levels deep" in _problems(refused)
    # Brackets inside text do not count.
    bundle = _one_response_bundle("Patient/MRN-deep-1")
    bundle["entry"][0]["resource"]["item"][0]["text"] = "[[[" * 100 + '\\"{'

    path.write_text(json.dumps(bundle))
    assert (
        import_fhir_bundle(
            session, actor=world.system_a, source=path, create_patients=True
        ).imported
        == 1
    )


def test_a_bundle_of_many_bad_entries_is_refused_in_a_short_message(
    session: Session, world: World
) -> None:
    bundle = _one_response_bundle("Patient/MRN-many")
    entry = bundle["entry"][0]
    entry["resource"]["item"][0]["answer"] = [{"valueString": "often"}]
    bundle["entry"] = [entry] * 600
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle)
    problems = refused.value.problems
    assert problems[0].startswith("Bundle entry[0]: ")
    assert problems[19].startswith("Bundle entry[19]: ")
    assert problems[20].startswith("... and 580 more record(s) with problems, of 1 kind(s)")
    assert problems[21].startswith("580 x ")
    assert len(problems) == 22 and sum(map(len, problems)) < 8_000


def test_a_csv_of_many_bad_rows_is_refused_in_a_short_message(
    session: Session, world: World
) -> None:
    rows = [f"MRN-{n},{PHQ9_ROW}" for n in range(3_000)]
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv(PHQ9_HEADER, *rows))
    problems = refused.value.problems
    assert problems[0].startswith("row 2: no patient with this patient_id")
    assert "2,980 more record(s)" in problems[20] and len(problems) == 22


def test_a_header_of_200000_columns_is_refused_before_any_parsing(
    session: Session, world: World
) -> None:
    wide = ",".join(f"c{n}" for n in range(200_000))
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv(wide, "1"))
    assert refused.value.problems == (
        "row 1 is longer than 10,000 bytes, the longest line an import takes; is this a "
        "CSV file of records?",
    )
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv("a," * 4_000))
    assert "has 4,001 columns, more than the 100 an import takes" in _problems(refused)


def test_files_beyond_the_stated_limits_are_refused_before_they_are_read(
    session: Session, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data import csv_io, fhir_io

    path = tmp_path / "big.csv"
    path.write_text("\n".join([PHQ9_HEADER] + [f"MRN-{n},{PHQ9_ROW}" for n in range(20)]))
    monkeypatch.setattr(csv_io, "MAX_RECORDS", 10)
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=path)
    assert "more than 10 lines" in _problems(refused)
    monkeypatch.setattr(csv_io, "MAX_RECORDS", 1_000_000)
    monkeypatch.setattr(csv_io, "MAX_FILE_BYTES", 500)
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(session, actor=world.system_a, source=path)
    assert "larger than" in _problems(refused)
    monkeypatch.setattr(fhir_io, "MAX_BUNDLE_ENTRIES", 2)
    bundle = _one_response_bundle("Patient/MRN-x")
    bundle["entry"] = bundle["entry"] * 3
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle)
    assert "more than the 2 an import takes" in _problems(refused)


def test_the_import_limits_are_documented() -> None:
    from data import csv_io, fhir_io

    docs = (Path(__file__).parents[2] / "docs" / "records.md").read_text()
    for stated in (
        f"{csv_io.MAX_FILE_BYTES // 1_000_000} MB",
        f"{csv_io.MAX_RECORDS:,} lines",
        f"{csv_io.MAX_LINE_BYTES:,} bytes",
        f"{csv_io.MAX_COLUMNS} columns",
        f"{fhir_io.MAX_BUNDLE_ENTRIES:,} entries",
        f"{fhir_io.MAX_JSON_DEPTH} levels",
        f"first {csv_io.MAX_LISTED_PROBLEMS}",
    ):
        assert stated in docs, stated


@pytest.mark.parametrize("staged", [False, True], ids=["direct", "staged"])
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_records_stored_between_the_check_and_the_write_are_checked_again(
    backend: str, staged: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Item 7: the file is checked outside the write lock, so the write checks the records
    again: a conflicting record stored meanwhile refuses the import, a patient registered
    meanwhile is used, not registered twice. The same when the rows were staged."""
    from data.csv_io import prepare_assessments_csv
    from tests.conftest import fresh_database_url

    engine = make_engine(fresh_database_url(backend, request, tmp_path))
    try:
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinic = Clinic(name="Clinic P")
            session.add(clinic)
            session.flush()
            system = Actor.system(clinic.id)
            create_patient(session, actor=system, external_id="MRN-1", name="MRN-1")
        ones = _csv(PHQ9_HEADER, f"MRN-1,{PHQ9_ROW}", f"MRN-2,{PHQ9_ROW}")
        with transaction(engine) as session:
            prepared = prepare_assessments_csv(
                session, actor=system, source=ones, create_patients=True, now=NOW
            )
            if staged:
                prepared.stage(session)
        twos = PHQ9_ROW.replace("1,1,1,1,1,1,1,1,0", "2,2,2,2,2,2,2,2,0")
        with transaction(engine, write=True) as session:
            import_assessments_csv(
                session, actor=system, source=_csv(PHQ9_HEADER, f"MRN-1,{twos}"), now=NOW
            )
        with pytest.raises(InvalidInput) as refused, transaction(engine, write=True) as session:
            prepared.write(session)
        assert refused.value.problems == (
            "row 2: a record of this patient, instrument and time is already stored with "
            "different answers; an import never replaces a stored record",
        )
        with transaction(engine) as session:
            assert _count(session, Assessment) == 1 and _count(session, Patient) == 1

        with transaction(engine) as session:
            prepared = prepare_assessments_csv(
                session,
                actor=system,
                source=_csv(PHQ9_HEADER, f"MRN-2,{PHQ9_ROW}"),
                create_patients=True,
                now=NOW,
            )
            if staged:
                prepared.stage(session)
        with transaction(engine, write=True) as session:
            create_patient(session, actor=system, external_id="MRN-2", name="Registered meanwhile")
        with transaction(engine, write=True) as session:
            result = prepared.write(session)
        assert (result.imported, result.patients_created) == (1, 0)
        with transaction(engine) as session:
            assert _count(session, Patient) == 2 and _count(session, Assessment) == 2
    finally:
        engine.dispose()


def _temp_tables(session: Session) -> list[str]:
    if session.connection().dialect.name != "sqlite":
        return []
    return sorted(
        session.connection()
        .exec_driver_sql("SELECT name FROM temp.sqlite_master WHERE type = 'table'")
        .scalars()
    )


def _imported(session: Session, clinic_id: int) -> dict[str, Any]:
    """What an import stored in a clinic, without ids and times of writing."""
    patients: dict[int, str] = {
        patient_id: external_id
        for patient_id, external_id in session.execute(
            select(Patient.id, Patient.external_id).where(Patient.clinic_id == clinic_id)
        )
    }
    assessments = session.execute(
        select(
            Assessment.id,
            Assessment.patient_id,
            Assessment.instrument,
            Assessment.administered_at,
            Assessment.answers,
            Assessment.total,
            Assessment.severity,
            Assessment.flags,
            Assessment.source,
            Assessment.valid,
            Assessment.scoring_version,
            Assessment.entered_by_id,
        ).where(Assessment.clinic_id == clinic_id)
    ).all()
    by_id = {row[0]: (patients[row[1]], *row[2:]) for row in assessments}
    alerts = session.execute(
        select(
            SafetyAlert.assessment_id,
            SafetyAlert.patient_id,
            SafetyAlert.kind,
            SafetyAlert.acknowledged_at.is_(None),
        ).where(SafetyAlert.clinic_id == clinic_id)
    ).all()
    audit = session.execute(
        select(AuditEvent.action, AuditEvent.patient_id).where(AuditEvent.clinic_id == clinic_id)
    ).all()
    return {
        "patients": sorted(patients.values()),
        "assessments": sorted(map(repr, by_id.values())),
        "alerts": sorted(
            repr((by_id[a], patients[p], kind, open_)) for a, p, kind, open_ in alerts
        ),
        "audit": sorted(repr((action, patients.get(p))) for action, p in audit),
    }


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_staged_rows_hold_no_lock_stay_unseen_and_are_written_as_directly(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Item 7: ``stage`` copies the rows to write before the write lock is taken: meanwhile
    another connection writes (a check-in does not wait) and sees none of them, and the
    write then stores exactly what a write without staging stores (records, patients
    registered and known, alerts open and acknowledged, audit events), and no staged row
    outlives ``release``."""
    from data.csv_io import prepare_assessments_csv
    from tests.conftest import fresh_database_url

    engine = make_engine(fresh_database_url(backend, request, tmp_path))
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinics = [Clinic(name="Direct"), Clinic(name="Staged")]
            session.add_all(clinics)
            session.flush()
            systems = [Actor.system(clinic.id) for clinic in clinics]
            for system in systems:
                create_patient(session, actor=system, external_id="MRN-9", name="Known")
        recent = (NOW - dt.timedelta(days=2)).date().isoformat()
        lines = [
            # Out of patient order, a known patient after new ones, two instruments, a
            # historical and a recent positive safety item.
            f"MRN-3,phq9,2025-01-06,{PHQ9_ROW.split(',', 2)[2].replace('1,0,', '1,2,')}",
            f"MRN-9,{PHQ9_ROW}",
            f"MRN-1,{PHQ9_ROW}",
            f"MRN-3,phq9,{recent},1,1,1,1,1,1,1,1,3,",
            "MRN-1,phq9,2025-01-13,0,0,0,0,0,0,0,0,0,",
            "MRN-9,phq9,2025-01-13T08:30:00Z,3,3,3,3,3,3,3,3,0,",
        ]
        prepared = []
        for system in systems:
            with transaction(engine) as session:
                prepared.append(
                    prepare_assessments_csv(
                        session,
                        actor=system,
                        source=_csv(PHQ9_HEADER, *lines),
                        create_patients=True,
                        now=NOW,
                    )
                )
        direct, staged = prepared
        with transaction(engine) as session:
            staged.stage(session)
            staging = _temp_tables(session)
            # Staging holds no lock: another connection writes before the staging
            # transaction ends (a check-in would not wait), and sees nothing staged.
            with transaction(other, write=True) as meanwhile:
                create_patient(meanwhile, actor=systems[0], external_id="MRN-0", name="Meanwhile")
                assert _count(meanwhile, Assessment) == 0
        assert len(staging) == (1 if backend == "sqlite" else 0)

        with transaction(engine, write=True) as session:
            direct_result = direct.write(session)
        with transaction(engine, write=True) as session:
            staged_result = staged.write(session)
            # The staged rows were copied (the table of patient slots exists only then).
            assert len(_temp_tables(session)) == 2 * len(staging)
        with transaction(engine) as session:
            staged.release(session)
            assert _temp_tables(session) == []
            written = [_imported(session, system.clinic_id) for system in systems]

        assert staged_result == direct_result
        assert (staged_result.imported, staged_result.patients_created) == (6, 2)
        assert staged_result.alerts_created == 2 and staged_result.alerts_acknowledged == 1
        written[0]["patients"].remove("MRN-0")
        written[0]["audit"].remove(repr(("create_patient", "MRN-0")))
        assert written[1] == written[0]
        assert len(written[1]["assessments"]) == 6
    finally:
        other.dispose()
        engine.dispose()


def test_the_command_line_says_a_read_only_database_cannot_be_written() -> None:
    """Item 11: a database the user may not write is named as such, not as a traceback."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    # Outside pytest's own (owner-only) temporary folders, so that another user can reach it.
    base = Path(tempfile.mkdtemp(prefix="outcomes-readonly-"))
    folder = base / "database"
    try:
        folder.mkdir()
        url = f"sqlite:///{folder / 'outcomes.db'}"
        root = Path(__file__).parents[2]
        command = [sys.executable, "-c", "from data.cli import app; app()"]
        init = [*command, "init", "--database-url", url, "--clinic-name", "RO"]
        subprocess.run(init, check=True, cwd=root, capture_output=True)
        source = base / "a.csv"
        source.write_text(f"{PHQ9_HEADER}\nMRN-1,{PHQ9_ROW}\n")
        source.chmod(0o644)
        base.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(0o444)
        folder.chmod(0o555)
        as_another_user: list[str] = []
        if os.geteuid() == 0:  # root writes anything: run as nobody, as an operator would
            setpriv = shutil.which("setpriv")
            assert setpriv is not None, "setpriv (util-linux) runs this test as another user"
            as_another_user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        imported = [*command, "import", "assessments", str(source), "--create-patients"]
        ran = subprocess.run(
            [*as_another_user, *imported, "--database-url", url],
            cwd=root,
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(base)},
        )
    finally:
        if folder.exists():
            folder.chmod(0o755)
        shutil.rmtree(base)
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert "the database cannot be written" in ran.stderr and "read-only" in ran.stderr


def test_fhir_refusals_name_the_entry_and_element_but_not_the_values(
    session: Session, world: World
) -> None:
    """Item 10 for FHIR: outcomes.fhir quotes what it read; an import's refusal does not."""
    bundle = _one_response_bundle("Patient/MRN-fhir-1")
    good = bundle["entry"][0]
    entries = [json.loads(json.dumps(good)) for _ in range(5)]
    entries[0]["resource"]["status"] = "secret-status"
    entries[0]["fullUrl"] = "urn:uuid:secret-url"
    entries[1]["resource"]["authored"] = "2024-03-01T09:30:00"
    entries[2]["resource"]["authored"] = "2024-03"
    entries[3]["resource"]["item"][0]["answer"] = [{"valueDecimal": 1.25}]
    entries[4]["resource"]["item"][0]["answer"] = [
        {"valueCoding": {"system": "http://secret.example", "code": "SECRET-CODE"}}
    ]
    bundle["entry"] = entries
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle)
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [f"Bundle entry[{n}]" for n in range(5)]
    assert "status is not an R4 status" in problems[0]
    assert "authored has a time but no time zone" in problems[1]
    assert "authored gives only a year or a month" in problems[2]
    assert "valueDecimal is not a whole number" in problems[3]
    assert "the answer code is not a recognised answer" in problems[4]
    for secret in ("secret", "SECRET", "09:30", "2024-03", "1.25"):
        assert not [p for p in problems if secret in p], secret
