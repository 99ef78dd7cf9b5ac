"""The worklist's order and the check-in due date are rules, tested here."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from outcomes.course import course_outcomes
from outcomes.rules import DEFAULT_RULES
from outcomes.worklist import REASONS, next_checkin_due, worklist

TODAY = dt.date(2026, 5, 1)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, TODAY),  # not started: a baseline is due now
        (dt.date(2026, 4, 1), None, dt.date(2026, 4, 1)),  # infused, never checked in
        (dt.date(2026, 4, 1), dt.date(2026, 3, 30), dt.date(2026, 4, 1)),  # baseline only
        (dt.date(2026, 4, 1), dt.date(2026, 4, 1), dt.date(2026, 4, 8)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 6), dt.date(2026, 4, 8)),
        # Issue 12: one day early is in the 8th's window (spec §3 early_days) and meets it.
        (dt.date(2026, 4, 1), dt.date(2026, 4, 7), dt.date(2026, 4, 15)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 8), dt.date(2026, 4, 15)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 10), dt.date(2026, 4, 15)),
    ],
)
def test_next_checkin_is_counted_from_the_first_infusion(first, last, expected) -> None:
    assert next_checkin_due(first_infusion=first, last_checkin=last, today=TODAY) == expected


def _day(offset: int) -> dt.date:
    return TODAY - dt.timedelta(days=offset)


def test_worklist_orders_alerts_then_boosters_then_the_rest() -> None:
    infusion_rows, score_rows = [], []

    def patient(pid: str, infusion_days: list[int], scores: list[tuple[int, int]]) -> None:
        infusion_rows.extend((pid, _day(d)) for d in infusion_days)
        score_rows.extend((pid, _day(d), t) for d, t in scores)

    # losing response: responded (8 <= 10), latest 12 > 10
    patient("losing", [30, 28, 26], [(30, 20), (20, 8), (1, 12)])
    # not responding after 5 infusions, checked in yesterday
    patient("flat", [20, 18, 16, 13, 11], [(20, 18), (10, 17), (1, 16)])
    # overdue: last check-in 20 days ago
    patient("quiet", [40, 38], [(40, 15), (20, 6)])
    # infused without baseline, checked in yesterday
    patient("nobase", [5], [(1, 10)])
    courses = course_outcomes(
        "phq9",
        pd.DataFrame(score_rows, columns=["patient_id", "administered_at", "total"]),
        pd.DataFrame(infusion_rows, columns=["patient_id", "administered_at"]),
        today=TODAY,
    )
    last = pd.Series({pid: max(d for p, d, _ in score_rows if p == pid) for pid in courses.index})
    alerts = pd.DataFrame(
        {"patient_id": ["flat"], "kind": ["phq9_item9_positive"], "created_at": [_day(1)]}
    )
    items = worklist(
        courses,
        last_checkin=last,
        open_alerts=alerts,
        today=TODAY,
        patient_ids=pd.Index([*courses.index, "brand-new"]),
    )
    assert list(items["reason"]) == [
        "safety_alert",
        "booster",
        "not_responding",
        "overdue",
        "no_baseline",
        "no_baseline",
    ]
    assert list(items["patient_id"]) == ["flat", "losing", "flat", "quiet", "nobase", "brand-new"]
    assert list(items["priority"]) == sorted(items["priority"])
    assert set(items["reason"]) <= set(REASONS)
    # first infusion 40 days ago, last check-in 20 days ago: one day early for the check-in
    # due 19 days ago, in its window (spec §3, issue 12), so the next was due 12 days ago
    assert items.loc[3, "since"] == _day(12)


def test_patients_who_stopped_long_ago_are_not_overdue_or_not_responding() -> None:
    infusions = pd.DataFrame(
        {"patient_id": "stopped", "administered_at": [_day(200 - 2 * i) for i in range(5)]}
    )
    scores = pd.DataFrame(
        {"patient_id": "stopped", "administered_at": [_day(200), _day(150)], "total": [18, 17]}
    )
    courses = course_outcomes("phq9", scores, infusions, today=TODAY)
    items = worklist(
        courses,
        last_checkin=pd.Series({"stopped": _day(150)}),
        open_alerts=pd.DataFrame(columns=["patient_id", "kind", "created_at"]),
        today=TODAY,
    )
    assert items.empty
    longer = DEFAULT_RULES.override(after_course_days=365)
    recent = worklist(
        course_outcomes("phq9", scores, infusions, today=TODAY, rules=longer),
        last_checkin=pd.Series({"stopped": _day(150)}),
        open_alerts=pd.DataFrame(columns=["patient_id", "kind", "created_at"]),
        today=TODAY,
        active_days=365,
        rules=longer,
    )
    # Still "in treatment" with a year's window, but no score for 150 days: lost to follow-up
    # (its own reason, not also overdue or not responding on a score five months old).
    assert set(recent["reason"]) == {"lost_to_follow_up"}


NO_ALERTS = pd.DataFrame(columns=["patient_id", "kind", "created_at"])


def _items(
    infusion_days: list[int], scores: list[tuple[int, int]], **options: object
) -> pd.DataFrame:
    """The worklist of one patient "a" (days are days before TODAY)."""
    courses = course_outcomes(
        "phq9",
        pd.DataFrame(
            [("a", _day(d), t) for d, t in scores],
            columns=["patient_id", "administered_at", "total"],
        ),
        pd.DataFrame(
            [("a", _day(d)) for d in infusion_days], columns=["patient_id", "administered_at"]
        ),
        today=TODAY,
    )
    return worklist(
        courses,
        last_checkin=pd.Series({"a": _day(min(d for d, _ in scores))}),
        open_alerts=NO_ALERTS,
        today=TODAY,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("age", "reason"), [(0, "booster"), (14, "booster"), (15, "check_in"), (28, "check_in")]
)
def test_a_booster_is_prompted_only_while_the_latest_score_is_recent(age: int, reason: str) -> None:
    """Spec §2: within 2 x cadence (14 days) of today a booster, older a check-in first."""
    # Baseline 20, response 8, then 12 > 10: losing response, latest score `age` days old.
    items = _items([60, 58, 56, 10], [(60, 20), (40, 8), (age, 12)])
    prompts = items[items["reason"].isin(["booster", "check_in"])]
    assert list(prompts["reason"]) == [reason]
    assert "losing response" in prompts["detail"].iloc[0]


def test_recency_follows_the_clinic_cadence_and_rule() -> None:
    scores = [(60, 20), (40, 8), (20, 12)]  # latest 20 days old

    def prompt(**options: object) -> str:
        items = _items([60, 10], scores, **options)
        return str(items.loc[items["reason"].isin(["booster", "check_in"]), "reason"].item())

    assert prompt(cadence_days=14) == "booster"
    assert prompt() == "check_in"
    assert prompt(rules=DEFAULT_RULES.override(booster_recency_cadences=3)) == "booster"


def test_months_old_losing_response_is_not_a_booster_prompt() -> None:
    """Issue 11: "consider a booster" listed patients whose last score was 9-13 months old."""
    scores = [(390, 20), (370, 8), (300, 12), (290, 14)]  # relapsed ten months ago
    # Nothing for 290 days: the course has ended, nothing to prompt.
    assert _items([390, 388, 386], scores).empty
    # A booster was given last week but no score for 290 days: lost to follow-up, not booster.
    items = _items([390, 388, 386, 7], scores)
    assert list(items["reason"]) == ["lost_to_follow_up"]
    assert items.loc[0, "detail"] == "no score for 290 days (more than 28)"


def test_a_patient_who_responded_again_under_boosters_is_not_prompted() -> None:
    """Relapsed, then boosters and eleven months of response: nothing to do."""
    scores = [(400, 20), (380, 8), (370, 14), (363, 15)]
    scores += [(d, 6) for d in range(350, 0, -28)]
    boosters = [400, 398, 396, *range(356, 0, -28)]
    reasons = set(_items(boosters, scores)["reason"])
    assert not reasons & {"booster", "check_in", "lost_to_follow_up", "not_responding"}
