"""The measurement schedule anchored to infusions (course-and-reporting §4, issue 14)."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.schedule import (
    DEFAULT_SCHEDULE,
    KINDS,
    MeasurementWindow,
    ScheduleError,
    measurement_windows,
    next_due_after,
    parse_schedule,
    schedule_json,
    schedule_status,
)

ZONE = "America/New_York"
TZ = zoneinfo.ZoneInfo(ZONE)
START = dt.datetime(2026, 1, 5, 10, tzinfo=TZ)
INFUSION_KINDS = {"baseline", "before_infusion", "before_booster"}


def _windows(days: list[int], *, through: int = 200) -> tuple[MeasurementWindow, ...]:
    return measurement_windows(
        DEFAULT_SCHEDULE,
        infusions=[START + dt.timedelta(days=d) for d in days],
        time_zone=ZONE,
        through=START.date() + dt.timedelta(days=through),
    )


def _on(day: int) -> dt.date:
    return START.date() + dt.timedelta(days=day)


def test_a_twice_weekly_induction_gets_the_spec_points_in_order() -> None:
    windows = _windows([0, 3, 7, 10, 14, 17], through=80)
    kinds = [w.kind for w in windows]
    assert kinds[:6] == ["baseline"] + ["before_infusion"] * 5
    # Baseline: the 7 days before the first infusion, due on the day, closing at its time.
    baseline = windows[0]
    assert (baseline.days.opens, baseline.days.due) == (_on(-7), _on(0))
    assert baseline.closes == START
    # Before an induction infusion: 48 h before it, closing at its time.
    second = windows[1]
    assert second.opens == START + dt.timedelta(days=1) and second.closes == START + dt.timedelta(
        days=3
    )
    # After the last induction infusion (day 17): weekly, then ORKA-1's 14-31 days.
    assert [(w.kind, w.days.due) for w in windows[6:8]] == [
        ("between_infusions", _on(24)),
        ("end_of_induction", _on(31)),
    ]
    assert windows[7].days.closes == _on(17 + 31)
    # Maintenance every 4 weeks after the end of induction.
    assert [w.days.due for w in windows if w.kind == "maintenance"] == [_on(59)]


def test_weekly_points_fill_only_gaps_longer_than_a_week() -> None:
    # (``through`` bounds the periodic points only: the end of induction, tied to the
    # infusions, is always built.)
    windows = _windows([0, 14], through=14)
    assert [(w.kind, w.days.due) for w in windows] == [
        ("baseline", _on(0)),
        ("between_infusions", _on(7)),
        ("before_infusion", _on(14)),
        ("end_of_induction", _on(28)),
    ]
    # An 8-day gap: the weekly point on day 7 is the pre-infusion check-in of day 8.
    assert [w.kind for w in _windows([0, 8], through=10)] == [
        "baseline",
        "before_infusion",
        "end_of_induction",
    ]


def test_a_booster_restarts_the_maintenance_clock() -> None:
    induction = [0, 2, 4, 7, 9, 11]
    booster = 11 + 50
    windows = _windows([*induction, booster], through=booster + 60)
    before = next(w for w in windows if w.kind == "before_booster")
    assert before.days.due == _on(booster)
    later = [w.days.due for w in windows if w.kind == "maintenance" and w.days.due > _on(booster)]
    assert later == [_on(booster + 28), _on(booster + 56)]


def test_no_infusion_no_window_and_the_weekly_cadence_meanwhile() -> None:
    assert _windows([]) == ()
    status = schedule_status((), instrument="phq9", today=_on(0), checkins=[])
    assert (status.done, status.next_due, status.stretch_end) == (False, None, None)
    done = schedule_status((), instrument="phq9", today=_on(0), checkins=[_on(-40)])
    assert done.done and done.next_due is None
    # A patient waiting for a first infusion nobody has booked: weekly from their first
    # check-in meanwhile (as before the schedule), one per week.
    waiting = schedule_status(
        (),
        instrument="phq9",
        today=_on(0),
        checkins=[_on(-7)],
        infused=False,
        first_checkin=_on(-7),
    )
    assert (waiting.done, waiting.next_due) == (False, _on(0))
    again = schedule_status(
        (), instrument="phq9", today=_on(0), checkins=[_on(0)], infused=False, first_checkin=_on(-7)
    )
    assert (again.done, again.next_due) == (True, _on(7))


def test_the_next_due_after_a_check_in_is_the_next_window() -> None:
    windows = _windows([0, 3, 7])
    status = schedule_status(windows, instrument="phq9", today=_on(2), checkins=[_on(2)])
    assert status.done and status.next_due == _on(7)
    assert next_due_after(windows, last_checkin=_on(2)) == _on(7)
    # A missed window stays due: the first after the latest check-in.
    assert next_due_after(windows, last_checkin=_on(-30)) == _on(0)
    assert next_due_after(windows, last_checkin=None) == _on(0)


def test_a_questionnaire_only_some_points_ask_for() -> None:
    custom = parse_schedule(
        [
            {"kind": "baseline", "instruments": ["phq9", "gad7"]},
            {"kind": "before_infusion", "instruments": ["phq9"]},
        ],
        induction_infusions=6,
    )
    windows = measurement_windows(
        custom, infusions=[START, START + dt.timedelta(days=3)], time_zone=ZONE, through=_on(30)
    )
    gad7 = schedule_status(windows, instrument="gad7", today=_on(2), checkins=[])
    assert gad7.window is None and gad7.next_due is None
    phq9 = schedule_status(windows, instrument="phq9", today=_on(2), checkins=[])
    assert phq9.window is not None and phq9.next_due == _on(3)


def test_the_stored_form_reads_back_and_bad_points_are_named() -> None:
    assert (
        parse_schedule(schedule_json(DEFAULT_SCHEDULE), induction_infusions=6) == DEFAULT_SCHEDULE
    )
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(
            [
                {"kind": "weekly"},
                {"kind": "maintenance", "instruments": ["phq9"], "every_days": 0},
                {"kind": "baseline", "instruments": ["nope"], "colour": 1},
                {"kind": "end_of_induction", "instruments": ["phq9"], "from_day": 40},
                {"kind": "maintenance", "instruments": ["phq9"]},
            ],
            induction_infusions=0,
        )
    message = str(refused.value)
    for part in (
        "induction infusions must be a whole number from 1 to 20",
        "point 1: kind must be one of",
        "point 2 (maintenance): every_days must be a whole number from 7 to 365",
        "point 3 (baseline): unknown field colour",
        "point 3 (baseline): unknown questionnaire nope",
        "point 4 (end of induction): from_day must not be after to_day",
        "point 5 (maintenance): this kind is listed twice",
    ):
        assert part in message
    with pytest.raises(ScheduleError, match="at least one point"):
        parse_schedule([], induction_infusions=6)


infusion_days = st.lists(st.integers(0, 120), min_size=0, max_size=14)
hours = st.integers(0, 23)


@settings(max_examples=150, deadline=None)
@given(days=infusion_days, hour=hours, induction=st.integers(1, 8))
def test_windows_never_overlap_and_hold_their_due_day(
    days: list[int], hour: int, induction: int
) -> None:
    schedule = parse_schedule(schedule_json(DEFAULT_SCHEDULE), induction_infusions=induction)
    windows = measurement_windows(
        schedule,
        infusions=[START.replace(hour=hour) + dt.timedelta(days=d) for d in days],
        time_zone=ZONE,
        through=_on(200),
    )
    for window in windows:
        assert window.days.opens <= window.days.due <= window.days.closes
        # (An infusion at midnight whose day starts the window leaves it no moment before
        # the infusion: reminders skip it; its day still holds one check-in.)
        assert window.opens <= window.due <= window.closes
        assert window.kind in KINDS and window.key == f"{window.kind}:{window.days.due}"
        assert window.kind in INFUSION_KINDS | {"end_of_induction"} or window.days.due <= _on(200)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.days.closes < later.days.opens
        assert earlier.closes <= later.opens


@settings(max_examples=150, deadline=None)
@given(days=infusion_days, extra=st.integers(0, 150))
def test_every_recorded_or_planned_infusion_moves_the_schedule(days: list[int], extra: int) -> None:
    before = _windows(days)
    after = _windows([*days, extra])
    if extra in days:
        assert after == before  # the same day's infusion is the same infusion
        return
    assert after != before
    # A check-in is due on the new infusion's day (the baseline, or the one before it).
    assert any(w.days.due == _on(extra) and w.kind in INFUSION_KINDS for w in after)


@settings(max_examples=150, deadline=None)
@given(days=infusion_days, today=st.integers(-20, 200), taken=st.lists(st.integers(-20, 200)))
def test_next_due_is_never_before_todays_window(
    days: list[int], today: int, taken: list[int]
) -> None:
    windows = _windows(days, through=today + 400)
    checkins = [_on(d) for d in taken if d <= today]
    status = schedule_status(windows, instrument="phq9", today=_on(today), checkins=checkins)
    if status.next_window is None:
        assert status.next_due is None
        return
    assert status.next_due == status.next_window.due
    if status.window is not None and not status.done:
        assert status.next_window == status.window
    else:
        # Done, or between windows: the next one opens after today, never tomorrow's "again".
        assert status.next_window.opens > _on(today)
    # A check-in on today always leaves today's stretch done.
    again = schedule_status(
        windows, instrument="phq9", today=_on(today), checkins=[*checkins, _on(today)]
    )
    assert again.done and (again.next_window is None or again.next_window.opens > _on(today))


@settings(max_examples=100, deadline=None)
@given(days=infusion_days, since=st.integers(-30, 400), maintenance=st.integers(7, 365))
def test_windows_built_from_a_day_on_are_the_full_schedules_from_that_day(
    days: list[int], since: int, maintenance: int
) -> None:
    """The check-in writer and the reminders build windows around a day only (``since``):
    from the window before that day on, they are exactly the full schedule's."""
    points = schedule_json(DEFAULT_SCHEDULE)
    for point in points:
        if point["kind"] == "maintenance":
            point["every_days"] = maintenance
    schedule = parse_schedule(points, induction_infusions=6)

    def built(**since_day: dt.date) -> tuple[MeasurementWindow, ...]:
        return measurement_windows(
            schedule,
            infusions=[START + dt.timedelta(days=d) for d in days],
            time_zone=ZONE,
            through=_on(800),
            **since_day,
        )

    full, near = built(), built(since=_on(since))
    wanted = [w for w in full if w.days.closes >= _on(since)]
    before = [w for w in full if w.days.closes < _on(since)]
    assert [w for w in near if w.days.closes >= _on(since)] == wanted
    if before:
        assert before[-1] in near  # the stretch before the day starts where it did
