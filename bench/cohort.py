"""Benchmark: the administrator's outcomes page on a clinic of 10,000 patients.

Builds, in memory, the frames the page reads from the database for one instrument:

* 10,000 patients, each with 50 weekly PHQ-9 check-ins from the week before the first
  infusion (about 15% of weeks skipped, about 1% of totals missing: an invalid form), so
  about 425,000 assessment rows;
* 10 infusions each: six induction infusions over 12 days, then four maintenance infusions
  three to eight weeks apart (100,000 rows).

Totals follow simple but realistic courses: a baseline of 10-27, a rapid or slow
improvement of varying size (most patients respond, about a third remit), a relapse for
some responders, day-to-day noise. Dates carry a time of day and the UTC time zone, as the
database returns them.

Then it times the library calls the page makes (``course_outcomes`` once,
``response_rates`` given those courses, ``mean_score_by_week``, both Kaplan-Meier curves),
prints a table and the total (target: under 1 s), and times once, for comparison, the
per-patient reference (``tests/reference/course_reference.py``: the readable
``outcomes.patient_course.patient_course`` once per patient), checking that it gives the same
frame.

Run with ``.venv/bin/python bench/cohort.py [--patients N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from outcomes.alignment import align
from outcomes.cohort import mean_score_by_week, response_rates
from outcomes.course import course_outcomes
from outcomes.survival import durability_curve, time_to_response_curve

# The per-patient reference loop is test code (tests/reference/): reach it from the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.reference.course_reference import course_outcomes_reference

INSTRUMENT = "phq9"
WEEKS = 50
INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)
MAINTENANCE_INFUSIONS = 4
START = pd.Timestamp("2024-01-01 15:00", tz="UTC")
# The day the statuses are read: within the year of first infusions plus 50 weeks, so the
# clinic mixes courses running, lost to follow-up and ended (a fixed day: repeatable runs).
TODAY = (START + pd.Timedelta(days=400)).date()


def make_clinic(
    patients: int, *, skipped: float = 0.15, invalid: float = 0.01, seed: int = 20260501
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assessment and infusion frames of a synthetic clinic (see the module docstring).

    Returns
    -------
    (assessments, infusions)
        ``patient_id`` (int64), ``administered_at`` (datetime64[ns, UTC]) and, for
        assessments, ``total`` (Int64, NA for an invalid form).
    """
    rng = np.random.default_rng(seed)
    patient_ids = np.arange(1, patients + 1, dtype=np.int64)
    # First infusions spread over a year, so the cohort mixes calendar dates.
    first_day = rng.integers(0, 365, patients)

    maintenance = INDUCTION_DAYS[-1] + np.cumsum(
        rng.integers(21, 57, (patients, MAINTENANCE_INFUSIONS)), axis=1
    )
    offsets = np.hstack([np.tile(INDUCTION_DAYS, (patients, 1)), maintenance])
    infusions = pd.DataFrame(
        {
            "patient_id": np.repeat(patient_ids, offsets.shape[1]),
            "administered_at": START
            + pd.to_timedelta((first_day[:, None] + offsets).ravel(), unit="D"),
        }
    )

    # Week 0 is the baseline check-in, one to three days before the first infusion; later
    # check-ins fall within two days of their week, so a patient's dates never repeat.
    week = np.arange(WEEKS)
    jitter = rng.integers(-2, 3, (patients, WEEKS))
    jitter[:, 0] = -rng.integers(1, 4, patients)
    day = 7 * week[None, :] + jitter

    baseline = rng.integers(10, 28, patients)
    responder = rng.random(patients) < 0.6
    improvement = np.where(
        responder, rng.uniform(0.5, 0.95, patients), rng.uniform(0.0, 0.45, patients)
    )
    weeks_to_effect = rng.uniform(0.3, 6.0, patients)  # ketamine: often within days
    relapse_week = np.where(
        responder & (rng.random(patients) < 0.3), rng.uniform(6, WEEKS, patients), np.inf
    )
    weeks_since = np.maximum(day / 7, 0)
    fraction_left = 1 - improvement[:, None] * (1 - np.exp(-weeks_since / weeks_to_effect[:, None]))
    relapsed = weeks_since >= relapse_week[:, None]
    fraction_left = np.where(relapsed, np.maximum(fraction_left, 0.8), fraction_left)
    totals = np.rint(baseline[:, None] * fraction_left + rng.normal(0, 1.5, day.shape))
    totals = np.clip(totals, 0, 27).astype(np.int64)

    kept = rng.random(day.shape) >= skipped
    kept[:, 0] |= rng.random(patients) < 0.97  # most patients have their baseline
    assessments = pd.DataFrame(
        {
            "patient_id": np.repeat(patient_ids, WEEKS)[kept.ravel()],
            "administered_at": START
            + pd.to_timedelta((first_day[:, None] + day).ravel()[kept.ravel()], unit="D"),
            "total": pd.arrays.IntegerArray(
                totals.ravel()[kept.ravel()], rng.random(int(kept.sum())) < invalid
            ),
        }
    )
    # The database returns rows in date order, not grouped by patient.
    assessments = assessments.sort_values("administered_at", kind="stable", ignore_index=True)
    return assessments, infusions


def timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--skip-reference", action="store_true", help="do not time the per-patient loop"
    )
    args = parser.parse_args()

    built = time.perf_counter()
    assessments, infusions = make_clinic(args.patients)
    built = time.perf_counter() - built
    print(
        f"{args.patients:,} patients: {len(assessments):,} assessments, "
        f"{len(infusions):,} infusions (built in {built:.1f} s)"
    )
    # Warm imports and caches (lifelines, scipy) before timing.
    small = assessments[assessments["patient_id"] <= 50]
    few = infusions[infusions["patient_id"] <= 50]
    warm = course_outcomes(INSTRUMENT, small, few, today=TODAY)
    response_rates(INSTRUMENT, small, few, courses=warm)
    mean_score_by_week(INSTRUMENT, small, few)
    time_to_response_curve(warm)
    durability_curve(warm)

    courses_time, courses = timed(
        lambda: course_outcomes(INSTRUMENT, assessments, infusions, today=TODAY), args.repeat
    )
    assert isinstance(courses, pd.DataFrame)
    steps: list[tuple[str, float]] = [
        ("course_outcomes", courses_time),
        (
            "response_rates(courses=...)",
            timed(
                lambda: response_rates(INSTRUMENT, assessments, infusions, courses=courses),
                args.repeat,
            )[0],
        ),
        (
            "mean_score_by_week",
            timed(lambda: mean_score_by_week(INSTRUMENT, assessments, infusions), args.repeat)[0],
        ),
        ("time_to_response_curve", timed(lambda: time_to_response_curve(courses), args.repeat)[0]),
        ("durability_curve", timed(lambda: durability_curve(courses), args.repeat)[0]),
    ]
    width = max(len(name) for name, _ in steps)
    print(f"\n{'call':<{width}}  seconds (median of {args.repeat})")
    for name, seconds in steps:
        print(f"{name:<{width}}  {seconds:7.3f}")
    total = sum(seconds for _, seconds in steps)
    print(f"{'total':<{width}}  {total:7.3f}  (target < 1 s: {'met' if total < 1 else 'MISSED'})")

    # align() is not called by the page itself, but both cohort functions build on it.
    align_time = timed(lambda: align(assessments, infusions), args.repeat)[0]
    print(f"\n(align, inside response_rates and mean_score_by_week: {align_time:.3f} s)")

    status = courses["status"].value_counts()
    print("\nstatus: " + ", ".join(f"{name} {count:,}" for name, count in status.items()))

    if not args.skip_reference:
        start = time.perf_counter()
        reference = course_outcomes_reference(INSTRUMENT, assessments, infusions, today=TODAY)
        loop_time = time.perf_counter() - start
        pd.testing.assert_frame_equal(courses, reference)
        print(
            f"\nper-patient reference (patient_course per patient, once): {loop_time:.2f} s; "
            f"vectorised {courses_time:.3f} s ({loop_time / courses_time:.0f}x), same frame"
        )


if __name__ == "__main__":
    main()
