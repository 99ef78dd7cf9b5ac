"""Benchmark of the command line's start (issue #13): how long `outcomes --help` takes.

Measures the wall time of whole processes, as the operator waits for them: ``outcomes --help``
and ``outcomes <command> --help`` for a few commands, each the median of five runs after one
warm-up run (the warm-up fills the operating system's file cache). Beside it, the CPU time the
process used, which hardly changes with the machine's load (its load average is printed). With
``--plain`` each is measured again with ``TYPER_USE_RICH=0`` (Typer's help without rich),
which shows what rich's help formatting costs.

Target: ``outcomes --help`` under 0.5 s.

Run: ``.venv/bin/python bench/cli.py [--runs 5] [--plain]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The console script the package installs, beside this interpreter (.venv/bin/outcomes).
OUTCOMES = Path(sys.executable).parent / "outcomes"
COMMANDS = ((), ("import",), ("export",), ("seed-demo",))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from starting the process to its exit, and the CPU seconds it used.

    The CPU time (user + system) hardly depends on what else the machine runs; the wall time,
    what the operator waits for, does.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if "Usage" not in done.stdout:
        raise SystemExit(f"{' '.join(argv)} printed no help:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def median_times(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    timed(argv, env)  # warm-up
    times = [timed(argv, env) for _ in range(runs)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--plain", action="store_true", help="also measure with TYPER_USE_RICH=0 (no rich)"
    )
    args = parser.parse_args()
    if not OUTCOMES.exists():
        raise SystemExit(f"no {OUTCOMES}: install the package (make run or make test)")
    variants = [("rich help", {})]
    if args.plain:
        variants.append(("TYPER_USE_RICH=0", {"TYPER_USE_RICH": "0"}))
    print(f"median of {args.runs} runs after one warm-up ({OUTCOMES}); load {load()}")
    print(f"  {'':<32} {'wall':>8} {'cpu':>8}")
    for name, extra in variants:
        env = {**os.environ, **extra}
        for command in COMMANDS:
            argv = [str(OUTCOMES), *command, "--help"]
            wall, cpu = median_times(argv, env, args.runs)
            label = " ".join(["outcomes", *command, "--help"])
            print(f"  {label:<32} {wall:6.3f} s {cpu:6.3f} s   ({name})")
    print(f"load afterwards {load()} ({os.cpu_count()} cores)")


def load() -> str:
    """The machine's load average over 1, 5 and 15 minutes: wall times grow with it."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
