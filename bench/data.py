"""Benchmark of the data layer on SQLite and PostgreSQL (issue #3).

Measures, on each database:

* bulk import rate of a 100,000-row PHQ-9 CSV file (read, validate, score, write, commit),
  the median of five imports, each into a new clinic of the same database;
* one patient's assessments + infusions, on a 10,000-assessment clinic and on a
  1,000,000-assessment clinic (10,000 patients): median of 200 reads each, and the ratio
  (an indexed read should not grow with the clinic);
* clinic-wide weekly aggregates computed in SQL on the 1,000,000-assessment clinic;
* with ``--fast-paths`` only: each fast path of :mod:`data.interchange.bulk` against the plain
  code it replaces, on 100,000 PHQ-9 rows on SQLite (median of five; the figures quoted beside
  the tricks).

Targets: import >= 100k rows/s on SQLite; patient read < 20 ms and <= 1.3x; aggregates < 1 s.
PostgreSQL runs on a throwaway server started by ``scripts/test-postgres.sh`` unless
``--postgres-url`` is given. Databases are kept in ``--workdir`` between runs.

Run: ``.venv/bin/python bench/data.py [--skip-postgres] [--fast-paths]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),  # the repository: its data package comes before this file
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from bigclinic import build

from data.access import Actor
from data.clinic import SCORING_VERSION
from data.engine import make_engine, transaction
from data.interchange import bulk
from data.interchange.csv_assessments import import_assessments_csv
from data.models import Assessment, Patient, User
from data.records.assessments import AssessmentRows, write_assessments
from data.records.cohort import weekly_aggregates
from data.records.patient_record import patient_assessments, patient_infusions
from data.records.patients import NewPatient, register_patients
from data.schema import upgrade

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int, patients: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    weeks = rows // patients
    start = dt.date(2025, 2, 3)
    with path.open("w") as out:
        out.write(
            "patient_id,instrument,administered_at,"
            + ",".join(f"phq9_{i}" for i in range(1, 10))
            + "\n"
        )
        for p in range(patients):
            level = int(rng.integers(1, 4))
            for w in range(weeks):
                answers = np.clip(level - (w > 2) + rng.integers(-1, 2, 9), 0, 3)
                answers[8] = 0
                day = start + dt.timedelta(days=7 * w)
                out.write(
                    f"IMPORT-{p:05d},phq9,{day.isoformat()},"
                    + ",".join(str(int(a)) for a in answers)
                    + "\n"
                )


def import_rate(url: str, workdir: Path, *, repeat: int = 5) -> dict[str, float]:
    """Import the file ``repeat`` times, each into a new clinic of the same database (so later
    runs write into a table that already holds rows); the median run is reported."""
    engine = make_engine(url)
    upgrade(engine)
    csv = workdir / "import-100k.csv"
    if not csv.exists():
        write_csv(csv, 100_000, 2_000)
    times = []
    for _ in range(repeat):
        with transaction(engine, write=True) as session:
            session.execute(
                text(
                    "insert into clinic (name, is_demo, created_at) values "
                    "('Import benchmark', false, CURRENT_TIMESTAMP)"
                )
            )
            clinic_id = session.scalar(text("select max(id) from clinic"))
        started = time.perf_counter()
        with transaction(engine, write=True) as session:
            result = import_assessments_csv(
                session, actor=Actor.system(int(clinic_id)), source=csv, create_patients=True
            )
        times.append(time.perf_counter() - started)
    engine.dispose()
    seconds = statistics.median(times)
    return {
        "import_rows": float(result.imported),
        "import_s": seconds,
        "import_s_min": min(times),
        "import_s_max": max(times),
        "import_rows_per_s": result.imported / seconds,
    }


def patient_reads(url: str, *, samples: int = 200) -> float:
    """Median milliseconds of one patient's assessments + infusions, in one transaction."""
    engine = make_engine(url)
    with transaction(engine) as session:
        clinician = session.scalars(select(User).where(User.role == "clinician")).first()
        assert clinician is not None
        actor = Actor(clinician.id, clinician.clinic_id, "clinician", clinician.username)
        ids = session.scalars(
            select(Patient.id).where(Patient.clinic_id == clinician.clinic_id)
        ).all()
    rng = random.Random(11)
    times = []
    for _ in range(samples + 10):
        patient_id = rng.choice(ids)
        started = time.perf_counter()
        with transaction(engine) as session:
            scores = patient_assessments(session, actor=actor, patient_id=patient_id)
            infusions = patient_infusions(session, actor=actor, patient_id=patient_id)
        times.append(time.perf_counter() - started)
        assert len(scores) and len(infusions)
    engine.dispose()
    return statistics.median(times[10:]) * 1000


