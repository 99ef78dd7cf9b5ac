"""Check-in windows and next due (course-and-reporting §3, issue 12 "Next due")."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.checkin_windows import (
    Window,
    cadence_schedule,
    cadence_window_status,
    correction_open,
    schedule_anchor,
    window_status,
    windows,
)
from outcomes.errors import RulesError, ScoringError
from outcomes.rules import DEFAULT_RULES
from outcomes.worklist import next_checkin_due

MONDAY = dt.date(2025, 1, 6)  # first infusion
WEEKLY = cadence_schedule(anchor=MONDAY, cadence_days=7, through=MONDAY + dt.timedelta(days=70))


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def test_the_rules_have_the_spec_defaults_and_a_clinic_can_change_them() -> None:
    """Spec §3 [D]: opens 1 day before, closes 2 days after, corrections for 24 hours."""
    assert (DEFAULT_RULES.early_days, DEFAULT_RULES.grace_days) == (1, 2)
    assert DEFAULT_RULES.correction_hours == 24
    changed = DEFAULT_RULES.override(early_days=0, grace_days=3, correction_hours=0)
    assert (changed.early_days, changed.grace_days, changed.correction_hours) == (0, 3, 0)
    with pytest.raises(RulesError, match="grace_days"):
        DEFAULT_RULES.override(grace_days=-1)


def test_a_window_opens_early_days_before_and_closes_grace_days_after() -> None:
    assert windows(WEEKLY)[1] == Window(opens=day(6), due=day(7), closes=day(9))


@pytest.mark.parametrize(
    ("today", "checked_in", "window_due", "done", "next_due"),
    [
        (day(7), [], day(7), False, day(7)),  # due today, not done: due now
        (day(7), [day(7)], day(7), True, day(14)),  # the issue: never "tomorrow"
        (day(6), [day(6)], day(7), True, day(14)),  # one day early counts
        (day(9), [day(6)], day(7), True, day(14)),  # last day of the window, done
        (day(9), [day(2)], day(7), False, day(7)),  # an older check-in does not count
        (day(11), [], None, False, day(14)),  # between windows: late one allowed
        (day(11), [day(10)], None, True, day(14)),  # ... once
        (day(-5), [], None, False, day(0)),  # before the first infusion: baseline
    ],
)
def test_window_status(
    today: dt.date,
    checked_in: list[dt.date],
    window_due: dt.date | None,
    done: bool,
    next_due: dt.date,
) -> None:
    status = window_status(WEEKLY, today=today, checkins=checked_in)
    assert (status.window.due if status.window else None) == window_due
    assert status.done is done
    assert status.can_check_in is not done
    assert status.next_due == next_due
    assert status.next_window.due == next_due


def test_windows_never_overlap_on_a_dense_schedule() -> None:
    """Every day 1 and 3 days apart: each day belongs to one window at most."""
    points = [day(0), day(1), day(4)]
    found = windows(points, rules=DEFAULT_RULES.override(early_days=2, grace_days=3))
    assert [(w.opens, w.closes) for w in found] == [
        (day(-2), day(0)),
        (day(1), day(1)),
        (day(2), day(7)),
    ]


def test_a_schedule_that_ends_before_the_next_window_is_refused() -> None:
    with pytest.raises(ScoringError, match="schedule ends"):
        window_status([day(0)], today=day(1), checkins=[])


def test_the_weekly_schedule_anchors_at_the_first_infusion_else_the_first_checkin() -> None:
    assert schedule_anchor(first_infusion=day(3), first_checkin=day(0), today=day(9)) == day(3)
    assert schedule_anchor(first_infusion=None, first_checkin=day(0), today=day(9)) == day(0)
    assert schedule_anchor(first_infusion=None, first_checkin=None, today=day(9)) == day(9)
    # A new patient's first check-in today: the next one is a week later, not tomorrow.
    status = cadence_window_status(
        first_infusion=None, first_checkin=day(9), today=day(9), checkins=[day(9)], cadence_days=7
    )
    assert (status.done, status.next_due) == (True, day(16))


def test_the_worklist_due_date_agrees_with_the_window_rule() -> None:
    """``next_checkin_due`` (worklist "overdue") names the same due date as the window."""
    for checked in range(0, 30):
        status = window_status(WEEKLY, today=day(checked), checkins=[day(checked)])
        if status.window is not None:
            due = next_checkin_due(
                first_infusion=MONDAY, last_checkin=day(checked), today=day(checked)
            )
            assert due == status.next_due


def test_a_correction_is_open_for_correction_hours_after_storing() -> None:
    stored = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)
    assert correction_open(stored_at=stored, now=stored + dt.timedelta(hours=23, minutes=59))
    assert not correction_open(stored_at=stored, now=stored + dt.timedelta(hours=24))
    assert not correction_open(
        stored_at=stored, now=stored, rules=DEFAULT_RULES.override(correction_hours=0)
    )
    with pytest.raises(ScoringError):
        correction_open(stored_at=stored.replace(tzinfo=None), now=stored)


@settings(max_examples=300, deadline=None)
@given(
    cadence=st.integers(1, 35),
    early=st.integers(0, 5),
    grace=st.integers(0, 7),
    offset=st.integers(-20, 120),
    back=st.integers(0, 10),
)
def test_next_due_is_after_the_window_once_a_checkin_is_stored_in_it(
    cadence: int, early: int, grace: int, offset: int, back: int
) -> None:
    """Property: whatever the cadence and window widths, a check-in stored in the current
    window (or stretch) makes next due fall after its last day, and the next window opens
    after it too: never "tomorrow" straight after a check-in."""
    rules = DEFAULT_RULES.override(early_days=early, grace_days=grace)
    today = day(offset)
    checkin = today - dt.timedelta(days=back)
    status = cadence_window_status(
        first_infusion=MONDAY,
        first_checkin=None,
        today=today,
        checkins=[checkin],
        cadence_days=cadence,
        rules=rules,
    )
    in_stretch = (status.stretch_start is None or status.stretch_start <= checkin) and (
        checkin <= status.stretch_end
    )
    assert status.done is in_stretch
    if status.done:
        assert status.next_due > status.stretch_end
        assert status.next_window.opens > status.stretch_end
        if status.window is not None:
            assert status.next_due > status.window.closes
    else:
        assert status.next_window.closes >= today
