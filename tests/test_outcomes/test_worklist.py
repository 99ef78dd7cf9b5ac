"""The worklist's order and the check-in due date are rules, tested here."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from outcomes.course import course_outcomes
from outcomes.worklist import REASONS, next_checkin_due, worklist

TODAY = dt.date(2026, 5, 1)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, TODAY),  # not started: a baseline is due now
        (dt.date(2026, 4, 1), None, dt.date(2026, 4, 1)),  # infused, never checked in
        (dt.date(2026, 4, 1), dt.date(2026, 3, 30), dt.date(2026, 4, 1)),  # baseline only
        (dt.date(2026, 4, 1), dt.date(2026, 4, 1), dt.date(2026, 4, 8)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 7), dt.date(2026, 4, 8)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 8), dt.date(2026, 4, 15)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 10), dt.date(2026, 4, 15)),
    ],
)
def test_next_checkin_is_counted_from_the_first_infusion(first, last, expected) -> None:
    assert next_checkin_due(first_infusion=first, last_checkin=last, today=TODAY) == expected


def _day(offset: int) -> dt.date:
    return TODAY - dt.timedelta(days=offset)


def test_worklist_orders_alerts_then_losing_response_then_the_rest() -> None:
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
        "losing_response",
        "not_responding",
        "overdue",
        "no_baseline",
        "no_baseline",
    ]
    assert list(items["patient_id"]) == ["flat", "losing", "flat", "quiet", "nobase", "brand-new"]
    assert list(items["priority"]) == sorted(items["priority"])
    assert set(items["reason"]) <= set(REASONS)
    # first infusion 40 days ago, last check-in 20 days ago: due on day 21, 19 days ago
    assert items.loc[3, "since"] == _day(19)


def test_patients_who_stopped_long_ago_are_not_overdue_or_not_responding() -> None:
    infusions = pd.DataFrame(
        {"patient_id": "stopped", "administered_at": [_day(200 - 2 * i) for i in range(5)]}
    )
    scores = pd.DataFrame(
        {"patient_id": "stopped", "administered_at": [_day(200), _day(150)], "total": [18, 17]}
    )
    courses = course_outcomes("phq9", scores, infusions)
    items = worklist(
        courses,
        last_checkin=pd.Series({"stopped": _day(150)}),
        open_alerts=pd.DataFrame(columns=["patient_id", "kind", "created_at"]),
        today=TODAY,
    )
    assert items.empty
    recent = worklist(
        courses,
        last_checkin=pd.Series({"stopped": _day(150)}),
        open_alerts=pd.DataFrame(columns=["patient_id", "kind", "created_at"]),
        today=TODAY,
        active_days=365,
    )
    assert set(recent["reason"]) == {"not_responding", "overdue"}