def aggregates(url: str, *, repeat: int = 5) -> float:
    engine = make_engine(url)
    with transaction(engine) as session:
        admin = session.scalars(select(User).where(User.role == "administrator")).first()
        assert admin is not None
        actor = Actor(admin.id, admin.clinic_id, "administrator", admin.username)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with transaction(engine) as session:
            weekly = weekly_aggregates(session, actor=actor, instrument="phq9")
        times.append(time.perf_counter() - started)
    assert len(weekly) > 40
    engine.dispose()
    return statistics.median(times) * 1000


def count_assessments(url: str) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        n = session.scalar(text("select count(*) from assessment"))
    engine.dispose()
    return int(n or 0)


def run(name: str, urls: dict[str, str], workdir: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    print(
        f"[{name}] building the 10k- and 1M-assessment clinics (kept for later runs)...", flush=True
    )
    for size, patients in (("small", 100), ("big", 10_000)):
        timings = build(urls[size], patients=patients)
        figures.update({f"build_{size}_{k}": v for k, v in timings.items()})
        figures[f"{size}_assessments"] = float(count_assessments(urls[size]))
    figures.update(import_rate(urls["import"], workdir))
    figures["patient_read_small_ms"] = patient_reads(urls["small"])
    figures["patient_read_big_ms"] = patient_reads(urls["big"])
    figures["patient_read_ratio"] = (
        figures["patient_read_big_ms"] / figures["patient_read_small_ms"]
    )
    figures["weekly_aggregates_big_ms"] = aggregates(urls["big"])
    print(
        f"[{name}] import {figures['import_rows_per_s']:,.0f} rows/s "
        f"({figures['import_rows']:,.0f} rows, median of 5: {figures['import_s']:.2f} s; "
        f"range {figures['import_s_min']:.2f}-{figures['import_s_max']:.2f} s)"
    )
    print(
        f"[{name}] one patient's assessments + infusions: "
        f"{figures['patient_read_small_ms']:.1f} ms at {figures['small_assessments']:,.0f} "
        f"assessments, {figures['patient_read_big_ms']:.1f} ms at "
        f"{figures['big_assessments']:,.0f} ({figures['patient_read_ratio']:.2f}x)"
    )
    print(
        f"[{name}] weekly aggregates in SQL over the 1M clinic: "
        f"{figures['weekly_aggregates_big_ms']:.0f} ms"
    )
    return figures


def postgres_database(server: str, name: str) -> str:
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("select 1 from pg_database where datname = :n"), {"n": name}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _median_s(run: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fast_paths(workdir: Path, rows: int = 100_000, patients: int = 2_000) -> dict[str, float]:
    """Each fast path of data.interchange.bulk and the plain code it replaces, in seconds."""
    rng = np.random.default_rng(5)
    answers = rng.integers(0, 4, size=(rows, 9))
    items = {f"phq9_{i + 1}": pd.Series(answers[:, i], dtype="Int64") for i in range(9)}
    start = int(dt.datetime(2025, 2, 3, 12, tzinfo=dt.UTC).timestamp() * 1_000_000)
    at = [start + 7 * 86_400_000_000 * (n % 50) for n in range(rows)]
    dicts = [dict(zip(items, map(int, row), strict=True)) for row in answers]
    figures = {
        "answers_json_template_s": _median_s(lambda: bulk.answers_json(items, rows, 0, 3)),
        # The same conversion from the columns as answers_json, then the join by column.
        "answers_json_by_column_s": _median_s(
            lambda: bulk._answers_json_by_column(
                np.column_stack(
                    [c.to_numpy(dtype=np.float64, na_value=np.nan) for c in items.values()]
                ),
                list(items),
                0,
                3,
            )
        ),
        "answers_json_dumps_s": _median_s(lambda: [json.dumps(d) for d in dicts]),
        "time_texts_numpy_s": _median_s(lambda: bulk.time_texts(at, "sqlite")),
        "time_texts_strftime_s": _median_s(
            lambda: [
                (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)).strftime(
                    "%Y-%m-%d %H:%M:%S.%f"
                )
                for us in at
            ]
        ),
    }
    path = workdir / "fast-paths.db"
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with transaction(engine, write=True) as session:
        session.execute(
            text(
                "insert into clinic (name, is_demo, created_at) values "
                "('Fast paths', false, CURRENT_TIMESTAMP)"
            )
        )
        clinic_id = int(session.scalar(text("select max(id) from clinic")))
        ids = register_patients(
            session,
            actor=Actor.system(clinic_id),
            patients=[NewPatient(f"FAST-{p:05d}", f"FAST-{p:05d}") for p in range(patients)],
        )
    patient_ids = sorted(ids.values())
    table = AssessmentRows(
        patient_id=[patient_ids[n * patients // rows] for n in range(rows)],
        instrument=["phq9"] * rows,
        administered_at=at,
        answers=bulk.answers_json(items, rows, 0, 3),
        total=[int(t) for t in answers[:, :9].sum(axis=1)],
        severity=["mild"] * rows,
        flags=["[]"] * rows,
    )
    now = dt.datetime.now(dt.UTC)

    def driver() -> None:
        with Session(engine) as session:
            write_assessments(
                session,
                table,
                clinic_id=clinic_id,
                source="import",
                entered_by_id=None,
                created_at=now,
            )
            session.rollback()

    def orm() -> None:
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        values = [
            {
                "clinic_id": clinic_id,
                "patient_id": table.patient_id[n],
                "instrument": "phq9",
                "administered_at": epoch + dt.timedelta(microseconds=at[n]),
                "source": "import",
                "answers": dicts[n],
                "total": table.total[n],
                "severity": "mild",
                "flags": [],
                "valid": True,
                "scoring_version": SCORING_VERSION,
                "entered_by_id": None,
                "created_at": now,
            }
            for n in range(rows)
        ]
        with Session(engine) as session:
            session.execute(insert(Assessment), values)
            session.rollback()

    figures["write_driver_s"] = _median_s(driver)
    figures["write_orm_s"] = _median_s(orm)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "outcomes-bench"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", help="an existing server (its 'postgres' database)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--fast-paths", action="store_true", help="only the fast paths against the plain code"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.fast_paths:
        print(json.dumps(fast_paths(args.workdir), indent=2))
        return
    results: dict[str, dict[str, float]] = {}
    sqlite = {size: f"sqlite:///{args.workdir / f'{size}.db'}" for size in ("small", "big")}
    (args.workdir / "import.db").unlink(missing_ok=True)
    sqlite["import"] = f"sqlite:///{args.workdir / 'import.db'}"
    results["sqlite"] = run("sqlite", sqlite, args.workdir)

    if not args.skip_postgres:
        folder = None
        server = args.postgres_url
        if server is None:
            folder = Path("/tmp") / f"outcomes-bench-pg-{uuid.uuid4().hex[:8]}"
            server = subprocess.run(
                [str(ROOT / "scripts" / "test-postgres.sh"), "start", str(folder), "55499"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        try:
            urls = {size: postgres_database(server, f"bench_{size}") for size in ("small", "big")}
            urls["import"] = postgres_database(server, f"bench_import_{uuid.uuid4().hex[:6]}")
            results["postgresql"] = run("postgresql", urls, args.workdir)
        finally:
            if folder is not None:
                subprocess.run(
                    [str(ROOT / "scripts" / "test-postgres.sh"), "stop", str(folder)], check=False
                )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
