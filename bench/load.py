"""Load test of the check-in write path on SQLite and PostgreSQL (issue #5, Load).

``--patients`` concurrent patients (threads, default 50) submit PHQ-9 check-ins for
``--seconds`` (default 60) through :func:`data.checkin.submit_checkin`, the function the
check-in page calls, each submission in its own write transaction
(:func:`data.engine.transaction` with ``write=True``), exactly as the page does.

* About 10% of submissions answer PHQ-9 item 9 (self-harm) above 0.
* About 5% are sent twice with the same idempotency key, *concurrently*: the patient's
  thread publishes the form before saving it and another thread picks it up at once, as
  a double click handled by two server threads would.

Afterwards the database is checked against what the patients were told:

* every accepted submission is stored exactly once (count and idempotency keys compared,
  both results of a double submit name the same record, exactly one of them new);
* every self-harm answer has its safety alert, and no other answer has one;
* one audit event per stored submission (the write was one transaction);
* no error of any kind reached a patient ("database is locked" included).

``--think-ms`` gives each patient a pause between submissions (exponential, that mean);
the default 0 is flat out, a saturation test in which every patient waits for the others
(on a 2-core machine mean latency is then patients / throughput, whatever the database).

Reported: submissions, throughput, p50/p95/p99/max latency of a submit (transaction
included). Target p95 < 100 ms on PostgreSQL. Bounded: at most ``--seconds`` (<= 600) and
``--max-submissions``; the PostgreSQL server is a throwaway one on 127.0.0.1 started by
``scripts/test-postgres.sh`` (or ``--postgres-url`` on loopback only).

``--during-import ROWS`` (issue 9, item 7) measures instead what a patient waits while an
operator imports a large file: ``--patients`` patients (think time ``--think-ms``, default
200) check in while ``outcomes import assessments`` runs in another process, importing ROWS
PHQ-9 rows (e.g. 200,000) into another clinic of the same database. Check-ins run from the
import's start to its exit; reported: their p50/p95/p99/max, errors, the same checks as
above, and the import's rows, seconds and rows/s. Target p95 < 500 ms on SQLite.

Run: ``.venv/bin/python bench/load.py [--seconds 60] [--backend both] [--json out.json]``,
``.venv/bin/python bench/load.py --during-import 200000 --backend sqlite --patients 20``

``--signin-flood 200`` (with ``--think-ms 500``) runs the check-ins beside 200 sign-in attempts
a second through :func:`data.accounts.sign_in` from ``--signin-addresses`` addresses (issue 9,
item 3; see :func:`run_signin_flood`).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import Assessment, AuditEvent, Clinic, Patient, SafetyAlert, User
from data.schema import upgrade

ROOT = _HERE.parent
MAX_SECONDS = 600
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ITEMS = tuple(f"phq9_{i}" for i in range(1, 10))


@dataclass
class Sent:
    """One submission as a patient saw it."""

    key: str
    self_harm: bool
    resend: bool
    assessment_id: int | None = None
    duplicate: bool | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class LoadResult:
    """Figures and checks of one run."""

    backend: str
    patients: int
    seconds: float
    think_ms: int = 0
    submissions: int = 0
    forms: int = 0
    resends: int = 0
    self_harm_forms: int = 0
    stored: int = 0
    alerts: int = 0
    audit_events: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and self.errors == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_loopback(url: str) -> None:
    host = make_url(url).host
    if host is not None and host not in LOOPBACK:
        raise SystemExit(f"refusing a database on {host}: the load test runs on loopback only")


def create_clinic(engine: Engine, patients: int) -> list[Actor]:
    """A clinic with ``patients`` signed-up patients (and one clinician), committed."""
    upgrade(engine)
    actors: list[Actor] = []
    with transaction(engine, write=True) as session:
        clinic = Clinic(name=f"Load {uuid.uuid4().hex[:6]}")
        session.add(clinic)
        session.flush()
        tag = uuid.uuid4().hex[:6]
        clinician = User(
            clinic_id=clinic.id,
            username=f"load-clinician-{tag}",
            display_name="Load Clinician",
            role="clinician",
            password_hash="!unusable",
            failed_logins=0,
            active=True,
        )
        session.add(clinician)
        session.flush()
        for n in range(patients):
            user = User(
                clinic_id=clinic.id,
                username=f"load-{tag}-{n}",
                display_name=f"Load Patient {n}",
                role="patient",
                password_hash="!unusable",
                failed_logins=0,
                active=True,
            )
            session.add(user)
            session.flush()
            patient = Patient(
                clinic_id=clinic.id,
                external_id=f"LOAD-{tag}-{n}",
                name=f"Load Patient {n}",
                assigned_clinician_id=clinician.id,
                user_id=user.id,
            )
            session.add(patient)
            session.flush()
            actors.append(Actor(user.id, clinic.id, "patient", user.username, patient.id))
    return actors


def _answers(rng: random.Random, self_harm: bool) -> dict[str, int]:
    answers = {key: rng.randint(0, 3) for key in ITEMS[:-1]}
    answers["phq9_9"] = rng.randint(1, 3) if self_harm else 0
    return answers


def _submit(engine: Engine, actor: Actor, answers: dict[str, int], sent: Sent) -> None:
    started = time.perf_counter()
    try:
        with transaction(engine, write=True) as session:
            result = submit_checkin(
                session,
                actor=actor,
                patient_id=actor.patient_id or 0,
                instrument="phq9",
                answers=answers,
                idempotency_key=sent.key,
            )
        sent.assessment_id = result.assessment_id
        sent.duplicate = result.duplicate
    except Exception as error:  # what a patient would have seen
        sent.error = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    sent.seconds = time.perf_counter() - started


def drive(
    engine: Engine,
    actors: list[Actor],
    *,
    seconds: float,
    max_submissions: int,
    self_harm_rate: float = 0.10,
    resend_rate: float = 0.05,
    think_seconds: float = 0.0,
    seed: int = 42,
) -> list[Sent]:
    """Every patient submits until time or count runs out; returns every submission."""
    deadline_holder: list[float] = []
    barrier = threading.Barrier(len(actors), action=lambda: deadline_holder.append(0.0))
    resends: collections.deque[tuple[Actor, dict[str, int], Sent]] = collections.deque()
    lock = threading.Lock()
    sent_all: list[Sent] = []
    budget = [max_submissions]

    def take() -> bool:
        with lock:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

    def patient(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        actor = actors[index]
        mine: list[Sent] = []
        barrier.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and take():
            try:
                other, answers, first = resends.popleft()
            except IndexError:
                pass
            else:  # another thread's form, sent a second time, while its first copy saves
                copy = Sent(key=first.key, self_harm=first.self_harm, resend=True)
                _submit(engine, other, answers, copy)
                mine.append(copy)
                continue
            harm = rng.random() < self_harm_rate
            sent = Sent(key=f"{actor.patient_id}:{uuid.uuid4().hex}", self_harm=harm, resend=False)
            answers = _answers(rng, harm)
            if rng.random() < resend_rate:
                resends.append((actor, answers, sent))
            _submit(engine, actor, answers, sent)
            mine.append(sent)
            if think_seconds:
                time.sleep(
                    min(rng.expovariate(1 / think_seconds), max(0.0, deadline - time.monotonic()))
                )
        with lock:
            sent_all.extend(mine)

    threads = [threading.Thread(target=patient, args=(i,)) for i in range(len(actors))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A form published in the last instant and not picked up is sent again now: every
    # published form is sent twice, as the figures claim.
    while resends:
        other, answers, first = resends.popleft()
        copy = Sent(key=first.key, self_harm=first.self_harm, resend=True)
        _submit(engine, other, answers, copy)
        sent_all.append(copy)
    return sent_all


def verify(engine: Engine, clinic_id: int, sent: list[Sent], result: LoadResult) -> None:
    """Compare the database with what every patient was told."""
    problems = result.problems
    errors = collections.Counter(s.error.split(":")[0] for s in sent if s.error)
    result.errors = sum(errors.values())
    result.error_kinds = dict(errors)
    locked = [s.error for s in sent if s.error and "locked" in s.error]
    if locked:
        problems.append(f"{len(locked)} submissions answered 'database is locked'")

    by_key: dict[str, list[Sent]] = collections.defaultdict(list)
    for s in sent:
        if s.error is None:
            by_key[s.key].append(s)
    for key, copies in by_key.items():
        if len({c.assessment_id for c in copies}) != 1:
            problems.append(f"form {key}: copies name different records")
        if sum(1 for c in copies if not c.duplicate) != 1:
            problems.append(f"form {key}: {sum(not c.duplicate for c in copies)} copies stored")
    with transaction(engine) as session:
        rows = session.execute(
            select(Assessment.idempotency_key, Assessment.id, Assessment.flags).where(
                Assessment.clinic_id == clinic_id
            )
        ).all()
        alerts = session.execute(
            select(SafetyAlert.assessment_id, SafetyAlert.kind).where(
                SafetyAlert.clinic_id == clinic_id
            )
        ).all()
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.clinic_id == clinic_id, AuditEvent.action == "submit_phq9")
        )
    stored = {key: assessment_id for key, assessment_id, _ in rows}
    result.stored = len(rows)
    result.alerts = len(alerts)
    result.audit_events = int(audits or 0)
    if len(stored) != len(rows):
        problems.append("an idempotency key is stored more than once")
    if set(stored) != set(by_key):
        missing = len(set(by_key) - set(stored))
        extra = len(set(stored) - set(by_key))
        problems.append(f"stored keys differ: {missing} accepted not stored, {extra} unexpected")
    for key, copies in by_key.items():
        if key in stored and copies[0].assessment_id != stored[key]:
            problems.append(f"form {key}: told record {copies[0].assessment_id}, stored another")
    alerted = collections.Counter(assessment_id for assessment_id, _ in alerts)
    harmful = {stored[k] for k, copies in by_key.items() if copies[0].self_harm and k in stored}
    if set(alerted) != harmful:
        problems.append(
            f"alerts: {len(harmful - set(alerted))} self-harm answers without an alert, "
            f"{len(set(alerted) - harmful)} alerts on other answers"
        )
    if any(count != 1 for count in alerted.values()):
        problems.append("an answer has more than one alert")
    if result.audit_events != len(rows):
        problems.append(f"{result.audit_events} audit events for {len(rows)} stored check-ins")


def latency_ms(sent: list[Sent]) -> tuple[float, float, float, float]:
    """p50, p95, p99 and the longest submit of ``sent``, in ms (zeros when there are none)."""
    if not sent:
        return 0.0, 0.0, 0.0, 0.0
    latencies = np.array([s.seconds for s in sent]) * 1000
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    p50, p95, p99, longest = (round(float(v), 1) for v in (p50, p95, p99, latencies.max()))
    return p50, p95, p99, longest


def run_load(
    url: str,
    *,
    backend: str,
    patients: int,
    seconds: float,
    max_submissions: int = 1_000_000,
    think_seconds: float = 0.0,
    engine_options: dict[str, Any] | None = None,
) -> LoadResult:
    """Set up a clinic in the (empty or migrated) database at ``url``, load it, check it."""
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SECONDS}]")
    ensure_loopback(url)
    engine = make_engine(url, **(engine_options or {}))
    try:
        actors = create_clinic(engine, patients)
        started = time.perf_counter()
        sent = drive(
            engine,
            actors,
            seconds=seconds,
            max_submissions=max_submissions,
            think_seconds=think_seconds,
        )
        elapsed = time.perf_counter() - started
        result = LoadResult(
            backend=backend,
            patients=patients,
            seconds=round(elapsed, 1),
            think_ms=round(think_seconds * 1000),
        )
        result.submissions = len(sent)
        result.resends = sum(s.resend for s in sent)
        result.forms = len({s.key for s in sent})
        result.self_harm_forms = len({s.key for s in sent if s.self_harm})
        result.per_second = round(len(sent) / elapsed, 1)
        result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms = latency_ms(sent)
        verify(engine, actors[0].clinic_id, sent, result)
        return result
    finally:
        engine.dispose()


@contextmanager
def loopback_postgres(server: str | None, purpose: str) -> Iterator[str]:
    """``server`` (checked to be on loopback), or a throwaway server on 127.0.0.1 started
    here by ``scripts/test-postgres.sh`` and stopped afterwards."""
    if server is not None:
        ensure_loopback(server)
        yield server
        return
    # Not under a private temporary folder: as root the server runs as "postgres", which
    # cannot enter one.
    folder = Path("/tmp") / f"outcomes-{purpose}-pg-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    script = str(ROOT / "scripts" / "test-postgres.sh")
    started = subprocess.run(
        [script, "start", str(folder), str(free_port())],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        yield started
    finally:
        subprocess.run([script, "stop", str(folder)], check=False)


def postgres_database(server: str, name: str) -> str:
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def table(results: list[LoadResult]) -> str:
    columns = (
        ("database", "backend", "{}"),
        ("patients", "patients", "{}"),
        ("seconds", "seconds", "{}"),
        ("think ms", "think_ms", "{}"),
        ("submits", "submissions", "{}"),
        ("per s", "per_second", "{}"),
        ("double", "resends", "{}"),
        ("self-harm", "self_harm_forms", "{}"),
        ("stored", "stored", "{}"),
        ("alerts", "alerts", "{}"),
        ("errors", "errors", "{}"),
        ("p50 ms", "p50_ms", "{}"),
        ("p95 ms", "p95_ms", "{}"),
        ("p99 ms", "p99_ms", "{}"),
        ("max ms", "max_ms", "{}"),
        ("checks", "ok", "{}"),
    )
    rows = [[title for title, _, _ in columns]]
    for result in results:
        rows.append(
            [
                "pass"
                if name == "ok" and result.ok
                else "FAIL"
                if name == "ok"
                else form.format(getattr(result, name))
                for _, name, form in columns
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    for result in results:
        lines.extend(f"{result.backend}: {problem}" for problem in result.problems)
        lines.extend(f"{result.backend}: {n} x {kind}" for kind, n in result.error_kinds.items())
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Check-ins during a large import (issue 9, item 7)
# --------------------------------------------------------------------------------------------


@dataclass
class ImportLoadResult(LoadResult):
    """Check-ins measured while ``outcomes import`` writes a large file, and the import."""

    import_rows: int = 0
    import_seconds: float = 0.0
    import_rows_per_second: float = 0.0
    import_exit: int | None = None
    import_stderr: str = ""


def import_file(path: Path, rows: int, *, seed: int = 7) -> None:
    """An assessments file of ``rows`` PHQ-9 rows for ``rows // 50`` new patients."""
    rng = random.Random(seed)
    patients = max(1, rows // 50)
    first = dt.date(2020, 1, 6)
    with path.open("w", newline="") as out:
        out.write("patient_id,instrument,administered_at," + ",".join(ITEMS) + "\n")
        for row in range(rows):
            patient, week = divmod(row, 50) if patients > 1 else (0, row)
            answers = ",".join(str(rng.randint(0, 3)) for _ in ITEMS[:-1])
            day = first + dt.timedelta(days=7 * week + patient % 7)
            out.write(f"IMPORT-{patient:06d},phq9,{day.isoformat()},{answers},0\n")


def _checkins_until(
    engine: Engine,
    actors: list[Actor],
    done: threading.Event,
    *,
    think_seconds: float,
    seed: int = 42,
) -> list[Sent]:
    """Every patient checks in (as :func:`drive` does, without double submits) until
    ``done`` is set; returns every submission."""
    lock = threading.Lock()
    sent_all: list[Sent] = []

    def patient(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        actor = actors[index]
        mine: list[Sent] = []
        while not done.is_set():
            harm = rng.random() < 0.10
            sent = Sent(key=f"{actor.patient_id}:{uuid.uuid4().hex}", self_harm=harm, resend=False)
            _submit(engine, actor, _answers(rng, harm), sent)
            mine.append(sent)
            if think_seconds:
                done.wait(rng.expovariate(1 / think_seconds))
        with lock:
            sent_all.extend(mine)

    threads = [threading.Thread(target=patient, args=(i,)) for i in range(len(actors))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent_all


def run_load_during_import(
    url: str,
    *,
    backend: str,
    patients: int,
    rows: int,
    think_seconds: float = 0.2,
    timeout_seconds: float = MAX_SECONDS,
) -> ImportLoadResult:
    """Patients check in while ``outcomes import`` (another process, as an operator runs it)
    imports ``rows`` assessments into another clinic of the same database.

    Check-ins start with the import and stop when it ends; their latency is what a patient
    waits while an import writes. The import's own time is measured from its start to its
    exit (reading, checking, writing, committing).
    """
    ensure_loopback(url)
    engine = make_engine(url)
    try:
        actors = create_clinic(engine, patients)
        with transaction(engine, write=True) as session:
            other = Clinic(name=f"Import {uuid.uuid4().hex[:6]}")
            session.add(other)
            session.flush()
            import_clinic = other.id
        with tempfile.TemporaryDirectory(prefix="outcomes-import-load-") as scratch:
            source = Path(scratch) / "history.csv"
            import_file(source, rows)
            command = [
                sys.executable,
                "-c",
                "from data.cli import app; app()",
                "import",
                "assessments",
                str(source),
                "--create-patients",
                "--clinic",
                str(import_clinic),
                "--database-url",
                url,
            ]
            done = threading.Event()
            sent: list[Sent] = []
            checkins = threading.Thread(
                target=lambda: sent.extend(
                    _checkins_until(engine, actors, done, think_seconds=think_seconds)
                )
            )
            started = time.perf_counter()
            importer = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            checkins.start()
            try:
                _, stderr = importer.communicate(timeout=timeout_seconds)
            finally:
                if importer.poll() is None:
                    importer.kill()
                    importer.wait()
                elapsed = time.perf_counter() - started
                done.set()
                checkins.join()
        result = ImportLoadResult(
            backend=backend,
            patients=patients,
            seconds=round(elapsed, 1),
            think_ms=round(think_seconds * 1000),
        )
        result.import_exit = importer.returncode
        result.import_stderr = stderr[-2000:]
        result.import_seconds = round(elapsed, 2)
        with transaction(engine) as session:
            result.import_rows = int(
                session.scalar(
                    select(func.count())
                    .select_from(Assessment)
                    .where(Assessment.clinic_id == import_clinic)
                )
                or 0
            )
        result.import_rows_per_second = round(result.import_rows / elapsed)
        result.submissions = result.forms = len(sent)
        result.self_harm_forms = sum(s.self_harm for s in sent)
        result.per_second = round(len(sent) / elapsed, 1)
        result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms = latency_ms(sent)
        verify(engine, actors[0].clinic_id, sent, result)
        if result.import_exit != 0:
            result.problems.append(f"the import failed (exit {result.import_exit})")
        elif result.import_rows != rows:
            result.problems.append(f"the import stored {result.import_rows} of {rows} rows")
        return result
    finally:
        engine.dispose()


def import_table(results: list[ImportLoadResult]) -> str:
    lines = [
        "database    patients  think ms  check-ins  errors  p50 ms  p95 ms  p99 ms  max ms  "
        "import rows  import s  rows/s  checks"
    ]
    for r in results:
        lines.append(
            f"{r.backend:<10}  {r.patients:>8}  {r.think_ms:>8}  {r.submissions:>9}  "
            f"{r.errors:>6}  {r.p50_ms:>6}  {r.p95_ms:>6}  {r.p99_ms:>6}  {r.max_ms:>6}  "
            f"{r.import_rows:>11}  {r.import_seconds:>8}  {r.import_rows_per_second:>6}  "
            f"{'pass' if r.ok else 'FAIL'}"
        )
        lines.extend(f"{r.backend}: {problem}" for problem in r.problems)
        lines.extend(f"{r.backend}: {n} x {kind}" for kind, n in r.error_kinds.items())
    return "\n".join(lines)


# --- sign-in flood: check-ins while unauthenticated sign-in attempts hammer the app -----------
#
# Issue 9, item 3: the sign-in page verified passwords (argon2, ~0.1 s) inside a SQLite write
# transaction, so 200 attempts made check-ins fail with "records are busy". Here ``--patients``
# patients check in (the machinery above) while ``--signin-flood`` attempts per second hit
# data.accounts.sign_in, the function the sign-in page calls, from ``--signin-addresses``
# addresses with ``--signin-usernames`` usernames (a few real staff accounts, the rest
# invented): many addresses, each under its own limit, is the worst case for the per-address
# throttle, so the verification slots are what protects the check-ins. The flood is a bounded
# loop on loopback (at most rate x seconds attempts) and stops by itself.

FLOOD_REAL_ACCOUNTS = 50
FLOOD_WORKERS = 256
LEGIT_PASSWORD = "a legitimate staff password"


@dataclass
class SignInFloodResult:
    """Check-in figures under a sign-in flood, and what became of the attempts."""

    backend: str
    rate: int
    addresses: int
    usernames: int
    attempts: int = 0
    attempts_per_second: float = 0.0
    verified: int = 0  # an argon2 verification ran (a dummy hash for locked or unknown names)
    throttled: int = 0  # refused by the per-address throttle, no argon2 work
    refused: int = 0  # no verification slot free in time ("try again in a moment")
    unexpected: int = 0  # anything else (an error reaching the sign-in page)
    unexpected_kinds: dict[str, int] = field(default_factory=dict)
    legit_attempts: int = 0  # one right password a second, each from an address of its own
    legit_signed_in: int = 0
    legit_outcomes: dict[str, int] = field(default_factory=dict)
    checkins: LoadResult | None = None

    @property
    def ok(self) -> bool:
        return self.checkins is not None and self.checkins.ok and self.unexpected == 0


def _flood_accounts(engine: Engine, clinic_id: int, count: int) -> list[str]:
    """``count`` staff accounts with a real argon2 hash (one hash, made once), committed."""
    from data.accounts import hash_password

    password_hash = hash_password(LEGIT_PASSWORD)
    tag = uuid.uuid4().hex[:6]
    names = [f"flood-staff-{tag}-{n}" for n in range(count)]
    with transaction(engine, write=True) as session:
        for name in names:
            session.add(
                User(
                    clinic_id=clinic_id,
                    username=name,
                    display_name="Flood Staff",
                    role="clinician",
                    password_hash=password_hash,
                    failed_logins=0,
                    active=True,
                )
            )
    return names


def _flood(
    engine: Engine,
    *,
    rate: int,
    seconds: float,
    addresses: int,
    usernames: list[str],
    legit: str,
    result: SignInFloodResult,
    seed: int = 7,
) -> None:
    """Send ``rate`` attempts a second for ``seconds`` (each in a thread, as Streamlit runs
    each session's script in one), and one legitimate sign-in a second; wait for all."""
    from concurrent.futures import ThreadPoolExecutor

    from data.accounts import SIGN_IN_BUSY, SIGN_IN_REFUSED, sign_in
    from data.errors import SignInFailed

    rng = random.Random(seed)
    lock = threading.Lock()
    outcomes: collections.Counter[str] = collections.Counter()
    pool = [f"198.18.{i // 256}.{i % 256}" for i in range(addresses)]

    def attempt(username: str, password: str, address: str, kind: str) -> None:
        try:
            sign_in(engine, username=username, password=password, address=address)
            outcome = f"{kind}:signed_in"
        except SignInFailed as refusal:
            words = {SIGN_IN_BUSY: "busy", SIGN_IN_REFUSED: "refused"}
            outcome = f"{kind}:" + words.get(str(refusal), "error other refusal")
        except Exception as error:  # what the sign-in page would have shown as an error
            outcome = f"{kind}:error {type(error).__name__}"
        with lock:
            outcomes[outcome] += 1

    started = time.monotonic()
    deadline = started + seconds
    with ThreadPoolExecutor(max_workers=FLOOD_WORKERS) as workers:
        for n in range(int(rate * seconds)):
            due = started + n / rate
            now = time.monotonic()
            if now >= deadline:
                break
            if due > now:
                time.sleep(due - now)
            workers.submit(attempt, rng.choice(usernames), f"guess {n}", rng.choice(pool), "flood")
            if n % rate == 0:  # once a second, someone who knows their password
                workers.submit(
                    attempt, legit, LEGIT_PASSWORD, f"192.0.2.{n // rate % 250}", "legit"
                )
        elapsed = time.monotonic() - started
    result.attempts = sum(n for key, n in outcomes.items() if key.startswith("flood:"))
    result.attempts_per_second = round(result.attempts / max(elapsed, 1e-9), 1)
    result.legit_attempts = sum(n for key, n in outcomes.items() if key.startswith("legit:"))
    result.legit_signed_in = outcomes["legit:signed_in"]
    result.legit_outcomes = {k[6:]: n for k, n in outcomes.items() if k.startswith("legit:")}
    errors = {k: n for k, n in outcomes.items() if ":error" in k or k.endswith(":signed_in")}
    errors.pop("legit:signed_in", None)  # the only success expected
    result.unexpected = sum(errors.values())
    result.unexpected_kinds = errors


def run_signin_flood(
    url: str,
    *,
    backend: str,
    patients: int,
    seconds: float,
    rate: int = 200,
    addresses: int = 1000,
    usernames: int = 1000,
    think_seconds: float = 0.5,
    max_submissions: int = 1_000_000,
    engine_options: dict[str, Any] | None = None,
) -> SignInFloodResult:
    """Check-ins of ``patients`` patients while ``rate`` sign-in attempts a second hit the
    same engine through :func:`data.accounts.sign_in`; both for ``seconds``."""
    from data import signin_throttle

    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SECONDS}]")
    if not 0 < rate <= 1000 or not 0 < addresses <= 65_536 or usernames < 2:
        raise ValueError("rate must be in 1..1000, addresses in 1..65536, usernames >= 2")
    ensure_loopback(url)
    engine = make_engine(url, **(engine_options or {}))
    result = SignInFloodResult(backend=backend, rate=rate, addresses=addresses, usernames=usernames)
    addresses_before = signin_throttle.ADDRESSES.refusals
    slots = signin_throttle.SLOTS
    granted_before, busy_before = slots.granted, slots.refusals
    signin_throttle.ADDRESSES.clear()
    try:
        actors = create_clinic(engine, patients)
        clinic_id = actors[0].clinic_id
        real = _flood_accounts(engine, clinic_id, min(FLOOD_REAL_ACCOUNTS, usernames - 1) + 1)
        legit, real = real[0], real[1:]
        names = real + [f"invented-{n}" for n in range(usernames - len(real))]
        flood = threading.Thread(
            target=_flood,
            kwargs={
                "engine": engine,
                "rate": rate,
                "seconds": seconds,
                "addresses": addresses,
                "usernames": names,
                "legit": legit,
                "result": result,
            },
        )
        started = time.perf_counter()
        flood.start()
        sent = drive(
            engine,
            actors,
            seconds=seconds,
            max_submissions=max_submissions,
            think_seconds=think_seconds,
        )
        elapsed = time.perf_counter() - started
        flood.join()
        checkins = LoadResult(
            backend=backend,
            patients=patients,
            seconds=round(elapsed, 1),
            think_ms=round(think_seconds * 1000),
        )
        checkins.submissions = len(sent)
        checkins.resends = sum(s.resend for s in sent)
        checkins.forms = len({s.key for s in sent})
        checkins.self_harm_forms = len({s.key for s in sent if s.self_harm})
        checkins.per_second = round(len(sent) / elapsed, 1)
        checkins.p50_ms, checkins.p95_ms, checkins.p99_ms, checkins.max_ms = latency_ms(sent)
        verify(engine, clinic_id, sent, checkins)
        result.checkins = checkins
        result.verified = slots.granted - granted_before
        result.refused = slots.refusals - busy_before
        result.throttled = signin_throttle.ADDRESSES.refusals - addresses_before
        return result
    finally:
        signin_throttle.ADDRESSES.clear()  # the flood's addresses are not the app's
        engine.dispose()


def flood_table(results: list[SignInFloodResult]) -> str:
    header = (
        "database  patients  seconds  check-ins  errors  p50 ms  p95 ms  p99 ms  max ms  "
        "sign-ins/s  attempts  verified  throttled  refused  unexpected  legit ok  checks"
    )
    lines = [header]
    for r in results:
        c = r.checkins
        assert c is not None
        lines.append(
            f"{r.backend:>8}  {c.patients:>8}  {c.seconds:>7}  {c.submissions:>9}  "
            f"{c.errors:>6}  {c.p50_ms:>6}  {c.p95_ms:>6}  {c.p99_ms:>6}  {c.max_ms:>6}  "
            f"{r.attempts_per_second:>10}  {r.attempts:>8}  {r.verified:>8}  "
            f"{r.throttled:>9}  {r.refused:>7}  {r.unexpected:>10}  "
            f"{r.legit_signed_in:>3}/{r.legit_attempts:<4}  {'pass' if r.ok else 'FAIL'}"
        )
    for r in results:
        assert r.checkins is not None
        lines.extend(f"{r.backend}: {problem}" for problem in r.checkins.problems)
        lines.extend(f"{r.backend}: {n} x {k}" for k, n in r.checkins.error_kinds.items())
        lines.extend(f"{r.backend}: {n} x sign-in {k}" for k, n in r.unexpected_kinds.items())
    return "\n".join(lines)


def main_signin_flood(args: argparse.Namespace, options: dict[str, Any]) -> None:
    """``--signin-flood RATE``: the flood scenario on the chosen databases."""
    results: list[SignInFloodResult] = []
    common = {
        "patients": args.patients,
        "seconds": args.seconds,
        "rate": args.signin_flood,
        "addresses": args.signin_addresses,
        "usernames": args.signin_usernames,
        "think_seconds": args.think_ms / 1000,
        "max_submissions": args.max_submissions,
        "engine_options": options,
    }
    with tempfile.TemporaryDirectory(prefix="outcomes-flood-") as scratch:
        if args.backend in ("sqlite", "both"):
            folder = args.workdir or Path(scratch)
            url = f"sqlite:///{folder / f'flood-{uuid.uuid4().hex[:6]}.db'}"
            results.append(run_signin_flood(url, backend="sqlite", **common))
        if args.backend in ("postgres", "both"):
            with loopback_postgres(args.postgres_url, "flood") as server:
                url = postgres_database(server, f"flood_{uuid.uuid4().hex[:8]}")
                results.append(run_signin_flood(url, backend="postgresql", **common))
    print(flood_table(results))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) | {"ok": r.ok} for r in results], indent=2, default=str)
        )
    sys.exit(0 if all(r.ok for r in results) else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per database, <= 600")
    parser.add_argument("--patients", type=int, default=50, help="concurrent patients")
    parser.add_argument("--max-submissions", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", help="an existing loopback server (its 'postgres' db)")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of a patient between submissions (exponential); 0 = flat out",
    )
    parser.add_argument("--pool-size", type=int, help="engine pool size (the app's default)")
    parser.add_argument("--workdir", type=Path, help="folder for the SQLite file")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--during-import",
        type=int,
        default=0,
        metavar="ROWS",
        help="instead: check-ins while `outcomes import` writes ROWS assessments (e.g. 200000)",
    )
    parser.add_argument(
        "--signin-flood",
        type=int,
        metavar="RATE",
        help="also send RATE sign-in attempts a second (e.g. 200; use --think-ms 500)",
    )
    parser.add_argument("--signin-addresses", type=int, default=1000, help="with --signin-flood")
    parser.add_argument("--signin-usernames", type=int, default=1000, help="with --signin-flood")
    args = parser.parse_args()
    if args.during_import:
        main_during_import(args)
        return
    if not 0 < args.seconds <= MAX_SECONDS or not 0 < args.patients <= 150:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}] and --patients in 1..150")
    options = {} if args.pool_size is None else {"pool_size": args.pool_size}
    if args.signin_flood is not None:
        main_signin_flood(args, options)
    results: list[LoadResult] = []
    with tempfile.TemporaryDirectory(prefix="outcomes-load-") as scratch:
        if args.backend in ("sqlite", "both"):
            folder = args.workdir or Path(scratch)
            url = f"sqlite:///{folder / f'load-{uuid.uuid4().hex[:6]}.db'}"
            results.append(
                run_load(
                    url,
                    backend="sqlite",
                    patients=args.patients,
                    seconds=args.seconds,
                    max_submissions=args.max_submissions,
                    think_seconds=args.think_ms / 1000,
                    engine_options=options,
                )
            )
        if args.backend in ("postgres", "both"):
            with loopback_postgres(args.postgres_url, "load") as server:
                url = postgres_database(server, f"load_{uuid.uuid4().hex[:8]}")
                results.append(
                    run_load(
                        url,
                        backend="postgresql",
                        patients=args.patients,
                        seconds=args.seconds,
                        max_submissions=args.max_submissions,
                        think_seconds=args.think_ms / 1000,
                        engine_options=options,
                    )
                )
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"ok": r.ok} for r in results], indent=2))
    sys.exit(0 if all(r.ok for r in results) else 1)


def main_during_import(args: argparse.Namespace) -> None:
    """``--during-import ROWS``: patients check in while a large import runs."""
    think = (args.think_ms or 200.0) / 1000
    patients = args.patients
    imports: list[ImportLoadResult] = []
    with tempfile.TemporaryDirectory(prefix="outcomes-load-") as scratch:
        if args.backend in ("sqlite", "both"):
            folder = args.workdir or Path(scratch)
            url = f"sqlite:///{folder / f'import-{uuid.uuid4().hex[:6]}.db'}"
            imports.append(
                run_load_during_import(
                    url,
                    backend="sqlite",
                    patients=patients,
                    rows=args.during_import,
                    think_seconds=think,
                )
            )
        if args.backend in ("postgres", "both"):
            with loopback_postgres(args.postgres_url, "load") as server:
                url = postgres_database(server, f"import_{uuid.uuid4().hex[:8]}")
                imports.append(
                    run_load_during_import(
                        url,
                        backend="postgresql",
                        patients=patients,
                        rows=args.during_import,
                        think_seconds=think,
                    )
                )
    print(import_table(imports))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"ok": r.ok} for r in imports], indent=2))
    sys.exit(0 if all(r.ok for r in imports) else 1)


if __name__ == "__main__":
    main()
