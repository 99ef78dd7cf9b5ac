"""The outcomes page's rates and completeness from stored per-patient facts equal the tables
computed from every score (issue 13: the page reads course state, never a clinic's history).

:func:`outcomes.timepoints.rates_from_timepoints` over :func:`patient_timepoints` facts must
give exactly :func:`response_rates`, and the ``*_from_days`` completeness functions over
:func:`checkin_days` exactly :func:`weekly_completeness` and :func:`missing_this_week`, for
any today. Hypothesis draws whole clinics (the course tests' strategy: any row order, invalid
totals, same-day repeats, patients without infusions, non-default rules) with time points
drawn too, so that the short drawn courses reach every kind of window. The facts go through
JSON and back, as the database stores them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.completeness import (
    checkin_days,
    missing_this_week,
    missing_this_week_from_days,
    weekly_completeness,
    weekly_completeness_from_days,
)
from outcomes.course import course_outcomes
from outcomes.course_days import calendar_days
from outcomes.rules import Rules
from outcomes.stored_timepoints import (
    flat_timepoints,
    patient_timepoints,
    rates_from_timepoints,
    timepoint_facts,
)
from outcomes.timepoints import response_rates
from tests.test_outcomes.test_course_vectorised import SETTINGS, clinics

Clinic = tuple[str, pd.DataFrame, pd.DataFrame, Rules, dt.date]
EPOCH = dt.date(1970, 1, 1)


@st.composite
def timepoint_keywords(draw: st.DrawFn) -> dict[str, Any]:
    """Time points of response_rates: the defaults, or short ones the drawn courses reach."""
    if draw(st.booleans()):
        return {}
    return {
        "weeks": draw(st.lists(st.integers(1, 8), max_size=4, unique=True)),
        "orka1_window": draw(st.booleans()),
        "within_weeks": draw(st.lists(st.integers(1, 7), max_size=2, unique=True)),
        "induction_days": draw(st.integers(0, 25)),
        "induction_gap_days": draw(st.integers(0, 8)),
    }


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _only(instrument: str, assessments: pd.DataFrame) -> pd.DataFrame:
    if "instrument" in assessments.columns:
        return assessments[assessments["instrument"] == instrument]
    return assessments


def assert_same_rates(clinic: Clinic, keywords: dict[str, Any]) -> None:
    instrument, assessments, infusions, rules, today = clinic
    expected = response_rates(
        instrument, assessments, infusions, rules=rules, today=today, **keywords
    )
    facts = timepoint_facts(instrument, assessments, infusions, rules=rules, **keywords)
    courses = course_outcomes(instrument, assessments, infusions, rules=rules, today=today)
    rate_keywords = {k: v for k, v in keywords.items() if k != "induction_gap_days"}
    names = {k: v for k, v in rate_keywords.items() if k != "induction_days"}
    stored = courses.join(
        flat_timepoints(
            pd.Series(
                [_round_trip(facts.get(patient)) for patient in courses.index],
                index=courses.index,
                dtype=object,
            ),
            **names,
        )
    )
    actual = rates_from_timepoints(instrument, stored, today=today, rules=rules, **rate_keywords)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)


@settings(SETTINGS, max_examples=250)
@given(clinics(), timepoint_keywords())
def test_rates_from_stored_facts_equal_response_rates(
    clinic: Clinic, keywords: dict[str, Any]
) -> None:
    assert_same_rates(clinic, keywords)


@settings(SETTINGS, max_examples=100)
@given(clinics(same_day=True), timepoint_keywords())
def test_same_day_scores_choose_the_same_total(clinic: Clinic, keywords: dict[str, Any]) -> None:
    assert_same_rates(clinic, keywords)


def test_a_patient_without_an_infusion_has_no_facts_and_the_rest_is_json() -> None:
    first = dt.date(2024, 1, 1)
    assert patient_timepoints([], [(first, 10)]) is None
    infusions = [first + dt.timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    facts = patient_timepoints(
        infusions,
        [(first, 20), (first + dt.timedelta(days=25), 8), (first + dt.timedelta(days=28), 9)],
    )
    assert facts is not None and _round_trip(facts) == facts
    # end of induction: the first score 1 to 14 days after day 11; week 4: nearest day 28
    assert facts["end_of_induction"] == {"total": 8, "closes": 25}
    assert facts["week_4"] == {"total": 9, "closes": 35}
    assert facts["orka1_window"] == {"total": 8, "closes": 42, "qualifies": True}
    assert facts["within_6_weeks"] == {"total": 8, "closes": 42}


def _checkin_days(instrument: str, courses: pd.DataFrame, assessments: pd.DataFrame) -> list[Any]:
    scores = _only(instrument, assessments)
    valid = scores[scores["total"].notna()]
    days = calendar_days(valid["administered_at"]) if len(valid) else []
    dates: dict[Any, list[dt.date]] = {}
    for patient, day in zip(valid["patient_id"], days, strict=True):
        dates.setdefault(patient, []).append(EPOCH + dt.timedelta(days=int(day)))
    return [
        _round_trip(checkin_days(first, dates.get(patient, [])))
        for patient, first in courses["first_infusion_date"].items()
    ]


@settings(SETTINGS, max_examples=250)
@given(clinics(), st.integers(0, 100), st.integers(1, 14))
def test_completeness_from_stored_days_equals_the_tables_from_every_score(
    clinic: Clinic, later: int, weeks: int
) -> None:
    instrument, assessments, infusions, rules, today = clinic
    today = today + dt.timedelta(days=later - 40)
    scores = _only(instrument, assessments)
    courses = course_outcomes(instrument, assessments, infusions, rules=rules, today=today)
    stored = courses.assign(checkin_days=_checkin_days(instrument, courses, assessments))
    pd.testing.assert_frame_equal(
        weekly_completeness_from_days(stored, today=today, weeks=weeks),
        weekly_completeness(courses, scores, today=today, weeks=weeks),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        missing_this_week_from_days(stored, today=today),
        missing_this_week(courses, scores, today=today),
        check_exact=True,
    )
