"""Shared fixtures: real SQLite and a real, throwaway PostgreSQL server; no mocks.

Every test that asks for ``session`` (or ``engine``) runs once per database. The PostgreSQL
server is started on first use by ``scripts/test-postgres.sh`` (or taken from
``OUTCOMES_TEST_POSTGRES_URL``) and stopped at the end of the run.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from data.access import Actor
from data.accounts import hash_password
from data.engine import make_engine
from data.models import Clinic, Patient, User
from data.schema import upgrade
from tests.builders import add_user

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgres")
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server for this test run (its ``postgres`` database)."""
    given = os.environ.get("OUTCOMES_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    folder = Path("/tmp") / f"outcomes-test-pg-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    script = ROOT / "scripts" / "test-postgres.sh"
    url = subprocess.run(
        [str(script), "start", str(folder), str(_free_port())],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([str(script), "stop", str(folder)], check=False, capture_output=True)


def fresh_database_url(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """An empty database of ``backend`` that nothing else uses."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'test-{uuid.uuid4().hex[:8]}.db'}"
    server = make_url(request.getfixturevalue("postgres_server"))
    name = f"outcomes_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each kind, shared by the tests of this run."""
    url = fresh_database_url(request.param, request, tmp_path_factory.mktemp("db"))
    database = make_engine(url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test.

    The code under test may use savepoints (``begin_nested``) as it would in production.
    """
    connection = engine.connect()
    outer = connection.begin()
    with Session(bind=connection, join_transaction_mode="create_savepoint") as test_session:
        yield test_session
    outer.rollback()
    connection.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("engine") == "postgres":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def password_hash() -> str:
    # argon2 is slow on purpose: hash once per run, not once per user.
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class World:
    """Two clinics with staff and patients, for access tests."""

    clinic_a: int
    clinic_b: int
    clinician_a: Actor
    admin_a: Actor
    patient_a1: Actor
    patient_a2: Actor
    clinician_b: Actor
    patient_b1: Actor

    @property
    def system_a(self) -> Actor:
        return Actor.system(self.clinic_a)


def _patient_actor(
    session: Session, clinic_id: int, username: str, clinician: User, password_hash: str
) -> Actor:
    user = add_user(session, clinic_id, username, "patient", password_hash)
    patient = Patient(
        clinic_id=clinic_id,
        external_id=f"MRN-{username}",
        name=username.replace("-", " ").title(),
        date_of_birth=dt.date(1980, 5, 17),
        assigned_clinician_id=clinician.id,
        user_id=user.id,
    )
    session.add(patient)
    session.flush()
    return Actor(user.id, clinic_id, "patient", user.username, patient_id=patient.id)


def _staff_actor(user: User) -> Actor:
    return Actor(user.id, user.clinic_id, user.role, user.username)  # type: ignore[arg-type]


@pytest.fixture
def world(session: Session, password_hash: str) -> World:
    clinic_a, clinic_b = Clinic(name="Clinic A"), Clinic(name="Clinic B")
    session.add_all([clinic_a, clinic_b])
    session.flush()
    clinician_a = add_user(session, clinic_a.id, "clinician-a", "clinician", password_hash)
    admin_a = add_user(session, clinic_a.id, "admin-a", "administrator", password_hash)
    clinician_b = add_user(session, clinic_b.id, "clinician-b", "clinician", password_hash)
    return World(
        clinic_a=clinic_a.id,
        clinic_b=clinic_b.id,
        clinician_a=_staff_actor(clinician_a),
        admin_a=_staff_actor(admin_a),
        patient_a1=_patient_actor(session, clinic_a.id, "patient-a1", clinician_a, password_hash),
        patient_a2=_patient_actor(session, clinic_a.id, "patient-a2", clinician_a, password_hash),
        clinician_b=_staff_actor(clinician_b),
        patient_b1=_patient_actor(session, clinic_b.id, "patient-b1", clinician_b, password_hash),
    )
