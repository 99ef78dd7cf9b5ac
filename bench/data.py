"""Benchmark of the data layer on SQLite and PostgreSQL (issue #3).

Measures, on each database:

* bulk import rate of a 100,000-row PHQ-9 CSV file (read, validate, score, write, commit),
  the median of five imports, each into a new clinic of the same database;
* one patient's assessments + infusions, on a 10,000-assessment clinic and on a
  1,000,000-assessment clinic (10,000 patients): median of 200 reads each, and the ratio
  (an indexed read should not grow with the clinic);
* clinic-wide weekly aggregates computed in SQL on the 1,000,000-assessment clinic.

Targets: import >= 100k rows/s on SQLite; patient read < 20 ms and <= 1.3x; aggregates < 1 s.
PostgreSQL runs on a throwaway server started by ``scripts/test-postgres.sh`` unless
``--postgres-url`` is given. Databases are kept in ``--workdir`` between runs.

Run: ``.venv/bin/python bench/data.py [--skip-postgres]``
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
from pathlib import Path

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),  # the repository: its data package comes before this file
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from bigclinic import build

from data.access import Actor
from data.csv_io import import_assessments_csv
from data.engine import make_engine, transaction
from data.models import Patient, User
from data.records.cohort import weekly_aggregates
from data.records.patient_record import patient_assessments, patient_infusions
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "outcomes-bench"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", help="an existing server (its 'postgres' database)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
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
