"""Benchmark of the command line's start (issue #13): how long `outcomes --help` takes.

Measures the wall time of whole processes, as the operator waits for them: ``outcomes --help``
and ``outcomes <command> --help`` for a few commands, each the median of five runs after one
warm-up run (the warm-up fills the operating system's file cache). With ``--plain`` each is
measured again with ``TYPER_USE_RICH=0`` (Typer's help without rich), which shows what rich's
help formatting costs.

Target: ``outcomes --help`` under 0.5 s.

Run: ``.venv/bin/python bench/cli.py [--runs 5] [--plain]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The console script the package installs, beside this interpreter (.venv/bin/outcomes).
OUTCOMES = Path(sys.executable).parent / "outcomes"
COMMANDS = ((), ("import",), ("export",), ("seed-demo",))


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from starting the process to its exit; the help text must come out."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    if "Usage" not in done.stdout:
        raise SystemExit(f"{' '.join(argv)} printed no help:\n{done.stdout}{done.stderr}")
    return elapsed


def median_time(argv: list[str], env: dict[str, str], runs: int) -> float:
    wall_time(argv, env)  # warm-up
    return statistics.median(wall_time(argv, env) for _ in range(runs))


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
    print(f"median wall time of {args.runs} runs after one warm-up ({OUTCOMES})")
    for name, extra in variants:
        env = {**os.environ, **extra}
        for command in COMMANDS:
            argv = [str(OUTCOMES), *command, "--help"]
            seconds = median_time(argv, env, args.runs)
            label = " ".join(["outcomes", *command, "--help"])
            print(f"  {label:<32} {seconds:6.3f} s   ({name})")


if __name__ == "__main__":
    main()
