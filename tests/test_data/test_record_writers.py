"""One writer per kind of record (data/records/): alerts, patients, assessments, infusions."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.models import Assessment, AuditEvent, Patient, SafetyAlert
from data.records.alerts import (
    HISTORICAL_ALERT_AGE,
    HISTORICAL_ALERT_NOTE,
    alerts_for_answers,
)
from data.records.assessments import AssessmentRows, write_assessments
from data.records.patients import NewPatient, register_patients
from tests.builders import add_user
from tests.conftest import World

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DATA = Path(__file__).resolve().parents[2] / "data"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _writers_of(model: str, table: str, writer: str) -> list[str]:
    """Modules of data/ other than ``writer`` (a path below data/) that construct or insert
    rows of ``model`` (its ORM class, Core insert, bulk insert, or SQL on ``table``)."""
    pattern = re.compile(
        rf"\b{model}\(|insert\({model}\b|bulk_insert\([^)]*\b{model}\b"
        rf"|{model}\.__tablename__|INSERT INTO {table}\b|COPY {table}\b"
    )
    found = []
    for path in DATA.rglob("*.py"):
        place = path.relative_to(DATA).as_posix()
        if place in (writer, "models.py") or "migrations" in path.parts:
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            found.append(place)
    return found


def test_a_check_in_reports_the_ids_of_the_alerts_it_stored(session: Session, world: World) -> None:
    answers = {f"phq9_{i}": 1 for i in range(1, 10)}
    stored = submit_checkin(
        session,
        actor=world.patient_a1,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="phq9",
        answers=answers,
    )
    rows = session.scalars(
        select(SafetyAlert).where(SafetyAlert.assessment_id == stored.assessment_id)
    ).all()
    assert stored.alert_ids == tuple(row.id for row in rows) and len(rows) == 1
    assert rows[0].kind == "phq9_item9_positive" and rows[0].acknowledged_at is None


def test_late_answers_older_than_the_limit_arrive_as_acknowledged_history() -> None:
    recent = NOW - HISTORICAL_ALERT_AGE + dt.timedelta(hours=1)
    old = NOW - HISTORICAL_ALERT_AGE - dt.timedelta(hours=1)
    alerts = alerts_for_answers(
        clinic_id=1,
        answers=[(10, 5, recent, ("phq9_item9_positive",)), (11, 5, old, ("a", "b"))],
        now=NOW,
    )
    assert [(a.assessment_id, a.kind, a.open) for a in alerts] == [
        (10, "phq9_item9_positive", True),
        (11, "a", False),
        (11, "b", False),
    ]
    assert {a.note for a in alerts if not a.open} == {HISTORICAL_ALERT_NOTE}
    assert all(a.acknowledged_by_id is None and a.created_at == NOW for a in alerts)


def test_no_other_module_writes_safety_alerts() -> None:
    """The one writer: no module of data/ but records/alerts.py constructs or inserts them."""
    assert _writers_of("SafetyAlert", "safety_alert", "records/alerts.py") == []


def test_patients_are_written_by_one_writer() -> None:
    """data/records/patients.py registers patients for the app, the imports and the demo
    clinic (issue #10: the demo wrote its synthetic patients in bulk itself)."""
    assert _writers_of("Patient", "patient", "records/patients.py") == []


def test_a_registered_patient_keeps_their_sign_in_and_the_date_the_clinic_first_knew_them(
    session: Session, world: World, password_hash: str
) -> None:
    """What the demo clinic needs of the one writer: its patient account is linked at
    registration, and its synthetic patients are dated back into its history. Without a
    date a patient is known from the time of writing; either way, one audit event each."""
    account = add_user(session, world.clinic_a, "patient-new", "patient", password_hash)
    known_since = dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.UTC)
    ids = register_patients(
        session,
        actor=world.system_a,
        patients=[
            NewPatient("MRN-NEW-1", "New Patient", user_id=account.id, created_at=known_since),
            NewPatient("MRN-NEW-2", "Other Patient"),
        ],
    )
    stored = {
        row.external_id: row
        for row in session.scalars(select(Patient).where(Patient.id.in_(ids.values())))
    }
    assert (stored["MRN-NEW-1"].user_id, stored["MRN-NEW-1"].created_at) == (
        account.id,
        known_since,
    )
    assert stored["MRN-NEW-2"].user_id is None
    assert stored["MRN-NEW-2"].created_at > known_since + dt.timedelta(days=300)
    audited = session.scalars(
        select(AuditEvent.patient_id).where(AuditEvent.action == "create_patient")
    ).all()
    assert sorted(audited) == sorted(ids.values())


def test_assessments_are_written_by_one_writer() -> None:
    """data/records/assessments.py inserts every assessment: a check-in's, an import's (bulk,
    or copied from the staged rows) and the demo clinic's synthetic ones; nothing else may."""
    assert _writers_of("Assessment", "assessment", "records/assessments.py") == []


def test_infusions_are_written_by_one_writer() -> None:
    """data/records/infusions.py inserts every infusion: one recorded in the app, an import's,
    the demo clinic's; nothing else may."""
    assert _writers_of("Infusion", "infusion", "records/infusions.py") == []


def test_records_written_at_the_time_they_describe_are_dated_when_answered(
    session: Session, world: World
) -> None:
    """``created_at=None`` (the demo clinic's synthetic check-ins) dates each record when it
    was answered; a given time (an import's) dates them all then."""
    answered = [dt.datetime(2025, 5, day, 9, 30, tzinfo=dt.UTC) for day in (5, 12)]
    micros = [(moment - EPOCH) // dt.timedelta(microseconds=1) for moment in answered]
    answers = json.dumps({f"phq9_{i}": 1 for i in range(1, 10)})
    patient = world.patient_a1.patient_id or 0

    def write(created_at: dt.datetime | None) -> list[int]:
        return write_assessments(
            session,
            AssessmentRows(
                patient_id=[patient, patient],
                instrument=["phq9", "phq9"],
                administered_at=micros,
                answers=[answers, answers],
                total=[9, 9],
                severity=["mild", "mild"],
                flags=[json.dumps(["phq9_item9_positive"])] * 2,
            ),
            clinic_id=world.clinic_a,
            source="patient",
            entered_by_id=None,
            created_at=created_at,
        )

    def stored(ids: list[int]) -> list[tuple[dt.datetime, dt.datetime]]:
        rows = session.execute(
            select(Assessment.administered_at, Assessment.created_at)
            .where(Assessment.id.in_(ids))
            .order_by(Assessment.id)
        ).all()
        return [(as_utc(given), as_utc(created)) for given, created in rows]

    assert stored(write(None)) == [(moment, moment) for moment in answered]
    assert stored(write(NOW)) == [(moment, NOW) for moment in answered]


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite gives it back without a zone)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
