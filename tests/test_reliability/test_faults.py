"""Faults: a process killed mid-write, backup and restore, the database going away.

* **SIGKILL** in the middle of a 200,000-row assessments CSV import and of a 100,000-row
  infusions CSV import (after their first rows were written inside the transaction) and at
  a random moment of a loop of check-ins, on SQLite and PostgreSQL: afterwards the database
  passes its integrity checks, holds all or nothing of the import and of each check-in
  (answers, alert, audit event together), and takes writes; the killed infusions import
  then runs to the end and stores every row exactly once. An import killed once its rows are
  staged (SQLite: copied to a TEMP table before the write lock), and once its write has begun,
  leaves nothing visible and nothing behind; ``outcomes import`` then stores every row.
* **Backup then restore** into an empty database gives identical rows in every table:
  SQLite through :func:`data.backup.backup` and the online backup API; PostgreSQL through the
  ``pg_dump`` command :func:`data.backup.backup` builds, restored with ``pg_restore``.
* **The PostgreSQL server stopped** (a dedicated throwaway server, not the shared one): a
  check-in raises a catchable "unavailable" error within seconds; the check-in page shows a
  clear message, no traceback, keeps the patient's answers, and saves them once the server
  is back.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.backup import backup
from data.checkin import submit_checkin
from data.engine import database_unavailable, make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import ROUTES, Assessment, AuditEvent, Base, Infusion, Patient, SafetyAlert
from data.schema import upgrade
from outcomes import get_instrument
from outcomes.instruments.safety import safety_alert_kinds
from tests.conftest import ROOT, _free_port, fresh_database_url
from tests.test_dashboard.conftest import APP, signed_in

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
IMPORT_ROWS = 200_000
# The infusions importer validates row by row, then writes in chunks of 20,000
# (data.interchange.bulk.WRITE_CHUNK): the second chunk leaves over a second of writing after the
# first one is reported, so the kill lands mid-write, and validation stays a few seconds.
INFUSION_ROWS = 40_000
KILL_PATIENTS = 800
ITEMS = [f"phq9_{i}" for i in range(1, 10)]

# The children run from the repository root, so `data` is the project's package.
IMPORT_CHILD = """
import sys
import importlib
from data.access import Actor
from data.engine import make_engine, transaction

url, clinic_id, source, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
importer = getattr(
    importlib.import_module(f"data.interchange.csv_{kind}"), f"import_{kind}_csv"
)

def progress(done, total):
    if done:
        print("writing", done, flush=True)

with transaction(make_engine(url), write=True) as session:
    importer(
        session, actor=Actor.system(clinic_id), source=source, create_patients=True,
        progress=progress,
    )
print("committed", flush=True)
"""

# What `outcomes import` does (data/cli/records.py), with a pause after the staging: check, stage
# (SQLite: rows copied to a TEMP table, no write lock), then the one write transaction.
STAGED_IMPORT_CHILD = """
import sys, time
from data.interchange import csv_assessments
from data.access import Actor
from data.engine import make_engine, transaction

url, clinic_id, source, moment = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
engine = make_engine(url)
with transaction(engine) as session:
    prepared = csv_assessments.prepare_assessments_csv(
        session, actor=Actor.system(clinic_id), source=source, create_patients=True
    )
    prepared.stage(session)
print("staged", flush=True)
if moment == "staged":
    time.sleep(600)

def progress(done, total):
    print("writing", done, flush=True)

with transaction(engine, write=True) as session:
    prepared.write(session, progress=progress)
print("committed", flush=True)
"""

CHECKIN_CHILD = """
import datetime as dt
import sys
from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction

url, user_id, clinic_id, username, patient_id = sys.argv[1:6]
actor = Actor(int(user_id), int(clinic_id), "patient", username, int(patient_id))
engine = make_engine(url)
start = dt.datetime.now(dt.UTC)
for n in range(100_000):
    answers = {f"phq9_{i}": n % 4 for i in range(1, 10)} | {"phq9_9": 1 if n % 3 == 0 else 0}
    with transaction(engine, write=True) as session:
        # A week apart, going back: one check-in per window (issue 12).
        submit_checkin(
            session, actor=actor, patient_id=actor.patient_id, instrument="phq9",
            answers=answers, idempotency_key=f"loop-{n}",
            administered_at=start - dt.timedelta(days=7 * (n + 1)),
        )
    print(n, flush=True)
