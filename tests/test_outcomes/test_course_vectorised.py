"""The vectorised ``course_outcomes`` gives exactly the frame of the readable per-patient rules.

The reference is ``tests/reference/course_reference.py``: one
:func:`outcomes.patient_course.patient_course` call per patient, which states each rule
readably (:func:`outcomes.trajectory.trajectory` for spec §3, the normative algorithm, and the
course's own rules in :mod:`outcomes.patient_course` and :mod:`outcomes.status`).
Hypothesis draws whole clinics (several patients, any row order, invalid totals, patients with
assessments but no infusions and the reverse) for every instrument with a total and for
non-default rules, and the two frames must be equal: index, columns, dtypes and values,
dates included as ``datetime.date``. Hand-written cases pin the rules that a vectorised
formulation could get subtly wrong (runs of relapse confirmations, same-day infusions).
"""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.alignment import align, assessment_phase, infusions_before
from outcomes.cohort import response_rates
from outcomes.course import course_outcomes
from outcomes.errors import ScoringError
from outcomes.instruments import get_instrument
from outcomes.patient_course import COURSE_COLUMNS
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import STATUSES
from tests.reference.course_reference import course_outcomes_reference

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every instrument with a total. PCL-5 has neither a remission criterion nor a relapse floor,
# so it exercises the "no such rule" branches.
INSTRUMENTS_WITH_TOTALS = ("phq9", "gad7", "qids_sr16", "madrs", "pcl5")
START = dt.date(2024, 1, 1)
# The hand-written courses are read on this day unless they say otherwise: every one of them
# is still in treatment and seen recently enough, so the status is its episode's.
TODAY = START + dt.timedelta(days=60)
REALISTIC_DAY = dt.timedelta(days=200)
DATE_COLUMNS = [c for c in COURSE_COLUMNS if c.endswith("_date")]
INT_COLUMNS = [
    "infusions",
    "baseline_total",
    "latest_total",
    "days_to_response",
    "infusions_to_response",
    "days_to_remission",
    "durable_response_days",
    "followup_days",
]


def _when(day: int, form: str) -> object:
    """A day offset written as the database or a CSV import might give it."""
    date = START + dt.timedelta(days=day)
    if form == "iso":
        return date.isoformat()
    if form == "timestamp":
        return pd.Timestamp(date) + pd.Timedelta(hours=9)
    return date


@st.composite
def rule_sets(draw: st.DrawFn, instrument: str) -> Rules:
    """The spec's rules, or rules with other thresholds, confirmations and overrides."""
    if draw(st.integers(0, 3)) == 0:
        return DEFAULT_RULES
    rules = DEFAULT_RULES.override(
        relapse_confirmations=draw(st.integers(1, 4)),
        response_min_drop=draw(
            # 0.3 and 1e-20 have huge numerators and denominators: exact beyond int64 too.
            st.sampled_from(
                [Fraction(1, 2), Fraction(2, 3), Fraction(1, 3), Fraction(1), 0.25, 0.3, 1e-20]
            )
        ),
        induction_infusions=draw(st.integers(1, 8)),
        # Short enough for the drawn courses to reach the after-course phase of align.
        after_course_days=draw(st.integers(1, 12)),
        # Short enough for the drawn courses to be lost to follow-up at the drawn today.
        lost_to_follow_up_days=draw(st.integers(1, 20)),
    )
    max_total = get_instrument(instrument).max_total
    overrides: dict[str, Any] = {}
    if draw(st.booleans()):
        overrides["remission_max_total"] = draw(st.none() | st.integers(0, max_total))
    if draw(st.booleans()):
        overrides["relapse_floor"] = draw(st.none() | st.integers(0, max_total))
    return rules.override(instrument, **overrides) if overrides else rules


