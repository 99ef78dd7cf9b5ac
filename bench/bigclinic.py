"""A large synthetic clinic for benchmarks: N patients with weekly PHQ-9 and GAD-7.

10,000 patients x 50 weeks x 2 instruments = 1,000,000 assessments, plus 10 infusions per
patient. Assessments go in through the importer's own bulk path
(:func:`data.interchange.administrations.store_administrations`: validation, scoring,
executemany on SQLite and COPY on PostgreSQL), so the benchmark database is built the way a
clinic's history would be.

The browser benchmark (``bench/browser.py``) signs in to it: the clinic has the demo-style
sign-ins ``bench-clinician``, ``bench-admin`` and ``bench-patient`` (the first patient's
own), all with the public password :data:`BENCH_PASSWORD`. They exist only in a benchmark
database, which holds synthetic records only, as the demo clinic's public sign-ins do.

Run (SQLite or PostgreSQL; a PostgreSQL database named in the URL is created if missing, on
a server such as ``scripts/test-postgres.sh start DIR PORT`` starts)::

    .venv/bin/python bench/bigclinic.py --database-url sqlite:////tmp/bigclinic.db
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on the path, and bench/data.py would shadow the data
# package: the repository first (imported as a module, as bench/pages.py does, it is too).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from data.access import Actor
from data.accounts import hash_password
from data.course_state import build_clinic
from data.engine import make_engine, printable_url, transaction
from data.interchange.administrations import store_administrations
from data.interchange.pipeline import AdministrationTable
from data.models import Clinic, Infusion, Patient, User
from data.schema import upgrade
from outcomes.instruments import get_instrument

START = dt.datetime(2025, 1, 6, 15, 0, tzinfo=dt.UTC)
INFUSION_DAYS = (0, 2, 4, 7, 9, 11, 30, 60, 120, 240)
CLINIC_NAME = "Benchmark clinic (synthetic)"
BENCH_PASSWORD = "bench"
# Username, display name and role of the staff sign-ins; ``bench-patient`` is the first
# patient's (:data:`SIGN_IN_PATIENT`).
BENCH_STAFF = (
    ("bench-clinician", "Benchmark clinician (synthetic)", "clinician"),
    ("bench-admin", "Benchmark administrator (synthetic)", "administrator"),
)
BENCH_PATIENT = "bench-patient"
# With --current, patients start over two years, the latest a few days short of a full
# course ago: about one in eight has checked in within the last 90 days.
CURRENT_SPREAD_DAYS = 730


def external_id(number: int) -> str:
    return f"BENCH-{number:06d}"


SIGN_IN_PATIENT = external_id(0)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database the URL names if the server does not have it yet (a
    SQLite file is made on first use anyway)."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("postgresql") or not parsed.database:
        return
    server = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            )
            if not exists:
                # The name is quoted as an identifier; it comes from the operator's own URL.
                quoted = parsed.database.replace('"', '""')
                connection.execute(text(f'CREATE DATABASE "{quoted}"'))
    finally:
        admin.dispose()


def ensure_sign_ins(session: Session, clinic_id: int) -> None:
    """The benchmark's sign-ins with :data:`BENCH_PASSWORD` (made, or their password set
    again), ``bench-patient`` tied to the first patient's record once it exists."""
    password_hash = hash_password(BENCH_PASSWORD)
    accounts = [(username, name, role) for username, name, role in BENCH_STAFF]
    patient = session.scalars(
        select(Patient).where(
            Patient.clinic_id == clinic_id, Patient.external_id == SIGN_IN_PATIENT
        )
    ).one_or_none()
    if patient is not None:
        accounts.append((BENCH_PATIENT, patient.name, "patient"))
    for username, display_name, role in accounts:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            user = User(
                clinic_id=clinic_id,
                username=username,
                display_name=display_name,
                role=role,
                password_hash=password_hash,
                failed_logins=0,
                active=True,
            )
            session.add(user)
            session.flush()
        else:
            user.password_hash = password_hash
            user.failed_logins = 0
            user.locked_until = None
            user.active = True
        if role == "patient" and patient is not None:
            patient.user_id = user.id


def administrations(
    first: int,
    count: int,
    weeks: int,
    instrument: str,
    rng: np.random.Generator,
    *,
    start: dt.datetime = START,
    offsets: np.ndarray[Any, np.dtype[np.int64]] | None = None,
) -> AdministrationTable:
    """Weekly answers of patients ``first .. first+count-1``, improving with treatment.

    Patient ``n``'s first treatment is ``offsets[n]`` days after ``start`` (all at ``start``
    without ``offsets``).
    """
    definition = get_instrument(instrument)
    rows = count * weeks
    patient = np.repeat(np.arange(first, first + count), weeks)
    week = np.tile(np.arange(weeks), count)
    start_level = rng.integers(1, 4, count).repeat(weeks)
    level = np.clip(start_level - (week > 2) * rng.integers(0, 3, rows), 0, 3)
    items = {}
    for position, key in enumerate(definition.scored_item_keys):
        values = np.clip(level + rng.integers(-1, 2, rows), 0, 3)
        if instrument == "phq9" and position == 8:
            values = (rng.random(rows) < 0.005).astype(np.int64)  # item 9 rarely positive
        items[key] = pd.Series(pd.array(values, dtype="Int64"))
    shift = offsets[patient] if offsets is not None else 0
    when = pd.Series(
        pd.to_datetime(start) + pd.to_timedelta(7 * week - 1 + shift, unit="D")
    ).dt.tz_convert("UTC")
    return AdministrationTable(
        labels=[f"row {i + 2}" for i in range(rows)],
        patient=pd.Series([external_id(int(p)) for p in patient]),
        instrument=pd.Series([instrument] * rows),
        administered_at=when,
        items=items,
    )


