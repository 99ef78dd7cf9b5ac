"""One check-in link submitted twice at once (two tabs, a double tap): one check-in is stored.

Real concurrent transactions on SQLite and PostgreSQL: each opens the link and submits in its
own transaction, started together. The link's row is locked by the first (PostgreSQL) or the
write lock serialises them (SQLite); the second finds the link used and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.errors import AccessDenied
from data.models import Assessment, Clinic, Patient
from data.notify.links import OpenedLink, issue_link, open_link
from data.schema import upgrade
from tests.conftest import BACKENDS, fresh_database_url

SECRET = b"a test key that is long enough for links, 48 chars"
PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own: this test commits, and the suite's shared one must stay clean
    (the access matrix counts every row a refused call might have written)."""
    database = make_engine(fresh_database_url(request.param, request, tmp_path))
    upgrade(database)
    yield database
    database.dispose()


def test_two_submissions_of_one_link_at_once_store_one_checkin(engine: Engine) -> None:
    with transaction(engine, write=True) as session:
        clinic = Clinic(name=f"Race {uuid.uuid4().hex[:6]}")
        session.add(clinic)
        session.flush()
        patient = Patient(clinic_id=clinic.id, external_id="MRN-race", name="Rae Race")
        session.add(patient)
        session.flush()
        patient_id = patient.id
        link = issue_link(
            session,
            clinic_id=clinic.id,
            patient_id=patient_id,
            purpose="checkin",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            instruments=("phq9",),
            secret=SECRET,
        )
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(tab: int) -> None:
        with transaction(engine, write=True) as session:
            opened = open_link(session, token=link.token, secret=SECRET)
            assert isinstance(opened, OpenedLink)
        start.wait()
        try:
            with transaction(engine, write=True) as session:
                submit_checkin(
                    session,
                    actor=opened.actor,
                    patient_id=patient_id,
                    instrument="phq9",
                    answers=PHQ9,
                    idempotency_key=f"race-{uuid.uuid4().hex}-{tab}",
                )
        except AccessDenied as denied:
            outcomes.append(f"refused: {denied}")
        else:
            outcomes.append("stored")

    tabs = [threading.Thread(target=submit, args=(n,)) for n in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(timeout=60)
    assert sorted(outcomes) == ["refused: this check-in link has been used already", "stored"]
    with transaction(engine) as session:
        stored = session.scalar(
            select(func.count()).select_from(Assessment).where(Assessment.patient_id == patient_id)
        )
    assert stored == 1
