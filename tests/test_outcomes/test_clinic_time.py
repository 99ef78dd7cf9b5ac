"""A clinic's clock: open hours, quiet hours and what comes next, DST days included."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from outcomes.clinic_time import (
    clinic_open,
    in_quiet_hours,
    next_opening,
    open_time_between,
    open_time_elapsed_at,
    parse_clock,
    parse_days,
    quiet_hours_end,
)

NY = "America/New_York"
HOURS = {"zone": NY, "days": "0,1,2,3,4", "opens": "08:00", "closes": "18:00"}
QUIET = {"zone": NY, "start": "21:00", "end": "08:00"}


def ny(*parts: int) -> dt.datetime:
    """A moment on New York's wall clock."""
    return dt.datetime(*parts, tzinfo=zoneinfo.ZoneInfo(NY))  # type: ignore[misc]


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("08:00", dt.time(8)),
        ("21:30", dt.time(21, 30)),
        (" 00:00 ", dt.time(0)),
        ("23:59", dt.time(23, 59)),
    ],
)
def test_times_of_day_are_read_as_hh_mm(text: str, time: dt.time) -> None:
    assert parse_clock(text) == time


@pytest.mark.parametrize("text", ["8:00", "24:00", "12:60", "noon", "", "08:00:00", "0800"])
def test_anything_but_hh_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock(text)


def test_days_are_read_from_text_or_numbers() -> None:
    assert parse_days("0,1,2,3,4") == frozenset(range(5))
    assert parse_days(" 5, 6 ") == frozenset({5, 6})
    assert parse_days("") == frozenset()
    assert parse_days([0, 6]) == frozenset({0, 6})
    for wrong in ("Mon,Tue", "7", "-1"):
        with pytest.raises(ValueError):
            parse_days(wrong)
    with pytest.raises(ValueError, match="not a day"):
        parse_days([7])


def test_open_from_opening_to_closing_on_the_clinics_days() -> None:
    assert clinic_open(ny(2026, 11, 30, 8, 0), **HOURS)  # Monday 08:00: opens
    assert clinic_open(ny(2026, 11, 30, 17, 59), **HOURS)
    assert not clinic_open(ny(2026, 11, 30, 18, 0), **HOURS)  # closes at 18:00
    assert not clinic_open(ny(2026, 11, 30, 7, 59), **HOURS)
    assert not clinic_open(ny(2026, 11, 29, 12, 0), **HOURS)  # Sunday
    # The same instant in UTC reads the clinic's clock: 13:30 UTC is 08:30 in New York.
    assert clinic_open(utc(2026, 11, 30, 13, 30), **HOURS)
    assert not clinic_open(utc(2026, 11, 30, 12, 30), **HOURS)


def test_a_clinic_must_open_before_it_closes_and_moments_must_be_aware() -> None:
    with pytest.raises(ValueError, match="open before it closes"):
        clinic_open(ny(2026, 11, 30, 9), zone=NY, days="0", opens="18:00", closes="08:00")
    with pytest.raises(ValueError, match="aware"):
        clinic_open(dt.datetime(2026, 11, 30, 9), **HOURS)
    with pytest.raises(ValueError, match="IANA"):
        clinic_open(
            ny(2026, 11, 30, 9), zone="Mars/Olympus", days="0", opens="08:00", closes="18:00"
        )


def test_opening_hours_follow_the_wall_clock_across_dst() -> None:
    # 2026-03-09 (Monday after clocks went forward): 08:00 EDT is 12:00 UTC, not 13:00.
    assert clinic_open(utc(2026, 3, 9, 12, 0), **HOURS)
    assert not clinic_open(utc(2026, 3, 6, 12, 0), **HOURS)  # the Friday before: 07:00 EST
    # 2026-11-02 (Monday after clocks went back): 08:00 EST is 13:00 UTC.
    assert not clinic_open(utc(2026, 11, 2, 12, 30), **HOURS)
    assert clinic_open(utc(2026, 11, 2, 13, 0), **HOURS)


def test_next_opening() -> None:
    # Friday evening: Monday 08:00.
    assert next_opening(ny(2026, 11, 27, 18, 30), **HOURS) == ny(2026, 11, 30, 8, 0)
    # Early on a weekday: that morning.
    assert next_opening(ny(2026, 11, 30, 6, 0), **HOURS) == ny(2026, 11, 30, 8, 0)
    # At opening time exactly: then.
    assert next_opening(ny(2026, 11, 30, 8, 0), **HOURS) == ny(2026, 11, 30, 8, 0)
    # While open: the next day's opening.
    assert next_opening(ny(2026, 11, 30, 9, 0), **HOURS) == ny(2026, 12, 1, 8, 0)
    # Closed every day: never.
    assert (
        next_opening(ny(2026, 11, 30, 9, 0), zone=NY, days="", opens="08:00", closes="18:00")
        is None
    )
    # The weekend clocks go forward: Monday 08:00 EDT is 12:00 UTC.
    opening = next_opening(ny(2026, 3, 6, 19, 0), **HOURS)
    assert opening == utc(2026, 3, 9, 12, 0) and opening.tzinfo == dt.UTC