@st.composite
def clinics(
    draw: st.DrawFn, *, same_day: bool = False
) -> tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date]:
    """An instrument, assessment and infusion frames of a few patients, rules and today.

    Each patient's assessment dates are distinct (spec §3: "each date appears at most once")
    unless ``same_day``; infusions may repeat a day. Rows come in a random order.
    """
    instrument = draw(st.sampled_from(INSTRUMENTS_WITH_TOTALS))
    max_total = get_instrument(instrument).max_total
    assert max_total is not None
    # String ids sort as text in the result ("p10" before "p2"), integers too (by str).
    as_text = draw(st.booleans())
    keys = draw(st.lists(st.integers(0, 30), max_size=7, unique=True))
    # A coarse total scale (0, a quarter, a half ... of the maximum) makes responses and
    # relapses common; the fine scale reaches every exact threshold.
    coarse = draw(st.booleans())
    total = (
        st.sampled_from([round(max_total * k / 8) for k in range(9)])
        if coarse
        else st.integers(0, max_total)
    )
    assessment_rows: list[tuple[object, int, int | None]] = []
    infusion_rows: list[tuple[object, int]] = []
    for key in keys:
        patient: object = f"p{key}" if as_text else key
        # Repeated days need a narrow range to be common.
        days = draw(
            st.lists(st.integers(-3, 12), max_size=14)
            if same_day
            else st.lists(st.integers(-10, 50), max_size=12, unique=True)
        )
        for day in days:
            assessment_rows.append((patient, day, draw(st.none() | total)))
        for day in draw(st.lists(st.integers(-3, 40), max_size=8)):
            infusion_rows.append((patient, day))
    assessment_rows = draw(st.permutations(assessment_rows))
    infusion_rows = draw(st.permutations(infusion_rows))

    form = draw(st.sampled_from(["date", "iso", "timestamp"]))
    totals = [t for _, _, t in assessment_rows]
    total_dtype = draw(st.sampled_from(["Int64", "float", "object"]))
    if total_dtype == "Int64":
        total_column: object = pd.array(totals, dtype="Int64")
    elif total_dtype == "float":
        total_column = np.array([np.nan if t is None else t for t in totals], dtype=float)
    else:
        total_column = np.array(totals, dtype=object)
    assessments = pd.DataFrame(
        {
            "patient_id": [p for p, _, _ in assessment_rows],
            "administered_at": [_when(d, form) for _, d, _ in assessment_rows],
            "total": total_column,
        }
    )
    if draw(st.booleans()):
        # Rows of another instrument are ignored; give them totals that would change a course.
        other = "madrs" if instrument != "madrs" else "phq9"
        assessments = pd.concat(
            [assessments.assign(instrument=instrument), assessments.assign(instrument=other)],
            ignore_index=True,
        )
        assessments.loc[assessments["instrument"] == other, "total"] = 0
    infusions = pd.DataFrame(
        {
            "patient_id": [p for p, _ in infusion_rows],
            "administered_at": [_when(d, form) for _, d in infusion_rows],
        }
    )
    # Today: before, within and well after the drawn courses (current status, spec §2).
    today = START + dt.timedelta(days=draw(st.integers(-5, 120)))
    return instrument, assessments, infusions, draw(rule_sets(instrument)), today


def assert_same_courses(
    instrument: str,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    rules: Rules,
    today: dt.date = TODAY,
) -> pd.DataFrame:
    """Both implementations agree exactly; dates are ``datetime.date`` (not Timestamps)."""
    expected = course_outcomes_reference(
        instrument, assessments, infusions, rules=rules, today=today
    )
    actual = course_outcomes(instrument, assessments, infusions, rules=rules, today=today)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    for column in DATE_COLUMNS:
        assert all(value is None or type(value) is dt.date for value in actual[column])
    return actual


@settings(SETTINGS, max_examples=250)
@given(clinics())
def test_vectorised_courses_equal_the_per_patient_reference(
    clinic: tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date],
) -> None:
    assert_same_courses(*clinic)


@settings(SETTINGS, max_examples=150)
@given(clinics(same_day=True))
def test_two_assessments_on_one_day_are_ordered_as_the_reference_orders_them(
    clinic: tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date],
) -> None:
    """Outside the spec (one assessment per date), but the results still must not change."""
    assert_same_courses(*clinic)


