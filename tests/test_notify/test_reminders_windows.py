"""The window a reminder is for is the full schedule's, though only a few days are built.

:func:`data.schedule.due_checkins` builds each patient's windows from the day on
(``since``) and its periodic points only ``early_days + 1`` days ahead (``through``), which
is what keeps a 10,000-patient clinic's pass short (bench/reminders.py). A window due later
never cuts the one open now, so the window open at any moment is the same as the full
schedule's (pure: no database).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.checkin_windows import clinic_date
from outcomes.rules import DEFAULT_RULES
from outcomes.schedule import (
    DEFAULT_SCHEDULE,
    MeasurementWindow,
    measurement_windows,
    parse_schedule,
    schedule_json,
)

ZONE = "America/New_York"
START = dt.datetime(2026, 1, 5, 10, tzinfo=zoneinfo.ZoneInfo(ZONE))


def _open(windows: tuple[MeasurementWindow, ...], at: dt.datetime) -> MeasurementWindow | None:
    return next((w for w in windows if w.opens <= at < w.closes), None)


@settings(max_examples=150, deadline=None)
@given(
    days=st.lists(st.integers(0, 120), min_size=1, max_size=12),
    hours=st.integers(0, 400 * 24),
    weekly=st.integers(1, 14),
    maintenance=st.integers(7, 60),
    induction=st.integers(1, 8),
    early=st.integers(0, 6),
    grace=st.integers(0, 6),
)
def test_the_window_open_now_is_the_full_schedules(
    days: list[int],
    hours: int,
    weekly: int,
    maintenance: int,
    induction: int,
    early: int,
    grace: int,
) -> None:
    rules = dataclasses.replace(DEFAULT_RULES, early_days=early, grace_days=grace)
    points = schedule_json(DEFAULT_SCHEDULE)
    for point in points:
        if point["kind"] == "maintenance":
            point["every_days"] = maintenance
        if point["kind"] == "between_infusions":
            point["every_days"] = weekly
    schedule = parse_schedule(points, induction_infusions=induction)
    infusions = [START + dt.timedelta(days=d) for d in days]
    at = START + dt.timedelta(hours=hours)
    today = clinic_date(at, ZONE)
    full = measurement_windows(
        schedule,
        infusions=infusions,
        time_zone=ZONE,
        through=today + dt.timedelta(days=400),
        rules=rules,
    )
    near = measurement_windows(
        schedule,
        infusions=infusions,
        time_zone=ZONE,
        through=today + dt.timedelta(days=early + 1),
        since=today,
        rules=rules,
    )
    assert _open(near, at) == _open(full, at)