def build(
    url: str, *, patients: int = 10_000, weeks: int = 50, seed: int = 7, current: bool = False
) -> dict[str, float]:
    """Create the clinic (or reuse it if already there); return build timings in seconds.

    Every patient starts on :data:`START` (a clinic whose patients all finished in 2025), or,
    ``current``, on a day drawn over :data:`CURRENT_SPREAD_DAYS` days so that the last
    check-ins end a few days ago: some patients still checking in, others overdue or lost to
    follow-up today, as in a clinic at work (what the worklist and the browser benchmark
    need; every history is still ``weeks`` long, so nobody is in induction).
    """
    ensure_database(url)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        existing = session.scalar(select(func.count()).select_from(Patient)) or 0
    if existing >= patients:
        # Built before the sign-ins existed, perhaps: they are added to the clinic kept.
        with transaction(engine, write=True) as session:
            clinic_id = session.scalar(select(Clinic.id).where(Clinic.name == CLINIC_NAME))
            if clinic_id is not None:
                ensure_sign_ins(session, clinic_id)
        engine.dispose()
        return {"reused": 1.0}
    rng = np.random.default_rng(seed)
    if current:
        # Their own generator: the answers are the same as without ``current``.
        offsets = np.random.default_rng(seed + 1).integers(0, CURRENT_SPREAD_DAYS + 1, patients)
        now = dt.datetime.now(dt.UTC).replace(hour=15, minute=0, second=0, microsecond=0)
        # The latest possible check-in (the last week of the latest starter) 3 days ago.
        start = now - dt.timedelta(days=7 * (weeks - 1) - 1 + CURRENT_SPREAD_DAYS + 3)
    else:
        offsets = None
        start = START
        now = START + dt.timedelta(days=7 * weeks + 30)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name=CLINIC_NAME)
        session.add(clinic)
        session.flush()
        ensure_sign_ins(session, clinic.id)
        clinic_id = clinic.id
    system = Actor.system(clinic_id, "benchmark")
    started = time.perf_counter()
    chunk = 1000
    for first in range(0, patients, chunk):
        count = min(chunk, patients - first)
        for instrument in ("phq9", "gad7"):
            with transaction(engine, write=True) as session:
                store_administrations(
                    session,
                    actor=system,
                    table=administrations(
                        first, count, weeks, instrument, rng, start=start, offsets=offsets
                    ),
                    create_patients=True,
                    now=now,
                )
    timings = {"assessments_s": time.perf_counter() - started}
    started = time.perf_counter()
    with transaction(engine, write=True) as session:
        numbers = {
            patient_id: int(mrn.removeprefix("BENCH-"))
            for patient_id, mrn in session.execute(
                select(Patient.id, Patient.external_id)
                .where(Patient.clinic_id == clinic_id)
                .order_by(Patient.id)
            )
        }
        session.execute(
            insert(Infusion),
            [
                {
                    "clinic_id": clinic_id,
                    "patient_id": patient_id,
                    "administered_at": start
                    + dt.timedelta(
                        days=day + (int(offsets[number]) if offsets is not None else 0), hours=1
                    ),
                    "route": "iv",
                    "dose_mg_per_kg": 0.5,
                    "side_effects": [],
                }
                for patient_id, number in numbers.items()
                for day in INFUSION_DAYS
            ],
        )
    timings["infusions_s"] = time.perf_counter() - started
    # The infusions went in as one raw insert, past the writers that keep course state
    # current: recompute every patient's course state once, as a migrated clinic would be.
    started = time.perf_counter()
    with transaction(engine, write=True) as session:
        build_clinic(session, clinic_id=clinic_id)
    timings["course_state_s"] = time.perf_counter() - started
    with transaction(engine, write=True) as session:
        ensure_sign_ins(session, clinic_id)  # bench-patient, now that the record exists
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load in a running clinic: statistics for the
        # planner and the visibility map that lets index-only scans skip the table. Measured
        # straight after COPY, without it, every "index-only" read visits the rows too.
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        timings["vacuum_analyze_s"] = time.perf_counter() - started
    engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="sqlite:///... or postgresql+...")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=50, help="weekly PHQ-9 and GAD-7 each")
    parser.add_argument(
        "--current",
        action="store_true",
        help="starts spread over two years, ending a few days ago (a clinic at work today)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    timings = build(
        args.database_url, patients=args.patients, weeks=args.weeks, current=args.current
    )
    total = time.perf_counter() - started
    print(f"benchmark clinic in {printable_url(args.database_url)}: {total:.1f} s")
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.1f}")
    staff = ", ".join(username for username, _, _ in BENCH_STAFF)
    print(f"  sign-ins {staff}, {BENCH_PATIENT}: password {BENCH_PASSWORD!r}")


if __name__ == "__main__":
    main()
