"""Rates that do not flatter (issue 12, course-and-reporting §5 and §8): Wilson intervals,
assessed-only and everyone-who-started rates side by side, and the time points the published
references were defined at."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

import outcomes
from outcomes.cohort import RATE_COLUMNS, response_rates
from outcomes.errors import OutcomesError
from outcomes.rates import Rate, rate_with_interval, wilson_interval


@pytest.mark.parametrize(
    ("successes", "total", "low", "high"),
    [
        # Newcombe RG. Stat Med. 1998;17:857-872, Table II, method 3 (score interval
        # without continuity correction), the examples computed by hand there.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(
    successes: int, total: int, low: float, high: float
) -> None:
    rate = rate_with_interval(successes, total)
    assert rate.successes == successes and rate.total == total
    assert rate.proportion == pytest.approx(successes / total)
    assert rate.low is not None and rate.high is not None
    assert (round(rate.low, 4), round(rate.high, 4)) == (low, high)


def test_edge_cases_none_all_and_nobody() -> None:
    none = rate_with_interval(0, 12)
    assert none.proportion == 0.0 and none.low == 0.0 and 0 < (none.high or 0) < 1
    every = rate_with_interval(12, 12)
    assert every.proportion == 1.0 and every.high == 1.0 and 0 < (every.low or 0) < 1
    # n/n mirrors 0/n
    assert every.low == pytest.approx(1 - (none.high or 0))
    assert rate_with_interval(0, 0) == Rate(0, 0, None, None, None)


def test_confidence_widens_the_interval_and_bad_input_is_refused() -> None:
    narrow, wide = rate_with_interval(7, 20, confidence=0.8), rate_with_interval(7, 20)
    assert (wide.low or 0) < (narrow.low or 0) < 0.35 < (narrow.high or 0) < (wide.high or 0)
    for bad in ((5, 4), (-1, 4), (1.5, 4)):
        with pytest.raises(OutcomesError, match=r"number|numerator"):
            rate_with_interval(*bad)  # type: ignore[arg-type]
    with pytest.raises(OutcomesError, match="between 0 and 1"):
        rate_with_interval(1, 4, confidence=95)


def test_public_api_and_vectorised_agree() -> None:
    assert outcomes.rate_with_interval is rate_with_interval and outcomes.Rate is Rate
    low, high = wilson_interval([0, 3, 0], [10, 7, 0])
    for i, (x, n) in enumerate(((0, 10), (3, 7))):
        one = rate_with_interval(x, n)
        assert (low[i], high[i]) == pytest.approx((one.low, one.high))
    assert math.isnan(low[2]) and math.isnan(high[2])


def _patient(pid: str, start: str, infusion_offsets: list[int], scores: list[tuple[int, int]]):
    day0 = pd.Timestamp(start)
    infusions = [(pid, day0 + pd.Timedelta(days=o)) for o in infusion_offsets]
    assessments = [(pid, day0 + pd.Timedelta(days=o), t) for o, t in scores]
    return infusions, assessments


INDUCTION = [0, 2, 4, 7, 9, 11]
PATIENTS = [
    # responder from day 14 (8 of 20), in remission on day 28 (4)
    _patient("a", "2024-01-01", INDUCTION, [(0, 20), (14, 8), (28, 4), (56, 3)]),
    # never a response
    _patient("b", "2024-01-01", INDUCTION, [(-3, 20), (14, 11), (29, 11), (84, 12)]),
    # one infusion only; a response on day 27
    _patient("c", "2024-01-01", [0], [(0, 16), (27, 8)]),
    # no baseline: never a responder, but started
    _patient("e", "2024-01-01", INDUCTION, [(7, 15), (28, 5)]),
    # a baseline, then no score at all: missing everywhere
    _patient("f", "2024-01-01", INDUCTION, [(0, 18)]),
    # started 12 days before TODAY: assessed early, but no window of theirs has closed
    _patient("late", "2024-03-20", [0, 2, 4], [(0, 20), (7, 9)]),
]
INFUSIONS = pd.DataFrame(
    [row for p in PATIENTS for row in p[0]], columns=["patient_id", "administered_at"]
)
ASSESSMENTS = pd.DataFrame(
    [row for p in PATIENTS for row in p[1]], columns=["patient_id", "administered_at", "total"]
)
TODAY = dt.date(2024, 4, 1)  # 91 days after 2024-01-01


def _rates() -> pd.DataFrame:
    return response_rates("phq9", ASSESSMENTS, INFUSIONS, today=TODAY).set_index("timepoint")


def test_both_rates_side_by_side_with_the_numbers_behind_each() -> None:
    rates = _rates()
    assert list(rates.reset_index().columns) == list(RATE_COLUMNS)
    week4 = rates.loc["week_4"]
    # Assessed only: a (28), b (29), c (27); e has no baseline, f and late were not seen.
    assert (week4["assessed"], week4["responders"]) == (3, 2)
    # Everyone who started at least 28 + 7 days ago: a, b, c, e, f (not late).
    assert (week4["started"], week4["started_assessed"], week4["started_missing"]) == (5, 3, 2)
    assert week4["started_responders"] == 2
    assert week4["response_rate"] == pytest.approx(2 / 3)
    assert week4["started_response_rate"] == pytest.approx(2 / 5)
    assert (week4["response_low"], week4["response_high"]) == pytest.approx(
        (rate_with_interval(2, 3).low, rate_with_interval(2, 3).high)
    )
    assert (week4["started_response_low"], week4["started_response_high"]) == pytest.approx(
        (rate_with_interval(2, 5).low, rate_with_interval(2, 5).high)
    )
    week12 = rates.loc["week_12"]
    assert (week12["assessed"], week12["started"], week12["started_missing"]) == (1, 5, 4)
    assert week12["started_response_rate"] == 0.0


def test_end_of_induction_counts_non_completers_who_started_as_not_responding() -> None:
    eoi = _rates().loc["end_of_induction"]
    # completers with a baseline: a (day 14: 8, response), b (11), f (not seen)
    assert (eoi["eligible"], eoi["assessed"], eoi["missing"], eoi["responders"]) == (3, 2, 1, 1)
    # c stopped after one infusion and e has no baseline: both started, neither responded
    assert (eoi["started"], eoi["started_responders"]) == (5, 1)
    assert eoi["started_response_rate"] == pytest.approx(0.2)


def test_orka1_window_is_14_to_31_days_after_an_induction_of_4_to_8_infusions() -> None:
    """ORKA-1 (McInnes et al. 2022, J Affect Disord 301:486): PHQ-9 14-31 days after the
    last induction infusion, inductions of 4 to 8 infusions."""
    orka = _rates().loc["orka1_window"]
    # a: day 28 is 17 days after day 11 (4: response and remission); b: day 29 (11).
    # c (1 infusion) and late (3) have no qualifying induction.
    assert (orka["eligible"], orka["assessed"], orka["responders"], orka["remitters"]) == (
        3,
        2,
        1,
        1,
    )
    assert (orka["started"], orka["started_responders"]) == (5, 1)
    nine = INFUSIONS[INFUSIONS["patient_id"] == "a"].copy()
    nine = pd.concat(
        [nine]
        + [
            pd.DataFrame({"patient_id": ["a"], "administered_at": [pd.Timestamp(d)]})
            for d in ("2024-01-14", "2024-01-16", "2024-01-18")
        ]
    )
    # nine infusions two days apart: no longer ORKA-1's 4 to 8
    scores = ASSESSMENTS[ASSESSMENTS["patient_id"] == "a"]
    longer = response_rates("phq9", scores, nine, today=TODAY).set_index("timepoint")
    assert longer.loc["orka1_window", "eligible"] == 0


def test_within_6_weeks_counts_a_response_at_any_score_by_day_42() -> None:
    """Oliver et al. 2022 (J Clin Psychiatry 83:21m14336) report response within 6 weeks."""
    within = _rates().loc["within_6_weeks"]
    assert within["target_day"] == 42
    # a (4 of 20), c (8 of 16) and late (9 of 20); b did not respond.
    assert (within["assessed"], within["responders"]) == (4, 3)
    # late started 12 days ago: not in the started denominator, nor in its numerator
    assert (within["started"], within["started_responders"]) == (5, 2)
    assert within["started_responders"] <= within["started"]


def test_order_of_timepoints_follows_time() -> None:
    assert list(_rates().index) == [
        "end_of_induction",
        "week_4",
        "orka1_window",
        "within_6_weeks",
        "week_8",
        "week_12",
    ]
    plain = response_rates(
        "phq9", ASSESSMENTS, INFUSIONS, today=TODAY, orka1_window=False, within_weeks=()
    )
    assert list(plain["timepoint"]) == ["end_of_induction", "week_4", "week_8", "week_12"]


def test_nobody_started_gives_no_rate_not_zero() -> None:
    early = response_rates("phq9", ASSESSMENTS, INFUSIONS, today=dt.date(2024, 1, 2))
    assert (early["started"] == 0).all()
    assert early["started_response_rate"].isna().all()
    assert early["started_response_low"].isna().all()
