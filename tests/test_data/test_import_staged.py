"""The two halves of an import (issue 9, item 7): checked and staged outside the write lock,
checked again and written inside it, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.engine import make_engine, transaction
from data.errors import InvalidInput
from data.interchange.csv_assessments import import_assessments_csv
from data.models import Assessment, AuditEvent, Clinic, Patient, SafetyAlert
from data.records.patients import create_patient
from data.schema import upgrade
from tests.test_data.builders import NOW, PHQ9_HEADER, PHQ9_ROW, _count, _csv


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
    from data.interchange.csv_assessments import prepare_assessments_csv
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
    from data.interchange.csv_assessments import prepare_assessments_csv
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