def _seeded_clinic(patients: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weekly PHQ-9 courses (respond, remit, relapse, flat) with skipped weeks: fixed seed."""
    rng = random.Random(seed)
    assessment_rows, infusion_rows = [], []
    for patient in range(patients):
        first = START + dt.timedelta(days=rng.randrange(120))
        infusion_days = [0, 2, 4, 7, 9, 11][: rng.choice([0, 1, 3, 6, 6, 6])]
        infusion_days += [11 + 28 * k for k in range(1, rng.randrange(4))] if infusion_days else []
        infusion_rows += [(patient, first + dt.timedelta(days=d)) for d in infusion_days]
        baseline = rng.randrange(5, 28)
        drop, relapse_week = rng.random(), rng.choice([None, None, rng.randrange(3, 20)])
        for week in range(rng.randrange(-1, 25)):
            if rng.random() < 0.15:
                continue
            level = baseline * (1 - drop * min(1, max(week, 0) / 3))
            if relapse_week is not None and week >= relapse_week:
                level = baseline * 0.9
            total = None if rng.random() < 0.03 else max(0, min(27, round(level + rng.gauss(0, 2))))
            assessment_rows.append((patient, first + dt.timedelta(days=7 * week - 1), total))
    assessments = pd.DataFrame(assessment_rows, columns=["patient_id", "administered_at", "total"])
    assessments["total"] = assessments["total"].astype("Int64")
    infusions = pd.DataFrame(infusion_rows, columns=["patient_id", "administered_at"])
    return assessments.sample(frac=1, random_state=seed), infusions


@pytest.mark.parametrize(
    "rules",
    [
        DEFAULT_RULES,
        DEFAULT_RULES.override(relapse_confirmations=3, response_min_drop=Fraction(2, 3)),
        DEFAULT_RULES.override(relapse_confirmations=1).override(
            "phq9", remission_max_total=6, relapse_floor=15
        ),
        DEFAULT_RULES.override("phq9", remission_max_total=None, relapse_floor=None),
        # Floats become fractions with 2**54 (0.3) or 2**119 (1e-20) denominators; the
        # second no longer fits int64 products and takes the exact Python-integer path.
        DEFAULT_RULES.override(response_min_drop=0.3),
        DEFAULT_RULES.override(response_min_drop=1e-20),
    ],
    ids=[
        "spec",
        "three_confirmations_two_thirds",
        "overrides",
        "no_remission_no_relapse",
        "float_drop",
        "drop_beyond_int64",
    ],
)
def test_a_realistic_clinic_gives_the_reference_frame(rules: Rules) -> None:
    assessments, infusions = _seeded_clinic(300, seed=42)
    # Read on a day some courses are long over and others still running.
    courses = assert_same_courses("phq9", assessments, infusions, rules, START + REALISTIC_DAY)
    if rules is DEFAULT_RULES:
        # The sample reaches every status, so every branch above was compared.
        assert set(courses["status"]) == set(STATUSES)


def _course(
    scores: list[tuple[int, int | None]], infusion_days: list[int], **overrides: Any
) -> pd.Series:
    assessments = pd.DataFrame(
        {
            "patient_id": "a",
            "administered_at": [START + dt.timedelta(days=d) for d, _ in scores],
            "total": pd.array([t for _, t in scores], dtype="Int64"),
        }
    )
    infusions = pd.DataFrame(
        {
            "patient_id": "a",
            "administered_at": [START + dt.timedelta(days=d) for d in infusion_days],
        }
    )
    rules = DEFAULT_RULES.override(**overrides) if overrides else DEFAULT_RULES
    return assert_same_courses("phq9", assessments, infusions, rules).loc["a"]


# Baseline 20 (response <= 10, relapse-qualifying > 10 and >= 10), response on day 7, then
# a run of two qualifying totals broken by a response, then a run of three.
RUNS = [(0, 20), (7, 8), (14, 12), (21, 14), (28, 6), (35, 12), (42, None), (49, 13), (56, 15)]


@pytest.mark.parametrize(
    ("confirmations", "relapse_day"),
    [(1, 14), (2, 14), (3, 35), (4, None)],
)
def test_relapse_is_the_first_run_of_confirmations_dated_at_its_first(
    confirmations: int, relapse_day: int | None
) -> None:
    """Spec §3: consecutive *valid* assessments, so the invalid day 42 does not break a run."""
    course = _course(RUNS, [0], relapse_confirmations=confirmations)
    expected = None if relapse_day is None else START + dt.timedelta(days=relapse_day)
    assert course["relapse_date"] == expected
    # Without a relapse the latest total (15 > 10) has lost the response (spec §2); with one,
    # the re-response on day 28 (6) relapses again from day 35 for every run length.
    assert course["status"] == ("relapsed" if relapse_day is not None else "losing_response")
    assert bool(course["censored"]) is (relapse_day is None)
    end = relapse_day if relapse_day is not None else 56
    assert course["durable_response_days"] == end - 7
    assert bool(course["losing_response"]) is (relapse_day is None)


@pytest.mark.parametrize(
    ("scores", "field", "expected"),
    [
        # trajectory() sorts (date, total) pairs: the baseline is the larger total of its day.
        ([(0, 15), (0, 10), (7, 7)], "baseline_total", 15),
        # ... while the latest total is the input's last row of the latest day (as before).
        ([(0, 20), (7, 9), (7, 4)], "latest_total", 4),
        # Relapse counts rows *after* the response day: the 15 on the response day is not one.
        ([(0, 20), (7, 8), (7, 15), (14, 15)], "relapse_date", None),
        ([(0, 20), (7, 8), (14, 15), (14, 16)], "relapse_date", START + dt.timedelta(days=14)),
    ],
)
def test_two_assessments_on_one_day_keep_the_reference_order(
    scores: list[tuple[int, int]], field: str, expected: object
) -> None:
    assert _course(scores, [0])[field] == expected


def test_a_relapse_run_does_not_continue_from_one_patient_into_the_next() -> None:
    """Patient a ends on a qualifying total, patient b starts with one: no run of two."""
    assessments = pd.DataFrame(
        {
            "patient_id": ["a"] * 3 + ["b"] * 3,
            "administered_at": [START + dt.timedelta(days=d) for d in (0, 7, 14, 0, 7, 14)],
            "total": [20, 8, 12, 20, 8, 12],
        }
    )
    infusions = pd.DataFrame({"patient_id": ["a", "b"], "administered_at": [START, START]})
    courses = assert_same_courses("phq9", assessments, infusions, DEFAULT_RULES)
    assert courses["relapse_date"].isna().all()


def test_an_infusion_on_the_response_day_is_counted_after_the_response() -> None:
    course = _course([(0, 20), (7, 9)], [0, 3, 7, 10])
    assert course["infusions_to_response"] == 2  # days 0 and 3, not the one on day 7
    assert course["days_to_response"] == 7
    assert course["last_infusion_date"] == START + dt.timedelta(days=10)
    assert course["infusions"] == 4


@pytest.mark.parametrize(
    ("assessment_patients", "infusion_patients"),
    [([], []), (["a"], []), ([], ["a"])],
    ids=["nobody", "assessments_only", "infusions_only"],
)
def test_frames_without_assessments_or_infusions(
    assessment_patients: list[str], infusion_patients: list[str]
) -> None:
    assessments = pd.DataFrame(
        {
            "patient_id": assessment_patients,
            "administered_at": [START] * len(assessment_patients),
            "total": pd.array([12] * len(assessment_patients), dtype="Int64"),
        }
    )
    infusions = pd.DataFrame(
        {"patient_id": infusion_patients, "administered_at": [START] * len(infusion_patients)}
    )
    courses = assert_same_courses("phq9", assessments, infusions, DEFAULT_RULES)
    assert list(courses.columns) == list(COURSE_COLUMNS)
    assert courses.index.name == "patient_id"
    assert (courses[INT_COLUMNS].dtypes == "Int64").all()
    assert set(courses["status"]) <= {"no_baseline"}


@settings(SETTINGS, max_examples=60)
@given(clinics())
def test_align_applies_the_readable_rules_to_every_row(
    clinic: tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date],
) -> None:
    """``align`` finds each patient's infusions once per patient; check it row by row against
    the readable rules, ``infusions_before`` and ``assessment_phase``."""
    _, assessments, infusions, rules, _ = clinic
    aligned = align(assessments, infusions, rules=rules)
    infusion_dates: dict[object, list[dt.date]] = {}
    for patient, when in zip(infusions["patient_id"], infusions["administered_at"], strict=True):
        infusion_dates.setdefault(patient, []).append(pd.Timestamp(when).date())
    for row in aligned.itertuples():
        when = pd.Timestamp(row.administered_at).date()
        mine = sorted(infusion_dates.get(row.patient_id, []))
        before = infusions_before(mine, when)
        assert row.infusions_before == before == sum(d < when for d in mine)
        since_latest = (when - mine[before - 1]).days if before else None
        assert row.phase == assessment_phase(
            infusions_before=before, days_since_latest_infusion=since_latest, rules=rules
        )
        if mine:
            assert row.days_since_first_infusion == (when - min(mine)).days
        else:
            assert row.days_since_first_infusion is pd.NA


def test_response_rates_accept_the_courses_the_page_already_has() -> None:
    assessments, infusions = _seeded_clinic(200, seed=7)
    rules = DEFAULT_RULES.override(timepoint_window_days=3)
    courses = course_outcomes("phq9", assessments, infusions, rules=rules)
    pd.testing.assert_frame_equal(
        response_rates("phq9", assessments, infusions, rules=rules, courses=courses),
        response_rates("phq9", assessments, infusions, rules=rules),
    )
    with pytest.raises(ScoringError, match="course_outcomes"):
        response_rates("phq9", assessments, infusions, courses=assessments)


@st.composite
def relapsing_clinics(draw: st.DrawFn) -> tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date]:
    """PHQ-9 courses that respond, relapse and respond again many times (spec §1 episodes).

    Baseline 20 on the first infusion's day, then totals that are a response (<= 10, 10
    exactly on the threshold) or relapse-qualifying (> 10 and at or above the floor of 10),
    on distinct days or on repeated ones; invalid forms in between.
    """
    keys = draw(st.lists(st.integers(0, 20), min_size=1, max_size=6, unique=True))
    same_day = draw(st.booleans())
    assessment_rows: list[tuple[object, int, int | None]] = []
    infusion_rows: list[tuple[object, int]] = []
    for key in keys:
        assessment_rows.append((key, 0, 20))
        days = draw(
            st.lists(st.integers(1, 30), max_size=20)
            if same_day
            else st.lists(st.integers(1, 60), max_size=20, unique=True)
        )
        for day in days:
            assessment_rows.append((key, day, draw(st.sampled_from([3, 8, 10, 11, 14, 18, None]))))
        infusion_rows += [(key, day) for day in [0, *draw(st.lists(st.integers(1, 60)))]]
    assessment_rows = draw(st.permutations(assessment_rows))
    assessments = pd.DataFrame(
        {
            "patient_id": [p for p, _, _ in assessment_rows],
            "administered_at": [START + dt.timedelta(days=d) for _, d, _ in assessment_rows],
            "total": pd.array([t for _, _, t in assessment_rows], dtype="Int64"),
        }
    )
    infusions = pd.DataFrame(
        {
            "patient_id": [p for p, _ in infusion_rows],
            "administered_at": [START + dt.timedelta(days=d) for _, d in infusion_rows],
        }
    )
    rules = DEFAULT_RULES.override(relapse_confirmations=draw(st.integers(1, 3)))
    today = START + dt.timedelta(days=draw(st.integers(0, 120)))
    return "phq9", assessments, infusions, rules, today


@settings(SETTINGS, max_examples=150)
@given(relapsing_clinics())
def test_the_latest_of_many_episodes_gives_the_reference_status(
    clinic: tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date],
) -> None:
    """Relapse, response again, relapse again ...: the vectorised pass per episode agrees."""
    assert_same_courses(*clinic)
