"""Check-in completeness week by week and who is missing this week (issue 12: completeness
was one number)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from outcomes.completeness import WEEKLY_COLUMNS, missing_this_week, weekly_completeness

TODAY = dt.date(2024, 3, 31)
COURSES = pd.DataFrame(
    {
        "first_infusion_date": [
            dt.date(2024, 3, 1),  # p: weeks 1-5 of treatment in the last five weeks
            dt.date(2024, 3, 10),  # q
            dt.date(2023, 6, 1),  # r: past the first 12 weeks, not expected
            dt.date(2024, 3, 30),  # s: started inside this week, not expected yet
            None,  # t: no infusion
        ]
    },
    index=pd.Index(["p", "q", "r", "s", "t"], name="patient_id"),
)
SCORES = pd.DataFrame(
    {
        "patient_id": ["p", "p", "q", "r", "q"],
        "administered_at": pd.to_datetime(
            [
                "2024-03-29T10:00Z",
                "2024-03-20T10:00Z",
                "2024-03-18T10:00Z",
                "2024-03-30T10:00Z",
                "2024-03-31T09:00Z",
            ]
        ),
        "total": [5.0, 7.0, 9.0, 3.0, float("nan")],  # q's latest is invalid
    }
)


def test_completeness_is_a_weekly_series() -> None:
    weekly = weekly_completeness(COURSES, SCORES, today=TODAY, weeks=4)
    assert list(weekly.columns) == list(WEEKLY_COLUMNS)
    assert list(weekly["week_end"]) == [
        dt.date(2024, 3, 10),
        dt.date(2024, 3, 17),
        dt.date(2024, 3, 24),
        dt.date(2024, 3, 31),
    ]
    # This week (Mar 25-31): p and q expected; p checked in, q's only score was invalid.
    latest = weekly.iloc[-1]
    assert (latest["expected"], latest["received"], latest["missing"]) == (2, 1, 1)
    assert latest["share"] == 0.5
    # Mar 18-24: p (Mar 20) and q (Mar 18) both checked in
    assert weekly.iloc[2][["expected", "received"]].tolist() == [2, 2]
    # Mar 4-10: only p expected (q's first infusion was on Mar 10), and p was silent
    assert weekly.iloc[0][["expected", "received", "share"]].tolist() == [1, 0, 0.0]


def test_who_is_missing_this_week() -> None:
    missing = missing_this_week(COURSES, SCORES, today=TODAY)
    assert list(missing["patient_id"]) == ["q"]
    assert missing.loc[0, "days_since_last_score"] == 13  # Mar 18, its last valid score
    assert missing.loc[0, "week_of_treatment"] == 3
