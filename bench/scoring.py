"""Benchmark: scoring one million PHQ-9 check-ins.

Measures, in one run, on 1M rows of nine nullable ``Int64`` item columns with about 1% of
answers missing:

* ``score_frame`` (the library's vectorised scorer, everything included: validation,
  proration, bands, flags, the result frame);
* the *physical bound*: numpy adding the raw integer buffers of the same nine columns, reading
  the input once, with no validation at all;
* a Python loop calling ``score`` once per row, timed on a sample and scaled to 1M rows (the
  full loop would take minutes and tells nothing more).

Targets (issue #2): ``score_frame`` within 5x the bound, and at least 100x faster than the loop.

Run with ``make bench`` or ``.venv/bin/python bench/scoring.py [--rows N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from outcomes import score, score_frame

KEYS = [f"phq9_{i}" for i in range(1, 10)]


def make_frame(rows: int, missing: float, seed: int = 20261122) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            key: pd.arrays.IntegerArray(
                rng.integers(0, 4, rows, dtype=np.int64), rng.random(rows) < missing
            )
            for key in KEYS
        }
    )


def physical_bound(frame: pd.DataFrame) -> np.ndarray:
    buffers = [frame[key].array._data for key in KEYS]  # type: ignore[attr-defined]
    total = buffers[0].copy()
    for buffer in buffers[1:]:
        np.add(total, buffer, out=total)
    return total


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--missing", type=float, default=0.01, help="share of answers missing")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--loop-sample", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    frame = make_frame(args.rows, args.missing)
    score_frame("phq9", frame.head(1000))  # warm imports and caches before timing
    bound = timed(lambda: physical_bound(frame), args.repeat)
    vectorised = timed(lambda: score_frame("phq9", frame), args.repeat)

    records = frame.head(args.loop_sample).astype(object).to_dict("records")
    clean = [{k: (None if v is pd.NA else v) for k, v in r.items()} for r in records]
    start = time.perf_counter()
    for record in clean:
        score("phq9", record)
    loop_per_row = (time.perf_counter() - start) / len(clean)
    loop_projected = loop_per_row * args.rows

    best_bound, best_vectorised = min(bound), min(vectorised)
    scored = score_frame("phq9", frame)
    figures = {
        "rows": args.rows,
        "missing_share": args.missing,
        "invalid_rows": int((~scored["valid"]).sum()),
        "prorated_rows": int(scored["prorated"].sum()),
        "bound_ms_min": round(best_bound * 1e3, 2),
        "bound_ms_median": round(statistics.median(bound) * 1e3, 2),
        "score_frame_ms_min": round(best_vectorised * 1e3, 2),
        "score_frame_ms_median": round(statistics.median(vectorised) * 1e3, 2),
        "ratio_to_bound_min": round(best_vectorised / best_bound, 2),
        "ratio_to_bound_median": round(statistics.median(vectorised) / statistics.median(bound), 2),
        "loop_us_per_row": round(loop_per_row * 1e6, 1),
        "loop_projected_s": round(loop_projected, 1),
        "speedup_over_loop": round(loop_projected / best_vectorised),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    print(f"{args.rows:,} PHQ-9 rows, {args.missing:.0%} of answers missing, best of {args.repeat}")
    print(f"  physical bound (numpy sum of raw buffers): {figures['bound_ms_min']:>8} ms")
    print(f"  score_frame:                               {figures['score_frame_ms_min']:>8} ms")
    print(f"  score_frame / bound:                       {figures['ratio_to_bound_min']:>8} x")
    print(
        f"  score() loop: {figures['loop_us_per_row']} us/row on {len(clean):,} rows, "
        f"{figures['loop_projected_s']} s projected for {args.rows:,}"
    )
    print(f"  score_frame speed-up over the loop:        {figures['speedup_over_loop']:>8} x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
