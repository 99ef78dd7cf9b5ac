"""A large synthetic clinic for benchmarks: N patients with weekly PHQ-9 and GAD-7.

10,000 patients x 50 weeks x 2 instruments = 1,000,000 assessments, plus 10 infusions per
patient. Assessments go in through the importer's own bulk path
(:func:`data.interchange.administrations.store_administrations`: validation, scoring,
executemany on SQLite and COPY on PostgreSQL), so the benchmark database is built the way a
clinic's history would be.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, text

from data.access import Actor
from data.engine import make_engine, transaction
from data.interchange.administrations import store_administrations
from data.interchange.pipeline import AdministrationTable
from data.models import Clinic, Infusion, Patient, User
from data.schema import upgrade
from outcomes.instruments import get_instrument

START = dt.datetime(2025, 1, 6, 15, 0, tzinfo=dt.UTC)
INFUSION_DAYS = (0, 2, 4, 7, 9, 11, 30, 60, 120, 240)


def external_id(number: int) -> str:
    return f"BENCH-{number:06d}"


def administrations(
    first: int, count: int, weeks: int, instrument: str, rng: np.random.Generator
) -> AdministrationTable:
    """Weekly answers of patients ``first .. first+count-1``, improving with treatment."""
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
    when = pd.Series(pd.to_datetime(START) + pd.to_timedelta(7 * week - 1, unit="D")).dt.tz_convert(
        "UTC"
    )
    return AdministrationTable(
        labels=[f"row {i + 2}" for i in range(rows)],
        patient=pd.Series([external_id(int(p)) for p in patient]),
        instrument=pd.Series([instrument] * rows),
        administered_at=when,
        items=items,
    )


def build(url: str, *, patients: int = 10_000, weeks: int = 50, seed: int = 7) -> dict[str, float]:
    """Create the clinic (or reuse it if already there); return build timings in seconds."""
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        existing = session.scalar(select(func.count()).select_from(Patient)) or 0
    if existing >= patients:
        engine.dispose()
        return {"reused": 1.0}
    rng = np.random.default_rng(seed)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Benchmark clinic (synthetic)")
        session.add(clinic)
        session.flush()
        for username, role in (("bench-clinician", "clinician"), ("bench-admin", "administrator")):
            session.add(
                User(
                    clinic_id=clinic.id,
                    username=username,
                    display_name=username,
                    role=role,
                    password_hash="!",
                    failed_logins=0,
                    active=True,
                )
            )
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
                    table=administrations(first, count, weeks, instrument, rng),
                    create_patients=True,
                    now=START + dt.timedelta(days=7 * weeks + 30),
                )
    timings = {"assessments_s": time.perf_counter() - started}
    started = time.perf_counter()
    with transaction(engine, write=True) as session:
        ids = session.scalars(
            select(Patient.id).where(Patient.clinic_id == clinic_id).order_by(Patient.id)
        ).all()
        session.execute(
            insert(Infusion),
            [
                {
                    "clinic_id": clinic_id,
                    "patient_id": patient_id,
                    "administered_at": START + dt.timedelta(days=day, hours=1),
                    "route": "iv",
                    "dose_mg_per_kg": 0.5,
                    "side_effects": [],
                }
                for patient_id in ids
                for day in INFUSION_DAYS
            ],
        )
    timings["infusions_s"] = time.perf_counter() - started
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
