"""One writer per kind of record: safety alerts, patients and assessments (data/records/)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.models import SafetyAlert
from data.records.alerts import (
    HISTORICAL_ALERT_AGE,
    HISTORICAL_ALERT_NOTE,
    alerts_for_answers,
)
from tests.conftest import World

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DATA = Path(__file__).resolve().parents[2] / "data"


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
    writers = []
    for path in DATA.rglob("*.py"):
        if path.name in ("alerts.py", "models.py") or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"SafetyAlert\(|insert\(SafetyAlert|_bulk_insert\([^)]*SafetyAlert", text):
            writers.append(path.name)
    assert writers == []


def test_patients_are_written_by_one_writer_but_the_demo() -> None:
    """data/records/patients.py registers patients for the app and for imports. The demo
    clinic still writes its synthetic patients in bulk itself (issue #10 moves it)."""
    writers = []
    for path in DATA.rglob("*.py"):
        if path.name in ("patients.py", "models.py") or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bPatient\(|insert\(Patient\b|_bulk_insert\([^)]*\bPatient\b", text):
            writers.append(path.name)
    assert writers == ["demo.py"]


def test_assessments_are_written_by_one_writer_but_the_demo() -> None:
    """data/records/assessments.py inserts every assessment: a check-in's, an import's (bulk,
    or copied from the staged rows). The demo clinic still writes its synthetic ones itself
    (issue #10 switches it to write_assessments); nothing else may."""
    writers = []
    for path in DATA.rglob("*.py"):
        if path.name == "models.py" or "migrations" in path.parts:
            continue
        if path.relative_to(DATA).as_posix() == "records/assessments.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(
            r"\bAssessment\(|insert\(Assessment\b|_bulk_insert\([^)]*\bAssessment\b"
            r"|Assessment\.__tablename__|INSERT INTO assessment\b|COPY assessment\b",
            text,
        ):
            writers.append(path.relative_to(DATA).as_posix())
    assert [w for w in writers if w != "demo.py" and not w.startswith("demo/")] == []
