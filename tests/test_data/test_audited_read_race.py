"""An audited read while another connection writes (issue 13).

Every read of a patient's records adds an audit event. On SQLite a read transaction starts
``BEGIN DEFERRED``: its first SELECT takes a snapshot, and its audit row later asks to upgrade
that snapshot to a write. If another connection committed in between, SQLite cannot upgrade
a stale snapshot and refuses at once (``SQLITE_BUSY_SNAPSHOT``, "database is locked"),
without waiting: the page said the records could not be reached. These tests run the race
on a real SQLite file with two engines (two connections), and the same reads on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from data.access import Actor
from data.audit import Action, stored_action
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import AuditEvent, Clinic, Patient
from data.records.patient_record import patient_assessments, patient_infusions
from data.schema import upgrade
from tests.builders import add_user
from tests.conftest import fresh_database_url

ANSWERS = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}


def _clinic(engine: Engine) -> tuple[Actor, Actor]:
    """A clinician and one patient of theirs, committed."""
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Race clinic")
        session.add(clinic)
        session.flush()
        staff = add_user(session, clinic.id, "race-clinician", "clinician", "!unusable")
        user = add_user(session, clinic.id, "race-patient", "patient", "!unusable")
        patient = Patient(
            clinic_id=clinic.id,
            external_id="MRN-RACE",
            name="Race Patient",
            date_of_birth=dt.date(1980, 1, 1),
            assigned_clinician_id=staff.id,
            user_id=user.id,
        )
        session.add(patient)
        session.flush()
        return (
            Actor(staff.id, clinic.id, "clinician", staff.username),
            Actor(user.id, clinic.id, "patient", user.username, patient_id=patient.id),
        )


def _views(engine: Engine, actor: Actor, action: Action) -> int:
    with transaction(engine) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    AuditEvent.actor_id == actor.user_id,
                    AuditEvent.action == stored_action(action),
                )
            )
            or 0
        )


def _check_in(engine: Engine, patient: Actor) -> None:
    with transaction(engine, write=True) as session:
        submit_checkin(
            session,
            actor=patient,
            patient_id=patient.patient_id or 0,
            instrument="phq9",
            answers=ANSWERS,
        )


def test_a_read_survives_a_check_in_committed_while_it_reads(tmp_path: Path) -> None:
    """The clinician's page reads; the patient's check-in commits from another connection
    before the page's transaction ends; the page's read still succeeds and its view is
    recorded (once per read)."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    page_engine, checkin_engine = make_engine(url), make_engine(url)
    upgrade(page_engine)
    clinician, patient = _clinic(page_engine)
    patient_id = patient.patient_id or 0
    with transaction(page_engine) as session:
        before = patient_assessments(session, actor=clinician, patient_id=patient_id)
        _check_in(checkin_engine, patient)  # another connection commits meanwhile
        infusions = patient_infusions(session, actor=clinician, patient_id=patient_id)
    # The page saw its own snapshot: the check-in is there on the next read, not this one.
    assert before.empty and infusions.empty
    with transaction(page_engine) as session:
        after = patient_assessments(session, actor=clinician, patient_id=patient_id)
    assert len(after) == 1
    assert _views(page_engine, clinician, Action.VIEW_ASSESSMENTS) == 2
    assert _views(page_engine, clinician, Action.VIEW_INFUSIONS) == 1
    page_engine.dispose()
    checkin_engine.dispose()


def test_a_read_that_fails_records_no_view(tmp_path: Path) -> None:
    """A read transaction that ends in an error records nothing, as before: the records it
    read were never shown."""
    url = f"sqlite:///{tmp_path / 'failed.db'}"
    engine = make_engine(url)
    upgrade(engine)
    clinician, patient = _clinic(engine)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        patient_assessments(session, actor=clinician, patient_id=patient.patient_id or 0)
        raise RuntimeError("the page failed after reading")
    assert _views(engine, clinician, Action.VIEW_ASSESSMENTS) == 0
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_reads_of_one_transaction_are_recorded_with_it_on_either_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each audited read is one event, whichever database, also with a check-in committed
    by another connection while the read transaction is open."""
    url = fresh_database_url(backend, request, tmp_path)
    engine, other = make_engine(url), make_engine(url)
    upgrade(engine)
    clinician, patient = _clinic(engine)
    patient_id = patient.patient_id or 0
    with transaction(engine) as session:
        patient_assessments(session, actor=clinician, patient_id=patient_id)
        _check_in(other, patient)
        patient_assessments(session, actor=clinician, patient_id=patient_id)
    assert _views(engine, clinician, Action.VIEW_ASSESSMENTS) == 2
    engine.dispose()
    other.dispose()
