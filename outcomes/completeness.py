"""Check-in completeness week by week, and who has not checked in this week.

One number for completeness hides when it fell and who is missing now. These are the
weekly series the outcomes page draws and the list it prints.

Rule [D]: a patient is *expected* to check in during a week (seven days ending on a given
day) when their first infusion was before the week began and less than ``first_weeks`` weeks
before it (the first 12 weeks of treatment, as :func:`outcomes.cohort.checkin_completeness`).
A week is *received* when it holds at least one valid score. Patients who stopped treatment
early are still expected, so low completeness can mean drop-out as well as missed forms.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

WEEKLY_COLUMNS = ("week_start", "week_end", "expected", "received", "missing", "share")
"""The columns of :func:`weekly_completeness`."""


def _first_days(courses: pd.DataFrame) -> pd.Series:
    followed = courses[courses["first_infusion_date"].notna()]
    return pd.to_datetime(followed["first_infusion_date"]).dt.normalize()


def _score_days(assessments: pd.DataFrame) -> pd.DataFrame:
    valid = assessments[assessments["total"].notna()]
    day = pd.to_datetime(valid["administered_at"], utc=True).dt.tz_localize(None).dt.normalize()
    return pd.DataFrame({"patient_id": valid["patient_id"].to_numpy(), "day": day.to_numpy()})


def _week(
    first: pd.Series, scores: pd.DataFrame, end: pd.Timestamp, first_weeks: int
) -> tuple[pd.Index, pd.Index]:
    """Patients expected in the seven days ending on ``end``, and those of them received."""
    start = end - pd.Timedelta(days=6)
    since = (start - first).dt.days
    expected = first.index[(since > 0) & (since < 7 * first_weeks)]
    seen = scores[(scores["day"] >= start) & (scores["day"] <= end)]["patient_id"]
    return expected, expected[expected.isin(seen.unique())]


def weekly_completeness(
    courses: pd.DataFrame,
    assessments: pd.DataFrame,
    *,
    today: dt.date,
    weeks: int = 12,
    first_weeks: int = 12,
) -> pd.DataFrame:
    """Check-ins expected and received in each of the last ``weeks`` weeks up to ``today``.

    Parameters
    ----------
    courses : DataFrame
        :func:`outcomes.course.course_outcomes` (``first_infusion_date`` is read).
    assessments : DataFrame
        ``patient_id``, ``administered_at``, ``total`` (NaN for an invalid score).
    today : date
        The last day of the latest week.
    weeks : int, default 12
        How many weeks to report, oldest first.
    first_weeks : int, default 12
        How many weeks after the first infusion a patient is expected to check in weekly.

    Returns
    -------
    DataFrame
        :data:`WEEKLY_COLUMNS`: the week's first and last day, patients ``expected``,
        ``received`` (at least one valid score that week), ``missing`` and ``share``
        (received / expected; NaN when nobody was expected).
    """
    first = _first_days(courses)
    scores = _score_days(assessments)
    rows = []
    for back in range(weeks - 1, -1, -1):
        end = pd.Timestamp(today) - pd.Timedelta(days=7 * back)
        expected, received = _week(first, scores, end, first_weeks)
        rows.append(
            {
                "week_start": (end - pd.Timedelta(days=6)).date(),
                "week_end": end.date(),
                "expected": len(expected),
                "received": len(received),
                "missing": len(expected) - len(received),
                "share": len(received) / len(expected) if len(expected) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(WEEKLY_COLUMNS))


def missing_this_week(
    courses: pd.DataFrame,
    assessments: pd.DataFrame,
    *,
    today: dt.date,
    first_weeks: int = 12,
) -> pd.DataFrame:
    """Patients expected to check in during the seven days ending ``today`` who have not.

    Returns
    -------
    DataFrame
        ``patient_id`` (whatever id the frames carry: a pseudonym for an administrator),
        ``week_of_treatment`` (1 in the week after the first infusion) and
        ``days_since_last_score`` (NA when the patient never had a valid score), the
        longest silence first.
    """
    first = _first_days(courses)
    scores = _score_days(assessments)
    end = pd.Timestamp(today)
    expected, received = _week(first, scores, end, first_weeks)
    missing = expected.difference(received, sort=False)
    last = scores.groupby("patient_id")["day"].max().reindex(missing)
    silence = (end - last).dt.days.astype("Int64")
    week = ((end - first.reindex(missing)).dt.days + 6) // 7
    table = pd.DataFrame(
        {
            "patient_id": missing.to_numpy(),
            "week_of_treatment": week.to_numpy(dtype=np.int64),
            "days_since_last_score": silence.to_numpy(),
        }
    )
    order = table["days_since_last_score"].fillna(np.iinfo(np.int32).max)
    return (
        table.assign(_order=order.astype(np.int64))
        .sort_values(["_order", "week_of_treatment"], ascending=[False, False], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
