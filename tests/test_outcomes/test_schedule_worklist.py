"""The worklist's "overdue" from the measurement schedule (spec §4, issue 14)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from outcomes.course import course_outcomes
from outcomes.schedule import (
    DEFAULT_SCHEDULE,
    measurement_windows,
    next_due_after,
    next_window_after,
)
from outcomes.worklist import worklist

TODAY = dt.date(2026, 5, 4)


def _day(offset: int) -> dt.date:
    return TODAY - dt.timedelta(days=offset)


def _at(offset: int) -> dt.datetime:
    return dt.datetime.combine(_day(offset), dt.time(10), dt.UTC)


def test_overdue_comes_from_the_schedule_not_the_weekly_cadence() -> None:
    # Six induction infusions 60 to 45 days ago, a baseline and a check-in in the end of
    # induction window (20 days ago). Weekly, the next was due 18 days ago; on the schedule
    # it is the first maintenance point, 28 days after the end of induction (3 days ago).
    induction = [60, 57, 54, 51, 48, 45]
    rows = [(p, _day(d)) for p in ("late", "unbooked") for d in induction]
    scores = [(p, _day(d), t) for p in ("late", "unbooked") for d, t in ((60, 15), (20, 9))]
    courses = course_outcomes(
        "phq9",
        pd.DataFrame(scores, columns=["patient_id", "administered_at", "total"]),
        pd.DataFrame(rows, columns=["patient_id", "administered_at"]),
        today=TODAY,
    )
    last = pd.Series({p: _day(20) for p in courses.index})
    windows = measurement_windows(
        DEFAULT_SCHEDULE,
        infusions=[_at(d) for d in induction],
        time_zone="UTC",
        through=TODAY + dt.timedelta(days=60),
    )
    due = next_due_after(windows, last_checkin=_day(20))
    assert due == _day(3)
    alerts = pd.DataFrame(columns=["patient_id", "kind", "created_at"])
    weekly = worklist(courses, last_checkin=last, open_alerts=alerts, today=TODAY)
    overdue = weekly[weekly["reason"] == "overdue"]
    assert sorted(overdue["patient_id"]) == ["late", "unbooked"]
    assert set(overdue["since"]) == {_day(18)}
    # "unbooked": no due date stored (as for a patient with nothing given or booked).
    next_due = pd.Series({"late": due, "unbooked": None}, dtype=object)
    scheduled = worklist(
        courses, last_checkin=last, open_alerts=alerts, today=TODAY, next_due=next_due
    )
    overdue = scheduled[scheduled["reason"] == "overdue"]
    assert list(overdue["patient_id"]) == ["late"]
    assert list(overdue["since"]) == [_day(3)]
    # Within grace_days of the due date it is not overdue yet.
    kind = worklist(
        courses,
        last_checkin=last,
        open_alerts=alerts,
        today=TODAY,
        next_due=pd.Series({"late": _day(2), "unbooked": _day(1)}),
    )
    assert "overdue" not in set(kind["reason"])


def test_a_long_window_is_not_overdue_until_it_closes() -> None:
    """The end of induction's window runs 14 to 31 days after the last induction infusion:
    due on its first day, a patient is not overdue on day 17 (grace days from the due date
    would say so), only after its last day (the stored ``next_due_closes``)."""
    induction = [30, 29, 27, 25, 23, 21]
    rows = [("waiting", _day(d)) for d in induction]
    scores = [("waiting", _day(31), 15)]
    courses = course_outcomes(
        "phq9",
        pd.DataFrame(scores, columns=["patient_id", "administered_at", "total"]),
        pd.DataFrame(rows, columns=["patient_id", "administered_at"]),
        today=TODAY,
    )
    windows = measurement_windows(
        DEFAULT_SCHEDULE,
        infusions=[_at(d) for d in induction],
        time_zone="UTC",
        through=TODAY + dt.timedelta(days=60),
    )
    end_of_induction = next(w for w in windows if w.kind == "end_of_induction")
    upcoming = end_of_induction.days
    assert upcoming.closes - upcoming.due > dt.timedelta(days=2)  # longer than grace_days
    alerts = pd.DataFrame(columns=["patient_id", "kind", "created_at"])
    last = pd.Series({"waiting": _day(21)})
    for today, overdue in (
        (upcoming.due + dt.timedelta(days=3), False),
        (upcoming.closes, False),
        (upcoming.closes + dt.timedelta(days=1), True),
    ):
        found = worklist(
            course_outcomes(
                "phq9",
                pd.DataFrame(scores, columns=["patient_id", "administered_at", "total"]),
                pd.DataFrame(rows, columns=["patient_id", "administered_at"]),
                today=today,
            ),
            last_checkin=last,
            open_alerts=alerts,
            today=today,
            next_due=pd.Series({"waiting": upcoming.due}),
            next_due_closes=pd.Series({"waiting": upcoming.closes}),
        )
        assert ("overdue" in set(found["reason"])) is overdue, today
    assert not courses.empty


def test_the_next_window_is_the_one_after_the_latest_checkin() -> None:
    induction = [30, 29, 27, 25, 23, 21]
    windows = measurement_windows(
        DEFAULT_SCHEDULE,
        infusions=[_at(d) for d in induction],
        time_zone="UTC",
        through=TODAY + dt.timedelta(days=60),
    )
    first = next_window_after(windows, last_checkin=None)
    assert first is not None and first == windows[0].days
    later = next_window_after(windows, last_checkin=first.due)
    assert later is not None and later.opens > first.closes
    assert next_due_after(windows, last_checkin=first.due) == later.due
