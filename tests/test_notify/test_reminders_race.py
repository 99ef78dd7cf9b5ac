"""Two workers run the reminders step at once: each reminder is queued once (issue 14).

Real concurrent transactions on a database of its own (they commit): on PostgreSQL both
passes read, issue links and insert together, and the second waits on the first's dedupe
keys and then inserts nothing; on SQLite the write lock runs them one after the other.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from data.engine import make_engine, transaction
from data.models import Clinic, ClinicSettings, Patient
from data.notify.models import OutboxMessage, PlannedInfusion
from data.notify.reminders import queue_due_reminders
from data.schema import upgrade
from tests.conftest import BACKENDS, fresh_database_url

PATIENTS = 20


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own: the workers commit, and the suite's shared one stays clean."""
    database = make_engine(fresh_database_url(request.param, request, tmp_path))
    upgrade(database)
    yield database
    database.dispose()


def test_two_workers_at_once_queue_each_reminder_once(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    day = now.date() + dt.timedelta(days=8)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name=f"Race {uuid.uuid4().hex[:6]}")
        session.add(clinic)
        session.flush()
        # UTC and no quiet hours: the pass below is at noon anyway.
        session.add(
            ClinicSettings(clinic_id=clinic.id, reminders_on_since=now, quiet_hours_end="21:00")
        )
        patients = [
            Patient(
                clinic_id=clinic.id,
                external_id=f"MRN-{n}",
                name=f"Racer {n}",
                email=f"racer{n}@patients.example",
                phone=f"+1202555{n:04d}",
            )
            for n in range(PATIENTS)
        ]
        session.add_all(patients)
        session.flush()
        session.execute(
            insert(PlannedInfusion),
            [
                {
                    "clinic_id": clinic.id,
                    "patient_id": p.id,
                    "planned_at": dt.datetime.combine(day, dt.time(10), dt.UTC),
                }
                for p in patients
            ],
        )
    at = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(12), dt.UTC)
    start = threading.Barrier(2)
    queued: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            with transaction(engine, write=True) as session:
                queued.append(queue_due_reminders(session, at))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(queued) == 2 and sum(queued) == 2 * PATIENTS  # one e-mail and one text each
    with transaction(engine) as session:
        keys = session.scalars(select(OutboxMessage.dedupe_key)).all()
        assert len(keys) == len(set(keys)) == 2 * PATIENTS
        recipients = session.scalar(select(func.count(OutboxMessage.recipient.distinct())))
        assert recipients == 2 * PATIENTS
