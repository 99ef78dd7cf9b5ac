"""What the load benchmarks share: a clinic of patients, patients checking in, the checks.

``bench/load.py`` (check-ins flat out), ``bench/load_during_import.py`` (check-ins while a
large import runs), ``bench/signin_flood.py`` (check-ins beside a sign-in flood) and
``bench/soak.py`` (a long load) drive patients through :func:`data.checkin.submit_checkin`
with the code here, check the database against what every patient was told
(:func:`verify`), and run PostgreSQL on loopback only (:func:`loopback_postgres`).

Imported by those modules once their ``sys.path`` puts ``bench/`` last (``bench/data.py``
would shadow the data package), never run by itself.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import Assessment, AuditEvent, Clinic, Patient, SafetyAlert, User
from data.schema import upgrade

ROOT = Path(__file__).resolve().parent.parent
MAX_SECONDS = 600
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ITEMS = tuple(f"phq9_{i}" for i in range(1, 10))


@dataclass
class Sent:
    """One submission as a patient saw it."""

    key: str
    self_harm: bool
    resend: bool
    # A week before the patient's previous form: one check-in per window (issue 12), so each
    # form is a check-in of its own week; a resent copy keeps its form's time.
    administered_at: dt.datetime | None = None
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


def random_answers(rng: random.Random, self_harm: bool) -> dict[str, int]:
    answers = {key: rng.randint(0, 3) for key in ITEMS[:-1]}
    answers["phq9_9"] = rng.randint(1, 3) if self_harm else 0
    return answers


def submit(engine: Engine, actor: Actor, answers: dict[str, int], sent: Sent) -> None:
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
                administered_at=sent.administered_at,
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
    first_week: int = 0,
) -> list[Sent]:
    """Every patient submits until time or count runs out; returns every submission.

    Each patient's forms are dated a week apart going back from now, starting ``first_week``
    weeks back (a later run on the same patients starts past the weeks an earlier one used):
    a patient's check-ins are one per window (issue 12).
    """
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
        started = dt.datetime.now(dt.UTC)
        barrier.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and take():
            try:
                other, answers, first = resends.popleft()
            except IndexError:
                pass
            else:  # another thread's form, sent a second time, while its first copy saves
                copy = Sent(
                    key=first.key,
                    self_harm=first.self_harm,
                    resend=True,
                    administered_at=first.administered_at,
                )
                submit(engine, other, answers, copy)
                mine.append(copy)
                continue
            harm = rng.random() < self_harm_rate
            week = first_week + sum(1 for s in mine if not s.resend)
            sent = Sent(
                key=f"{actor.patient_id}:{uuid.uuid4().hex}",
                self_harm=harm,
                resend=False,
                administered_at=started - dt.timedelta(days=7 * week),
            )
            answers = random_answers(rng, harm)
            if rng.random() < resend_rate:
                resends.append((actor, answers, sent))
            submit(engine, actor, answers, sent)
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
        copy = Sent(
            key=first.key,
            self_harm=first.self_harm,
            resend=True,
            administered_at=first.administered_at,
        )
        submit(engine, other, answers, copy)
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