"""


def _child(code: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert process.returncode == -signal.SIGKILL


ImportKind = Literal["assessments", "infusions"]


def _kill_mid_import(url: str, clinic_id: int, source: Path, kind: ImportKind) -> None:
    """Import ``source`` in a child process and SIGKILL it once its first rows are written."""
    child = _child(IMPORT_CHILD, url, clinic_id, source, kind)
    assert child.stdout is not None
    line = child.stdout.readline()  # blocks until the first rows are written
    _kill(child)
    assert line.startswith("writing"), child.stderr.read() if child.stderr else line
    assert "committed" not in child.stdout.read()


def _import_to_the_end(url: str, clinic_id: int, source: Path, kind: ImportKind) -> None:
    # The same child as the killed import: the re-run is what an operator would do.
    child = _child(IMPORT_CHILD, url, clinic_id, source, kind)
    out, err = child.communicate(timeout=600)
    assert child.returncode == 0, err
    assert out.splitlines()[-1] == "committed", out


def _consistency_problems(engine: Engine, clinic_id: int) -> list[str]:
    """Integrity of the file (SQLite), foreign keys, and every stored answer's alert."""
    problems: list[str] = []
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            check = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            if check != ["ok"]:
                problems.append(f"integrity_check: {check}")
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                problems.append(f"foreign_key_check: {broken[:5]}")
        else:
            # PostgreSQL enforces foreign keys itself; check the indexes are usable.
            connection.execute(text("SELECT count(*) FROM assessment WHERE id > 0")).scalar()
    with transaction(engine) as session:
        rows = session.execute(
            select(Assessment.id, Assessment.instrument, Assessment.flags).where(
                Assessment.clinic_id == clinic_id
            )
        ).all()
        alerted = set(
            session.scalars(
                select(SafetyAlert.assessment_id).where(SafetyAlert.clinic_id == clinic_id)
            )
        )
    flagged = {
        i
        for i, instrument, flags in rows
        if safety_alert_kinds(get_instrument(instrument), tuple(flags))
    }
    if flagged != alerted:
        problems.append(
            f"{len(flagged - alerted)} flagged answers without an alert, "
            f"{len(alerted - flagged)} alerts without a flagged answer"
        )
    return problems


def _count(engine: Engine, model: type[Base], clinic_id: int) -> int:
    with transaction(engine) as session:
        column = model.clinic_id  # type: ignore[attr-defined]
        return int(
            session.scalar(select(func.count()).select_from(model).where(column == clinic_id)) or 0
        )


def _still_writable(engine: Engine, actor: Actor) -> None:
    # Stored for the patient by the clinic's system, dated years back: the patient's own
    # check-ins are one per window (issue 12), and today's window stays theirs.
    with transaction(engine, write=True) as session:
        result = submit_checkin(
            session,
            actor=Actor.system(actor.clinic_id),
            patient_id=actor.patient_id or 0,
            instrument="phq9",
            answers={key: 1 for key in ITEMS},
            idempotency_key=f"after-{uuid.uuid4().hex}",
            administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3650),
            source="patient",
        )
    assert not result.duplicate


def _assessments_csv(path: Path, rows: int) -> None:
    """``rows`` weekly PHQ-9 administrations of 2,000 patients, 5% with item 9 above 0."""
    rng = np.random.default_rng(7)
    patients = 2_000
    weeks = rows // patients
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat([f"KILL-{p:05d}" for p in range(patients)], weeks),
            "instrument": "phq9",
            "administered_at": np.tile(
                [(dt.date(2021, 1, 4) + dt.timedelta(weeks=w)).isoformat() for w in range(weeks)],
                patients,
            ),
        }
    )
    for key in ITEMS[:-1]:
        frame[key] = rng.integers(0, 4, len(frame))
    frame["phq9_9"] = np.where(rng.random(len(frame)) < 0.05, 1, 0)
    frame.to_csv(path, index=False)