def test_open_time_counts_only_opening_hours() -> None:
    # 17:50 Friday to 08:20 Monday: 10 minutes on Friday and 20 on Monday.
    assert open_time_between(ny(2026, 11, 27, 17, 50), ny(2026, 11, 30, 8, 20), **HOURS) == (
        dt.timedelta(minutes=30)
    )
    # Within one opening: the plain difference.
    assert open_time_between(ny(2026, 11, 30, 9), ny(2026, 11, 30, 9, 45), **HOURS) == (
        dt.timedelta(minutes=45)
    )
    # Backwards or empty: nothing.
    assert open_time_between(ny(2026, 11, 30, 10), ny(2026, 11, 30, 9), **HOURS) == dt.timedelta(0)
    # A whole week: five days of ten hours.
    assert open_time_between(ny(2026, 11, 30, 0), ny(2026, 12, 7, 0), **HOURS) == dt.timedelta(
        hours=50
    )


def test_open_time_is_wall_clock_hours_on_dst_days() -> None:
    # A clinic open through the night of the change: 00:00-06:00 holds 5 real hours in
    # spring (02:00 is skipped) and 7 in autumn (01:00-02:00 happens twice).
    night = {"zone": NY, "days": "6", "opens": "00:00", "closes": "06:00"}
    spring = open_time_between(ny(2026, 3, 8, 0), ny(2026, 3, 8, 12), **night)
    autumn = open_time_between(ny(2026, 11, 1, 0), ny(2026, 11, 1, 12), **night)
    assert (spring, autumn) == (dt.timedelta(hours=5), dt.timedelta(hours=7))


def test_open_time_elapsed_at() -> None:
    thirty = dt.timedelta(minutes=30)
    # Raised at 17:50 on Friday: 30 open minutes are up on Monday at 08:20.
    due = open_time_elapsed_at(ny(2026, 11, 27, 17, 50), thirty, **HOURS)
    assert due == ny(2026, 11, 30, 8, 20)
    assert due is not None
    assert open_time_between(ny(2026, 11, 27, 17, 50), due, **HOURS) == thirty
    # Raised at night: 08:30 the next morning; in hours: 30 minutes later.
    assert open_time_elapsed_at(ny(2026, 12, 1, 2, 0), thirty, **HOURS) == ny(2026, 12, 1, 8, 30)
    assert open_time_elapsed_at(ny(2026, 12, 1, 9, 0), thirty, **HOURS) == ny(2026, 12, 1, 9, 30)
    never = {"zone": NY, "days": [], "opens": "08:00", "closes": "18:00"}
    assert open_time_elapsed_at(ny(2026, 12, 1, 9, 0), thirty, **never) is None


def test_quiet_hours_across_midnight() -> None:
    assert in_quiet_hours(ny(2026, 11, 30, 21, 0), **QUIET)
    assert in_quiet_hours(ny(2026, 11, 30, 23, 59), **QUIET)
    assert in_quiet_hours(ny(2026, 12, 1, 7, 59), **QUIET)
    assert not in_quiet_hours(ny(2026, 12, 1, 8, 0), **QUIET)
    assert not in_quiet_hours(ny(2026, 11, 30, 20, 59), **QUIET)


def test_quiet_hours_within_a_day_and_none() -> None:
    lunch = {"zone": NY, "start": "12:00", "end": "13:00"}
    assert in_quiet_hours(ny(2026, 11, 30, 12, 30), **lunch)
    assert not in_quiet_hours(ny(2026, 11, 30, 13, 0), **lunch)
    none = {"zone": NY, "start": "09:00", "end": "09:00"}
    assert not in_quiet_hours(ny(2026, 11, 30, 9, 0), **none)
    assert quiet_hours_end(ny(2026, 11, 30, 9, 0), **none) == ny(2026, 11, 30, 9, 0)


def test_quiet_hours_end() -> None:
    # Late evening: the next morning's 08:00; after midnight: that morning's.
    assert quiet_hours_end(ny(2026, 11, 30, 22, 0), **QUIET) == ny(2026, 12, 1, 8, 0)
    assert quiet_hours_end(ny(2026, 12, 1, 3, 0), **QUIET) == ny(2026, 12, 1, 8, 0)
    # Outside quiet hours: the moment itself (in UTC).
    end = quiet_hours_end(ny(2026, 12, 1, 10, 0), **QUIET)
    assert end == ny(2026, 12, 1, 10, 0) and end.tzinfo == dt.UTC


def test_quiet_hours_on_dst_nights() -> None:
    # The night clocks go forward (8 March 2026): quiet hours end at 08:00 EDT = 12:00 UTC,
    # nine hours after 22:00 EST (03:00 UTC) although the wall clock moves ten.
    end = quiet_hours_end(ny(2026, 3, 7, 22, 0), **QUIET)
    assert end == utc(2026, 3, 8, 12, 0)
    assert end - ny(2026, 3, 7, 22, 0) == dt.timedelta(hours=9)
    # The night clocks go back (1 November 2026): 08:00 EST = 13:00 UTC, eleven hours later.
    end = quiet_hours_end(ny(2026, 10, 31, 22, 0), **QUIET)
    assert end == utc(2026, 11, 1, 13, 0)
    assert end - ny(2026, 10, 31, 22, 0) == dt.timedelta(hours=11)
    # The hour that happens twice (01:30 EDT and 01:30 EST) is quiet both times.
    first = utc(2026, 11, 1, 5, 30)
    second = utc(2026, 11, 1, 6, 30)
    assert in_quiet_hours(first, **QUIET) and in_quiet_hours(second, **QUIET)
    # 07:30 EDT on the spring morning (11:30 UTC) is still quiet; 12:00 UTC is not.
    assert in_quiet_hours(utc(2026, 3, 8, 11, 30), **QUIET)
    assert not in_quiet_hours(utc(2026, 3, 8, 12, 0), **QUIET)
