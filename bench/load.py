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

The same command runs the other two load benchmarks, each in a module of its own on the
shared harness ``bench/load_harness.py`` (clinic, patients, checks, loopback PostgreSQL):

* ``--during-import ROWS`` (issue 9, item 7): check-ins while ``outcomes import`` writes ROWS
  assessments in another process (``bench/load_during_import.py``);
* ``--signin-flood RATE`` (issue 9, item 3; with ``--think-ms 500``): check-ins beside RATE
  sign-in attempts a second through :func:`data.accounts.sign_in` from
  ``--signin-addresses`` addresses (``bench/signin_flood.py``).

Run: ``.venv/bin/python bench/load.py [--seconds 60] [--backend both] [--json out.json]``,
``.venv/bin/python bench/load.py --during-import 200000 --backend sqlite --patients 20``,
``.venv/bin/python bench/load.py --signin-flood 200 --think-ms 500 --seconds 30``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from load_during_import import main_during_import
from load_harness import (
    MAX_SECONDS,
    LoadResult,
    create_clinic,
    drive,
    ensure_loopback,
    latency_ms,
    loopback_postgres,
    postgres_database,
    verify,
)
from signin_flood import main_signin_flood

from data.engine import make_engine


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


if __name__ == "__main__":
    main()