def _infusions_csv(path: Path, rows: int) -> set[tuple[str, dt.datetime]]:
    """``rows`` infusions of 2,000 patients, twice a week; returns their (patient, time) keys.

    Every value is inside data.infusions.LIMITS: one refused row would make the importer
    write nothing, and the kill would then not land mid-write.
    """
    rng = np.random.default_rng(11)
    per_patient = rows // KILL_PATIENTS
    start = dt.datetime(2021, 1, 4, 15, 0, tzinfo=dt.UTC)
    times = [start + dt.timedelta(days=3.5 * n) for n in range(per_patient)]
    patients = [f"KILL-{p:05d}" for p in range(KILL_PATIENTS)]
    n = per_patient * KILL_PATIENTS
    route = rng.choice(ROUTES, n)
    by_weight = np.isin(route, ("iv", "im"))
    systolic = rng.integers(95, 180, (3, n))
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat(patients, per_patient),
            "administered_at": np.tile([t.isoformat() for t in times], KILL_PATIENTS),
            "route": route,
            # Esketamine and oral doses are fixed in mg, IV and IM ones by weight.
            "dose_mg_per_kg": np.where(by_weight, rng.choice([0.5, 0.75, 1.0], n), np.nan),
            "dose_mg": np.where(by_weight, np.nan, rng.choice([56.0, 84.0], n)),
            "duration_minutes": rng.integers(20, 60, n),
            "spo2_min": rng.integers(90, 101, n),
            "dissociation_cadss6": rng.integers(0, 25, n),
            "sedation_moaas": rng.integers(3, 6, n),
            "side_effects": rng.choice(["", "nausea", "nausea;dizziness", "headache"], n),
        }
    )
    for k, moment in enumerate(("before", "40min", "discharge")):
        frame[f"systolic_{moment}"] = systolic[k]
        # Always below the systolic, as problems_with demands.
        frame[f"diastolic_{moment}"] = systolic[k] - rng.integers(30, 60, n)
        frame[f"heart_rate_{moment}"] = rng.integers(50, 110, n)
    frame.to_csv(path, index=False)
    return {(patient, time) for patient in patients for time in times}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_import_leaves_nothing_of_itself(
    backend: str, bench_load: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, request, tmp_path)
    engine = make_engine(url)
    actor = bench_load.create_clinic(engine, 1)[0]
    source = tmp_path / "big.csv"
    _assessments_csv(source, IMPORT_ROWS)

    _kill_mid_import(url, actor.clinic_id, source, "assessments")

    engine.dispose()  # a fresh engine: as the app would be after a restart
    engine = make_engine(url)
    assert _consistency_problems(engine, actor.clinic_id) == []
    assert _count(engine, Assessment, actor.clinic_id) == 0  # all or nothing: nothing
    assert _count(engine, SafetyAlert, actor.clinic_id) == 0
    _still_writable(engine, actor)
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_import_killed_after_staging_leaves_nothing_and_the_next_one_imports_whole(
    backend: str, bench_load: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Item 7: killed once its rows are staged, and again once the write has begun, an
    import leaves nothing visible and nothing staged behind (SQLite's TEMP table goes with
    the connection); ``outcomes import`` then stores every row once."""
    url = fresh_database_url(backend, request, tmp_path)
    engine = make_engine(url)
    actor = bench_load.create_clinic(engine, 1)[0]
    engine.dispose()
    source = tmp_path / "big.csv"
    _assessments_csv(source, IMPORT_ROWS)
    files = sorted(path.name for path in tmp_path.iterdir())

    for moment, awaited in (("staged", "staged"), ("publishing", "writing 0")):
        child = _child(STAGED_IMPORT_CHILD, url, actor.clinic_id, source, moment)
        assert child.stdout is not None
        lines = [child.stdout.readline()]  # blocks until the rows are staged
        if moment == "publishing":
            lines.append(child.stdout.readline())  # ... and until the write has begun
        _kill(child)
        assert lines[-1].strip() == awaited, child.stderr.read() if child.stderr else lines
        assert "committed" not in child.stdout.read()

        engine = make_engine(url)  # a fresh engine: as the app would be after a restart
        assert _consistency_problems(engine, actor.clinic_id) == []
        assert _count(engine, Assessment, actor.clinic_id) == 0
        assert _count(engine, SafetyAlert, actor.clinic_id) == 0
        assert _count(engine, Patient, actor.clinic_id) == 1  # none registered either
        engine.dispose()
        # Nothing staged outlives the process: no file beside the database but its own.
        left = {path.name for path in tmp_path.iterdir()} - set(files)
        assert left <= {f"{name}{end}" for name in files for end in ("-wal", "-shm")}, left

    command = [sys.executable, "-c", "from data.cli import app; app()", "import", "assessments"]
    command += [str(source), "--create-patients", "--clinic", str(actor.clinic_id)]
    done = subprocess.run(
        [*command, "--database-url", url], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    assert _consistency_problems(engine, actor.clinic_id) == []
    assert _count(engine, Assessment, actor.clinic_id) == IMPORT_ROWS
    with transaction(engine) as session:
        keys = session.execute(
            select(func.count(func.distinct(Assessment.patient_id)), func.count()).where(
                Assessment.clinic_id == actor.clinic_id, Assessment.source == "import"
            )
        ).one()
    assert tuple(keys) == (2_000, IMPORT_ROWS)
    _still_writable(engine, actor)
    engine.dispose()


def _imported_infusions(engine: Engine, clinic_id: int) -> list[tuple[str, dt.datetime]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(Patient.external_id, Infusion.administered_at)
            .join(Patient, Patient.id == Infusion.patient_id)
            .where(Infusion.clinic_id == clinic_id, Patient.external_id.like("KILL-%"))
        ).all()
    return [(external_id, moment) for external_id, moment in rows]


def _import_audits(engine: Engine, clinic_id: int) -> int:
    with transaction(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.clinic_id == clinic_id, AuditEvent.action == "import_infusions")
            )
            or 0
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_infusions_import_leaves_nothing_then_imports_whole(
    backend: str, bench_load: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, request, tmp_path)
    engine = make_engine(url)
    actor = bench_load.create_clinic(engine, 1)[0]
    # A record from before the import, so "as before" is not merely "empty".
    with transaction(engine, write=True) as session:
        record_infusion(
            session,
            actor=Actor.system(actor.clinic_id),
            patient_id=actor.patient_id or 0,
            infusion=InfusionInput(
                administered_at=dt.datetime(2020, 6, 1, tzinfo=dt.UTC), route="iv", dose_mg=35.0
            ),
        )
    before = _count(engine, Infusion, actor.clinic_id)
    source = tmp_path / "infusions.csv"
    expected = _infusions_csv(source, INFUSION_ROWS)

    _kill_mid_import(url, actor.clinic_id, source, "infusions")

    engine.dispose()  # a fresh engine: as the app would be after a restart
    engine = make_engine(url)
    assert _consistency_problems(engine, actor.clinic_id) == []
    assert _count(engine, Infusion, actor.clinic_id) == before  # all or nothing: nothing
    assert _imported_infusions(engine, actor.clinic_id) == []
    assert _count(engine, Patient, actor.clinic_id) == 1  # the patients it registered too
    assert _import_audits(engine, actor.clinic_id) == 0
    _still_writable(engine, actor)

    _import_to_the_end(url, actor.clinic_id, source, "infusions")
    assert _consistency_problems(engine, actor.clinic_id) == []
    stored = _imported_infusions(engine, actor.clinic_id)
    assert len(stored) == INFUSION_ROWS  # with the set below: each row exactly once
    assert set(stored) == expected
    assert _count(engine, Infusion, actor.clinic_id) == before + INFUSION_ROWS
    assert _count(engine, Patient, actor.clinic_id) == 1 + KILL_PATIENTS
    assert _import_audits(engine, actor.clinic_id) == KILL_PATIENTS
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_checkin_killed_mid_write_is_stored_whole_or_not_at_all(
    backend: str, bench_load: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, request, tmp_path)
    engine = make_engine(url)
    actor = bench_load.create_clinic(engine, 1)[0]
    child = _child(
        CHECKIN_CHILD, url, actor.user_id, actor.clinic_id, actor.username, actor.patient_id
    )
    assert child.stdout is not None
    confirmed = -1
    while confirmed < 30:  # some check-ins are through: the loop is in full swing
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else "the child ended"
        confirmed = int(line)
    time.sleep(random.Random(42).uniform(0.0, 0.2))  # then a random moment
    _kill(child)
    confirmed = max([confirmed, *(int(n) for n in child.stdout.read().split())])

    engine.dispose()
    engine = make_engine(url)
    assert _consistency_problems(engine, actor.clinic_id) == []
    with transaction(engine) as session:
        keys = set(
            session.scalars(
                select(Assessment.idempotency_key).where(Assessment.clinic_id == actor.clinic_id)
            )
        )
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.clinic_id == actor.clinic_id, AuditEvent.action == "submit_phq9")
        )
    stored = len(keys)
    # Every confirmed check-in is there; at most the one in flight more; no gaps.
    assert stored in (confirmed + 1, confirmed + 2)
    assert keys == {f"loop-{n}" for n in range(stored)}
    assert audits == stored  # answers and audit event in one transaction
    _still_writable(engine, actor)
    engine.dispose()


def _all_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    rows: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in connection.execute(query)]
        rows["alembic_version"] = [
            tuple(row) for row in connection.execute(text("SELECT * FROM alembic_version"))
        ]
    return rows


def _clinic_with_records(bench_load: ModuleType, engine: Engine) -> None:
    """Patients, check-ins with alerts, audit events: something in most tables."""
    actors = bench_load.create_clinic(engine, 4)
    now = dt.datetime.now(dt.UTC)
    for n, actor in enumerate(actors * 3):
        with transaction(engine, write=True) as session:
            submit_checkin(
                session,
                actor=actor,
                patient_id=actor.patient_id or 0,
                instrument="phq9",
                answers={key: n % 4 for key in ITEMS} | {"phq9_9": n % 2},
                idempotency_key=f"backup-{n}",
                # A week apart: one check-in per window (issue 12).
                administered_at=now - dt.timedelta(days=7 * (n // len(actors))),
            )


def test_a_sqlite_backup_restores_into_an_empty_database_unchanged(
    bench_load: ModuleType, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    upgrade(engine)
    _clinic_with_records(bench_load, engine)
    result = backup(engine, tmp_path / "clinic.backup.db")
    assert result.done
    # Restore: SQLite's backup API copies the backup into a new, empty database file.
    restored_path = tmp_path / "restored.db"
    source, target = sqlite3.connect(result.target), sqlite3.connect(restored_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    restored = make_engine(f"sqlite:///{restored_path}")
    original_rows = _all_rows(engine)
    assert sum(map(len, original_rows.values())) >= 40
    assert _all_rows(restored) == original_rows
    assert restored.connect().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    restored.dispose()


@pytest.mark.postgres
def test_a_postgres_dump_restores_into_an_empty_database_unchanged(
    bench_load: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url("postgres", request, tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    _clinic_with_records(bench_load, engine)
    result = backup(engine, tmp_path / "clinic.dump")
    assert not result.done and result.command[0] == "pg_dump"
    subprocess.run(result.command, check=True, capture_output=True, timeout=120)
    empty = fresh_database_url("postgres", request, tmp_path)
    libpq = make_url(empty).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq, str(result.target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    restored = make_engine(empty)
    assert _all_rows(restored) == _all_rows(engine)
    _still_writable(restored, bench_load_actor(restored))
    engine.dispose()
    restored.dispose()


def bench_load_actor(engine: Engine) -> Actor:
    """A patient of the restored clinic: the restored database takes new check-ins."""
    from data.models import Patient, User

    with transaction(engine) as session:
        patient = session.scalars(select(Patient).order_by(Patient.id)).first()
        assert patient is not None and patient.user_id is not None
        user = session.get(User, patient.user_id)
        assert user is not None
        return Actor(user.id, user.clinic_id, "patient", user.username, patient.id)


# --------------------------------------------------------------------------------------------
# The database going away
# --------------------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "pg_ctl").exists():
            return folder
    return None


@dataclass
class DedicatedServer:
    """A PostgreSQL server of this test alone, which it may stop and start."""

    folder: Path
    port: int
    url: str

    def _pg_ctl(self, *args: str) -> None:
        folder = _postgres_bin()
        assert folder is not None
        command = [str(folder / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-t", "60"]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run([*command, *args], check=True, capture_output=True, timeout=90)

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")

    def start(self) -> None:
        # synchronous_commit on, as in a clinic: the suite's throwaway servers run with it
        # off, and an immediate stop then loses the last commits (here the patient's own
        # account, so the page rightly signed them out after the restart). fsync stays off:
        # the operating system, which keeps what was written, does not go down here.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
            "-c synchronous_commit=on -c full_page_writes=off"
        )
        self._pg_ctl("-l", str(self.folder / "server.log"), "-o", options, "start")


@pytest.fixture
def dedicated_server() -> Iterator[DedicatedServer]:
    if _postgres_bin() is None and os.getuid() != 0:
        # scripts/test-postgres.sh installs the server as root; like every PostgreSQL test,
        # this one fails loudly rather than hiding that it did not run.
        pytest.fail("no PostgreSQL server binaries and no root to install them")
    folder = Path("/tmp") / f"outcomes-test-pgdown-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    script = str(ROOT / "scripts" / "test-postgres.sh")
    port = _free_port()
    server = subprocess.run(
        [script, "start", str(folder), str(port)], check=True, capture_output=True, text=True
    ).stdout.strip()
    url = make_url(server).set(database="postgres").render_as_string(hide_password=False)
    dedicated = DedicatedServer(folder, port, url)
    try:
        dedicated._pg_ctl("-m", "fast", "stop")  # started by the script without durable commits
        dedicated.start()
        yield dedicated
    finally:
        subprocess.run([script, "stop", str(folder)], check=False, capture_output=True)


def _wait_until_answering(url: str, *, seconds: float = 30.0) -> None:
    probe = make_engine(url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                with probe.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except Exception as error:
                if not database_unavailable(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        probe.dispose()


def _timed_unavailable(engine: Engine, actor: Actor) -> float:
    started = time.monotonic()
    with pytest.raises(Exception) as refused:  # which kind it is, is checked below
        _still_writable(engine, actor)
    assert database_unavailable(refused.value), repr(refused.value)
    return time.monotonic() - started


def _submit_button(app: AppTest) -> Any:
    # By its label: the sidebar's sign-out buttons are buttons too.
    return next(button for button in app.button if button.label == "Submit check-in")


def _answer(app: AppTest, value: int) -> None:
    for radio in app.radio:
        radio.set_value(value)


@pytest.mark.postgres
def test_the_server_going_away_is_reported_clearly_and_answers_are_kept(
    dedicated_server: DedicatedServer,
    bench_load: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine(dedicated_server.url)
    actor = bench_load.create_clinic(engine, 1)[0]
    _still_writable(engine, actor)
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", dedicated_server.url)

    app = signed_in(AppTest.from_file(APP, default_timeout=60), actor)
    app.run()
    assert not app.exception
    assert app.radio, "the check-in form is shown"
    dedicated_server.stop()

    # The data layer: a clear, catchable error within seconds (pooled and new connections).
    assert _timed_unavailable(engine, actor) < 5
    fresh = make_engine(dedicated_server.url)
    assert _timed_unavailable(fresh, actor) < 5
    fresh.dispose()

    # The page: the patient answers and submits while the server is down.
    _answer(app, 1)
    _submit_button(app).click().run()
    assert not app.exception, app.exception
    shown = " ".join(e.value for e in app.error)
    assert "could not be saved" in shown and "answers are still here" in shown
    assert "Traceback" not in shown and "OperationalError" not in shown
    assert app.radio and all(radio.value == 1 for radio in app.radio)
    assert not app.success

    # A new visit while the server is down: a message, no traceback.
    visit = signed_in(AppTest.from_file(APP, default_timeout=60), actor)
    visit.run()
    assert not visit.exception, visit.exception
    assert "cannot be reached" in " ".join(e.value for e in visit.error)

    # The server is back: the same answers are saved with the next press of Submit. "Back"
    # is when it answers queries again (after an immediate stop it first recovers).
    dedicated_server.start()
    _wait_until_answering(dedicated_server.url)
    _submit_button(app).click().run()
    assert not app.exception, app.exception
    assert app.success, {
        "title": [e.value for e in app.title],
        "info": [e.value for e in app.info],
        "error": [e.value for e in app.error],
        "warning": [e.value for e in app.warning],
        "radios": [r.value for r in app.radio],
        "buttons": [b.label for b in app.button],
    }
    assert "Thank you" in app.success[0].value
    assert _count(engine, Assessment, actor.clinic_id) == 1 + len(app_instruments(engine, actor))
    engine.dispose()


def app_instruments(engine: Engine, actor: Actor) -> tuple[str, ...]:
    from data.clinic import clinic_config

    with transaction(engine) as session:
        return tuple(clinic_config(session, actor.clinic_id).checkin_instruments)
