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
from collections.abc import Iterable

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
    return _longest_silence_first(table)


# --- From stored facts ------------------------------------------------------------------------
#
# The two functions above read every score of a clinic. All they need of one patient is the
# first infusion, the days after it with a valid score that a week can expect (days 1 to
# 7 * first_weeks + 5), and the latest valid score: checkin_days is stored with the course
# state, and the two *_from_days functions give the same tables from it, for any today.


def last_expected_day(first_weeks: int = 12) -> int:
    """The last day after the first infusion that an expected week can hold.

    A week is expected when it starts 1 to ``7 * first_weeks - 1`` days after the first
    infusion; its last day is six days later.
    """
    return 7 * first_weeks + 5


def checkin_days(
    first_infusion: dt.date | None, score_dates: Iterable[dt.date], *, first_weeks: int = 12
) -> list[int] | None:
    """Days after the first infusion (1 to :func:`last_expected_day`) with a valid score.

    ``score_dates`` are the calendar days (UTC) of one patient's valid scores of one
    instrument. None without a first infusion (the patient is never expected). Sorted, each
    day once: JSON as it is.
    """
    if first_infusion is None:
        return None
    last = last_expected_day(first_weeks)
    return sorted({(day - first_infusion).days for day in score_dates} & set(range(1, last + 1)))


def _exploded(courses: pd.DataFrame) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Each followed patient's first infusion, and (patient position, day) of every stored
    check-in day, as flat arrays."""
    first = _first_days(courses)
    stored = courses["checkin_days"].reindex(first.index).tolist()
    counts = np.array([len(days or ()) for days in stored], dtype=np.int64)
    owners = np.repeat(np.arange(len(first), dtype=np.int64), counts)
    days = np.fromiter(
        (day for days in stored for day in days or ()), dtype=np.int64, count=int(counts.sum())
    )
    return first, owners, days


def _stored_week(
    first: pd.Series, owners: np.ndarray, days: np.ndarray, end: pd.Timestamp, first_weeks: int
) -> tuple[pd.Index, pd.Index]:
    """:func:`_week` from the stored check-in days."""
    since = (end - pd.Timedelta(days=6) - first).dt.days.to_numpy(dtype=np.int64)
    expecting = (since > 0) & (since < 7 * first_weeks)
    offset = days - since[owners]
    seen = np.zeros(len(first), dtype=bool)
    seen[owners[(offset >= 0) & (offset <= 6)]] = True
    return first.index[expecting], first.index[expecting & seen]


def weekly_completeness_from_days(
    courses: pd.DataFrame, *, today: dt.date, weeks: int = 12, first_weeks: int = 12
) -> pd.DataFrame:
    """:func:`weekly_completeness` from stored facts.

    ``courses`` holds ``first_infusion_date`` and ``checkin_days`` (:func:`checkin_days`
    with the same ``first_weeks``) per patient; the result is the same table.
    """
    first, owners, days = _exploded(courses)
    rows = []
    for back in range(weeks - 1, -1, -1):
        end = pd.Timestamp(today) - pd.Timedelta(days=7 * back)
        expected, received = _stored_week(first, owners, days, end, first_weeks)
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


def missing_this_week_from_days(
    courses: pd.DataFrame, *, today: dt.date, first_weeks: int = 12
) -> pd.DataFrame:
    """:func:`missing_this_week` from stored facts.

    ``courses`` holds ``first_infusion_date``, ``checkin_days`` and ``latest_date`` (the
    latest valid score, :func:`outcomes.course.course_facts`); the result is the same table.
    """
    first, owners, days = _exploded(courses)
    end = pd.Timestamp(today)
    expected, received = _stored_week(first, owners, days, end, first_weeks)
    missing = expected.difference(received, sort=False)
    latest = courses["latest_date"].reindex(missing)
    silence = pd.Series(
        [None if day is None or pd.isna(day) else (today - day).days for day in latest],
        dtype="Int64",
    )
    week = ((end - first.reindex(missing)).dt.days + 6) // 7
    table = pd.DataFrame(
        {
            "patient_id": missing.to_numpy(),
            "week_of_treatment": week.to_numpy(dtype=np.int64),
            # as missing_this_week: int64 when every patient has a score, else objects
            "days_since_last_score": silence.to_numpy(),
        }
    )
    return _longest_silence_first(table)


def first_expected_from(today: dt.date, *, weeks: int = 12, first_weeks: int = 12) -> dt.date:
    """The earliest first infusion any of the last ``weeks`` weeks up to ``today`` expects
    (:func:`weekly_completeness`): patients who started before it need no check-in days."""
    earliest_week_start = today - dt.timedelta(days=7 * (weeks - 1) + 6)
    return earliest_week_start - dt.timedelta(days=7 * first_weeks - 1)


def _longest_silence_first(table: pd.DataFrame) -> pd.DataFrame:
    """Who has not checked in this week, the longest silence first (never scored: first of
    all), then the furthest into treatment: one order for both readers of the table."""
    order = table["days_since_last_score"].fillna(np.iinfo(np.int32).max)
    return (
        table.assign(_order=order.astype(np.int64))
        .sort_values(["_order", "week_of_treatment"], ascending=[False, False], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
