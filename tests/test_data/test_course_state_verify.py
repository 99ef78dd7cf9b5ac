"""`outcomes verify` recomputes each clinic's course state and reports drift (issue 13).

Run through typer's CliRunner against real SQLite and PostgreSQL databases made by
``outcomes init`` and an import. A drift is made on purpose, by an UPDATE of stored rows as a
faulty writer or a hand edit would leave them: verify must report it (counts by column, the
first differences by patient id, exit status 1) and ``--repair`` must rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner, Result

from data.cli import app
from data.engine import make_engine
from data.models import CourseState, Patient
from tests.conftest import fresh_database_url

PHQ9_HEADER = "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 10))
ROWS = (
    "MRN-2001,phq9,2025-01-06,3,3,2,2,2,2,2,1,0",
    "MRN-2001,phq9,2025-01-20,1,1,1,1,1,1,0,0,0",
    "MRN-2002,phq9,2025-01-07,2,2,2,2,2,2,2,2,1",
)
INFUSIONS = (
    "patient_id,administered_at,route,dose_mg_per_kg,duration_minutes\n"
    "MRN-2001,2025-01-05T15:00Z,iv,0.5,40\n"
    "MRN-2002,2025-01-06T15:00Z,iv,0.5,40\n"
)

runner = CliRunner()


def run(url: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--database-url", url], catch_exceptions=False)


def execute(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def patient_id(url: str, external_id: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(select(Patient.id).where(Patient.external_id == external_id)) or 0
            )
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def clinic_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clinic made by the command line: init, then assessments and infusions imported."""
    url = fresh_database_url(request.param, request, tmp_path)
    assert run(url, "init", "--clinic-name", "Verify Clinic").exit_code == 0
    assessments = tmp_path / "assessments.csv"
    assessments.write_text("\n".join((PHQ9_HEADER, *ROWS)) + "\n", encoding="utf-8")
    infusions = tmp_path / "infusions.csv"
    infusions.write_text(INFUSIONS, encoding="utf-8")
    for kind, path in (("assessments", assessments), ("infusions", infusions)):
        imported = run(url, "import", kind, str(path), "--create-patients")
        assert imported.exit_code == 0, imported.output
    yield url


def test_verify_finds_no_drift_after_writes_through_the_command_line(clinic_url: str) -> None:
    result = run(clinic_url, "verify")

    assert result.exit_code == 0, result.output
    assert "course state: clinic 1 (Verify Clinic): 2 patient(s), no drift" in result.stdout
    assert result.stdout.rstrip().endswith("the course state is right")


def test_verify_reports_a_drift_made_on_purpose_and_repair_rebuilds_it(clinic_url: str) -> None:
    first = patient_id(clinic_url, "MRN-2001")
    execute(
        clinic_url,
        f"UPDATE {CourseState.__tablename__} SET latest_total = latest_total + 5 "
        f"WHERE patient_id = {first} AND instrument = 'phq9'",
    )
    execute(clinic_url, f"UPDATE patient_state SET open_alerts = 7 WHERE patient_id = {first}")

    found = run(clinic_url, "verify")

    assert found.exit_code == 1
    assert "2 patient(s), 2 difference(s) from the records" in found.stdout
    assert "  course_state.latest_total: 1" in found.stdout
    assert "  patient_state.open_alerts: 1" in found.stdout
    assert f"patient {first}, -, open_alerts: stored 7, expected 0" in found.stdout
    assert f"patient {first}, phq9, latest_total: stored 11, expected 6" in found.stdout
    assert "MRN-" not in found.output  # ids for the operator, never the clinic's patient ids
    assert "outcomes verify --repair" in found.stderr
    assert run(clinic_url, "verify").exit_code == 1  # verify alone changes nothing

    repaired = run(clinic_url, "verify", "--repair")

    assert repaired.exit_code == 0, repaired.output
    assert "repaired: rebuilt the course state of clinic 1 (Verify Clinic, 2 patient(s))" in (
        repaired.stdout
    )
    again = run(clinic_url, "verify")
    assert again.exit_code == 0, again.output
    assert "no drift" in again.stdout


def test_verify_finds_a_missing_row_and_checks_one_clinic_when_asked(clinic_url: str) -> None:
    second = patient_id(clinic_url, "MRN-2002")
    execute(clinic_url, f"DELETE FROM patient_state WHERE patient_id = {second}")

    found = run(clinic_url, "verify", "--clinic", "Verify Clinic")

    assert found.exit_code == 1
    assert f"patient {second}, -, (row): stored missing, expected present" in found.stdout
    unknown = run(clinic_url, "verify", "--clinic", "No Such Clinic")
    assert unknown.exit_code == 1 and "no clinic with that id or name" in unknown.stderr
