"""Check-ins during a large import (issue 9, item 7): ``bench/load.py --during-import ROWS``.

``--patients`` patients (think time ``--think-ms``, default 200) check in while ``outcomes
import assessments`` runs in another process, importing ROWS PHQ-9 rows (e.g. 200,000) into
another clinic of the same database. Check-ins run from the import's start to its exit;
reported: their p50/p95/p99/max, errors, the same checks as ``bench/load.py`` (see
:func:`load_harness.verify`), and the import's rows, seconds and rows/s. Target p95 < 500 ms
on SQLite.

Run through ``bench/load.py``:
``.venv/bin/python bench/load.py --during-import 200000 --backend sqlite --patients 20``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from load_harness import (
    ITEMS,
    MAX_SECONDS,
    ROOT,
    LoadResult,
    Sent,
    create_clinic,
    ensure_loopback,
    latency_ms,
    loopback_postgres,
    postgres_database,
    random_answers,
    submit,
    verify,
)
from sqlalchemy import Engine, func, select

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import Assessment, Clinic


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
        started = dt.datetime.now(dt.UTC)
        while not done.is_set():
            harm = rng.random() < 0.10
            # A week apart: one check-in per window (issue 12).
            sent = Sent(
                key=f"{actor.patient_id}:{uuid.uuid4().hex}",
                self_harm=harm,
                resend=False,
                administered_at=started - dt.timedelta(days=7 * len(mine)),
            )
            submit(engine, actor, random_answers(rng, harm), sent)
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
