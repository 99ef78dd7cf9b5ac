"""Cohort rates with their denominators, and mean score by week."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from outcomes.cohort import RATE_COLUMNS, mean_score_by_week, response_rates
from outcomes.rules import DEFAULT_RULES


def _patient(pid: str, start: str, infusion_offsets: list[int], scores: list[tuple[int, int]]):
    day0 = pd.Timestamp(start)
    infusions = [(pid, day0 + pd.Timedelta(days=o)) for o in infusion_offsets]
    assessments = [(pid, day0 + pd.Timedelta(days=o), t) for o, t in scores]
    return infusions, assessments


INDUCTION = [0, 2, 4, 7, 9, 11]
PATIENTS = [
    # responder and remitter by week 4, still at week 8
    _patient("a", "2024-01-01", INDUCTION, [(0, 20), (14, 8), (28, 4), (56, 3)]),
    # partial improvement: not a response (11 > 10)
    _patient("b", "2024-02-01", INDUCTION, [(-3, 20), (14, 11), (29, 11), (84, 12)]),
    # stopped after one infusion; assessed at week 4 only
    _patient("c", "2024-03-01", [0], [(0, 16), (27, 8)]),
    # baseline already in remission: not eligible for remission
    _patient("d", "2024-04-01", INDUCTION, [(0, 4), (14, 2), (28, 2)]),
    # no baseline: never eligible
    _patient("e", "2024-05-01", INDUCTION, [(7, 15), (28, 5)]),
]
INFUSIONS = pd.DataFrame(
    [row for p in PATIENTS for row in p[0]], columns=["patient_id", "administered_at"]
)
ASSESSMENTS = pd.DataFrame(
    [row for p in PATIENTS for row in p[1]], columns=["patient_id", "administered_at", "total"]
)


def test_rates_have_numerators_and_denominators_at_each_timepoint() -> None:
    rates = response_rates("phq9", ASSESSMENTS, INFUSIONS).set_index("timepoint")
    assert list(rates.reset_index().columns) == list(RATE_COLUMNS)
    assert list(rates.index) == [
        "end_of_induction",
        "week_4",
        "orka1_window",
        "within_6_weeks",
        "week_8",
        "week_12",
    ]

    # End of induction: first assessment within 14 days after the 6th infusion (day 11);
    # a (day 14: 8 <= 10), b (day 14: 11 > 10), d (day 14: 2 <= 2). c never completed it.
    eoi = rates.loc["end_of_induction"]
    assert (eoi["eligible"], eoi["assessed"], eoi["responders"]) == (3, 3, 2)
    assert eoi["response_rate"] == pytest.approx(2 / 3)
    assert (eoi["remission_eligible"], eoi["remitters"]) == (2, 0)  # d's baseline remits

    # Week 4 (day 28 +/- 7): a 4, b 11 (day 29), c 8 (day 27), d 2.
    week4 = rates.loc["week_4"]
    assert (week4["eligible"], week4["assessed"], week4["missing"]) == (4, 4, 0)
    assert week4["responders"] == 3  # a, c, d
    assert (week4["remission_eligible"], week4["remitters"]) == (3, 1)  # a only
    assert week4["target_day"] == 28

    week12 = rates.loc["week_12"]
    assert (week12["assessed"], week12["missing"], week12["responders"]) == (1, 3, 0)


def test_empty_denominator_gives_nan_not_zero() -> None:
    rates = response_rates("phq9", ASSESSMENTS, INFUSIONS, weeks=(52,)).set_index("timepoint")
    assert rates.loc["week_52", "assessed"] == 0
    assert math.isnan(rates.loc["week_52", "response_rate"])


def test_timepoint_window_is_a_rule() -> None:
    assert response_rates("phq9", ASSESSMENTS, INFUSIONS).loc[1, "assessed"] == 4
    exact = DEFAULT_RULES.override(timepoint_window_days=1)
    rates = response_rates("phq9", ASSESSMENTS, INFUSIONS, rules=exact, weeks=(2,))
    # Day 14 +/- 1: a, b and d were seen on day 14; c was not seen near day 14 at all.
    assert rates.set_index("timepoint").loc["week_2", "assessed"] == 3
    late = DEFAULT_RULES.override(end_of_induction_window_days=2)
    eoi = response_rates("phq9", ASSESSMENTS, INFUSIONS, rules=late).loc[0]
    assert eoi["assessed"] == 0  # day 14 is 3 days after the 6th infusion on day 11


def test_mean_score_by_week_counts_each_patient_once_per_week() -> None:
    weekly = mean_score_by_week("phq9", ASSESSMENTS, INFUSIONS).set_index("week")
    # Week 0 = baselines of a, b, c, d (e has none).
    assert weekly.loc[0, "n"] == 4
    assert weekly.loc[0, "mean"] == pytest.approx((20 + 20 + 16 + 4) / 4)
    # Week 2 = days 8-14: a 8, b 11, d 2.
    assert weekly.loc[2, "n"] == 3
    assert weekly.loc[2, "mean"] == pytest.approx(7.0)
    low, high = weekly.loc[2, "ci_lower"], weekly.loc[2, "ci_upper"]
    assert low < 7.0 < high
    # t-interval: mean +/- t(0.975, 2) * sd / sqrt(3), sd of (8, 11, 2) = 4.5826
    assert high - 7.0 == pytest.approx(4.302653 * 4.582576 / 3**0.5, rel=1e-5)
    # A week with one patient has no interval.
    assert weekly.loc[1, "n"] == 1  # e on day 7
    assert math.isnan(weekly.loc[1, "ci_lower"])


def test_checkin_completeness_counts_weeks_with_a_score() -> None:
    import datetime as dt

    from outcomes.cohort import checkin_completeness
    from outcomes.course import course_outcomes

    courses = course_outcomes("phq9", ASSESSMENTS, INFUSIONS)
    today = dt.date(2024, 12, 31)  # long after everyone started: 12 weeks expected each
    table = checkin_completeness(courses, ASSESSMENTS, today=today)
    # a: days 14, 28, 56 -> weeks 2, 4, 8; b: days 14, 29, 84 -> weeks 2, 5, 12
    assert table.loc["a", ["expected", "received"]].tolist() == [12, 3]
    assert table.loc["b", "received"] == 3
    assert table.loc["c", "share"] == pytest.approx(1 / 12)
    early = checkin_completeness(courses, ASSESSMENTS, today=dt.date(2024, 1, 16))
    assert early.loc["a", "expected"] == 2  # two weeks in: two weeks expected
    assert early.loc["a", "received"] == 1  # the day-14 score; day 28 is in the future


def test_outcomes_by_group_and_its_suppression() -> None:
    from outcomes.cohort import outcomes_by_group
    from outcomes.course import course_outcomes
    from outcomes.privacy import suppress_group_table

    courses = course_outcomes("phq9", ASSESSMENTS, INFUSIONS)
    groups = pd.Series({"a": "IV", "b": "IV", "c": "IM", "d": "IV", "e": "IV"})
    table = outcomes_by_group(courses, groups).set_index("group")
    # e has no baseline, so is not followed; a and d responded, d's baseline already remitted
    assert table.loc["IV", ["patients", "responded", "remitted"]].tolist() == [3, 2, 1]
    assert table.loc["IM", "patients"] == 1
    shown = suppress_group_table(table.reset_index()).set_index("group")
    assert shown.loc["IV", "patients"] == "< 5"
    assert math.isnan(shown.loc["IV", "response_rate"])
