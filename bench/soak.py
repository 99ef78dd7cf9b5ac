"""Soak test of the check-in write path: a long load, watched minute by minute (issue #5).

``bench/load.py`` shows a minute of load is handled; this shows nothing wears out over a
long one. ``--patients`` patients (default 50) submit PHQ-9 check-ins at a patient's pace
(``--think-ms``, default 500) through :func:`data.checkin.submit_checkin`, with the same
double submits and self-harm answers as ``bench/load.py``, for ``--minutes`` (default 30),
on SQLite and PostgreSQL.

Reported per window (``--window-seconds``, default 60): submissions, errors, p50/p95/p99
latency, the process's resident memory and the database's size. At the end every
submission of the whole run is checked as ``bench/load.py`` checks one minute (stored
exactly once, every self-harm answer with its alert, one audit event each), and the run
fails if any window had an error, if the last window's p95 is over twice the first's
(latency creeping up), or if memory grew by more than 100 MB (a leak).

Run: ``.venv/bin/python bench/soak.py [--minutes 30] [--backend both] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
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
from load_harness import (
    LoadResult,
    Sent,
    create_clinic,
    drive,
    ensure_loopback,
    latency_ms,
    loopback_postgres,
    postgres_database,
    verify,
)
from sqlalchemy import Engine, text

from data.engine import make_engine

MAX_MINUTES = 240
LATENCY_CREEP = 2.0  # the last window's p95 may be at most this many times the first's
MEMORY_GROWTH_MB = 100.0


@dataclass
class Window:
    """One window of the run."""

    minute: float  # when the window ended, in minutes since the start
    submissions: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rss_mb: float
    database_mb: float


@dataclass
class SoakResult:
    backend: str
    patients: int
    think_ms: int
    minutes: float = 0.0
    windows: list[Window] = field(default_factory=list)
    check: LoadResult | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.check is not None and self.check.ok


def resident_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def database_mb(engine: Engine) -> float:
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database or "")
        files = [database, database.with_name(database.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    with engine.connect() as connection:
        size = connection.scalar(text("SELECT pg_database_size(current_database())"))
    return float(size or 0) / 2**20


def _window(sent: list[Sent], minute: float, engine: Engine) -> Window:
    p50, p95, p99, _ = latency_ms(sent)
    return Window(
        minute=round(minute, 2),
        submissions=len(sent),
        errors=sum(s.error is not None for s in sent),
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        rss_mb=round(resident_mb(), 1),
        database_mb=round(database_mb(engine), 1),
    )


def run_soak(
    url: str,
    *,
    backend: str,
    patients: int,
    minutes: float,
    window_seconds: float = 60.0,
    think_seconds: float = 0.5,
    report: bool = False,
    engine_options: dict[str, Any] | None = None,
) -> SoakResult:
    """Load the database at ``url`` for ``minutes`` in windows; check everything at the end."""
    if not 0 < minutes <= MAX_MINUTES:
        raise ValueError(f"minutes must be in (0, {MAX_MINUTES}]")
    ensure_loopback(url)
    engine = make_engine(url, **(engine_options or {}))
    result = SoakResult(backend=backend, patients=patients, think_ms=round(think_seconds * 1000))
    try:
        actors = create_clinic(engine, patients)
        started = time.perf_counter()
        every: list[Sent] = []
        # Each window starts with a fresh seed: the same one each time would resend forms.
        window_number = 0
        while (elapsed := time.perf_counter() - started) < minutes * 60:
            seconds = min(window_seconds, minutes * 60 - elapsed)
            sent = drive(
                engine,
                actors,
                seconds=seconds,
                max_submissions=10**9,
                think_seconds=think_seconds,
                seed=1000 + window_number,
                first_week=len(every) + 1,
            )
            window_number += 1
            every.extend(sent)
            window = _window(sent, (time.perf_counter() - started) / 60, engine)
            result.windows.append(window)
            if report:
                print(f"[{backend}] {_row(window)}", flush=True)
        result.minutes = round((time.perf_counter() - started) / 60, 2)
        check = LoadResult(
            backend=backend,
            patients=patients,
            seconds=round(result.minutes * 60, 1),
            think_ms=result.think_ms,
            submissions=len(every),
            forms=len({s.key for s in every}),
            resends=sum(s.resend for s in every),
            self_harm_forms=len({s.key for s in every if s.self_harm}),
        )
        verify(engine, actors[0].clinic_id, every, check)
        result.check = check
        _judge(result)
        return result
    finally:
        engine.dispose()


def _judge(result: SoakResult) -> None:
    windows = result.windows
    failing = [w.minute for w in windows if w.errors]
    if failing:
        result.problems.append(f"errors in the windows ending at minutes {failing}")
    if len(windows) >= 2:
        first, last = windows[0], windows[-1]
        if last.p95_ms > LATENCY_CREEP * max(first.p95_ms, 1.0):
            result.problems.append(
                f"p95 crept from {first.p95_ms} ms to {last.p95_ms} ms "
                f"(more than {LATENCY_CREEP:g}x)"
            )
        if last.rss_mb - first.rss_mb > MEMORY_GROWTH_MB:
            result.problems.append(
                f"memory grew from {first.rss_mb} MB to {last.rss_mb} MB "
                f"(more than {MEMORY_GROWTH_MB:g} MB)"
            )


def _row(window: Window) -> str:
    return (
        f"minute {window.minute:6.2f}: {window.submissions:6d} submits, "
        f"{window.errors} errors, p50/p95/p99 {window.p50_ms}/{window.p95_ms}/"
        f"{window.p99_ms} ms, RSS {window.rss_mb} MB, database {window.database_mb} MB"
    )


def summary(result: SoakResult) -> str:
    check = result.check
    lines = [
        f"{result.backend}: {result.patients} patients, {result.think_ms} ms think time, "
        f"{result.minutes} minutes, {len(result.windows)} windows"
    ]
    if check is not None:
        lines.append(
            f"  {check.submissions} submissions, {check.stored} stored, {check.alerts} alerts "
            f"for {check.self_harm_forms} self-harm forms, {check.errors} errors"
        )
    if result.windows:
        p95 = [w.p95_ms for w in result.windows]
        first, last = result.windows[0], result.windows[-1]
        lines.append(
            f"  p95 by window: first {p95[0]} ms, median {float(np.median(p95)):.1f} ms, "
            f"worst {max(p95)} ms, last {p95[-1]} ms; RSS {first.rss_mb} -> {last.rss_mb} MB; "
            f"database {first.database_mb} -> {last.database_mb} MB"
        )
    problems = [*result.problems, *(check.problems if check else [])]
    lines.extend(f"  PROBLEM: {problem}" for problem in problems)
    lines.append(f"  {'pass' if result.ok else 'FAIL'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=30.0, help=f"per database, <= {MAX_MINUTES}"
    )
    parser.add_argument("--window-seconds", type=float, default=60.0)
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--think-ms", type=float, default=500.0)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", help="an existing loopback server (its 'postgres' db)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not 0 < args.minutes <= MAX_MINUTES or not 0 < args.patients <= 150:
        parser.error(f"--minutes must be in (0, {MAX_MINUTES}] and --patients in 1..150")
    common = {
        "patients": args.patients,
        "minutes": args.minutes,
        "window_seconds": args.window_seconds,
        "think_seconds": args.think_ms / 1000,
        "report": True,
    }
    results: list[SoakResult] = []
    with tempfile.TemporaryDirectory(prefix="outcomes-soak-") as scratch:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{Path(scratch) / 'soak.db'}"
            results.append(run_soak(url, backend="sqlite", **common))
            print(summary(results[-1]), flush=True)
        if args.backend in ("postgres", "both"):
            with loopback_postgres(args.postgres_url, "soak") as server:
                url = postgres_database(server, f"soak_{uuid.uuid4().hex[:8]}")
                results.append(run_soak(url, backend="postgresql", **common))
                print(summary(results[-1]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps([asdict(r) | {"ok": r.ok} for r in results], indent=2) + "\n"
        )
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
