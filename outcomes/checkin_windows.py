"""Check-in windows: when a patient may check in, whether they already have, and what is next.

Course-and-reporting §3: each scheduled check-in has a *window* that opens ``early_days``
before its due date and closes ``grace_days`` after it [D]. A patient who has stored a
check-in of an instrument in the current window is not offered another one of it until the
next window opens, and "next due" is the next schedule point *after* the current window,
never tomorrow straight after a check-in.

The schedule points are an input (:func:`window_status`), so that a protocol's own schedule
(course-and-reporting §4, issue 14) can replace the weekly cadence of
:func:`cadence_schedule` without touching the window rule.

Choices made here [D]
---------------------
* **Windows never overlap.** When the schedule is denser than ``early_days + grace_days``
  days, a window closes the day before the next one opens, so that every day belongs to at
  most one window and one check-in never counts for two.
* **Between two windows** (and before the first) a patient may still check in once: a late
  check-in after a missed window, or a baseline before the schedule starts. Those days form
  one *stretch*, like a window without a due date; a second check-in of the same instrument
  in it waits for the next window. Every day of the calendar is thus in exactly one stretch,
  and a form can never be sent again and again the same day.

Examples
--------
>>> import datetime as dt
>>> points = cadence_schedule(anchor=dt.date(2025, 1, 6), cadence_days=7,
...                           through=dt.date(2025, 2, 1))
>>> status = window_status(points, today=dt.date(2025, 1, 13),
...                        checkins=[dt.date(2025, 1, 13)])
>>> status.window.opens, status.window.closes
(datetime.date(2025, 1, 12), datetime.date(2025, 1, 15))
>>> status.done, status.next_due
(True, datetime.date(2025, 1, 20))
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outcomes.errors import ScoringError
from outcomes.rules import DEFAULT_RULES, Rules

__all__ = [
    "Window",
    "WindowStatus",
    "cadence_schedule",
    "cadence_window_status",
    "clinic_date",
    "correction_open",
    "patient_window_status",
    "schedule_anchor",
    "status_in_windows",
    "window_status",
    "windows",
]


@dataclass(frozen=True)
class Window:
    """One scheduled check-in's window: the days (inclusive) a check-in counts for it."""

    opens: dt.date
    due: dt.date
    closes: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.opens <= day <= self.closes


@dataclass(frozen=True)
class WindowStatus:
    """Where a patient stands on one instrument's schedule on ``today``.

    Attributes
    ----------
    today : date
        The clinic's date the status is for.
    window : Window or None
        The window open today, or None between windows (or before the first).
    stretch_start, stretch_end : date or None, date
        The days one check-in covers: the window's, or (between windows) from the day after
        the previous window closed (None before the first window) to the day before the next
        one opens.
    done : bool
        A check-in of this instrument is stored in the stretch: another one is not offered
        (or accepted) before the next window opens.
    next_due : date or None
        The current window's due date while it is open and not done; otherwise the next
        schedule point after the current stretch (never the day after a check-in). None when
        the schedule has no later point (an infusion schedule with nothing booked yet,
        :mod:`outcomes.schedule`); :func:`window_status` always has one.
    next_window : Window or None
        The window of ``next_due``: from ``next_window.opens`` the patient can check in.
    """

    today: dt.date
    window: Window | None
    stretch_start: dt.date | None
    stretch_end: dt.date | None
    done: bool
    next_due: dt.date | None
    next_window: Window | None

    @property
    def can_check_in(self) -> bool:
        """No check-in of this instrument is stored in the current stretch yet: the page
        offers the form (due now in a window; a late or extra one between windows)."""
        return not self.done


def clinic_date(moment: dt.datetime, time_zone: str) -> dt.date:
    """The clinic's calendar date of a time-zone-aware ``moment`` (an IANA zone name): the
    day a patient checked in, as the clinic counts days."""
    if moment.tzinfo is None:
        raise ScoringError("a check-in time needs a time zone")
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def patient_window_status(
    *,
    instrument: str,
    first_infusion: dt.datetime | None,
    checkins: Iterable[tuple[str, dt.datetime]],
    today: dt.date,
    time_zone: str,
    cadence_days: int,
    rules: Rules = DEFAULT_RULES,
) -> WindowStatus:
    """One instrument's :func:`cadence_window_status` from a patient's stored records.

    The one reading of the records that the check-in writer and the check-in page share, so
    that the page offers exactly what the writer accepts.

    Parameters
    ----------
    instrument : str
        The instrument whose window is asked about.
    first_infusion : datetime or None
        The patient's first infusion that counts (time-zone aware).
    checkins : iterable of (instrument, datetime)
        Every stored check-in of the patient (any instrument), corrections left out: a
        correction stands in for the check-in it corrects and takes no window of its own.
    today : date
        The clinic's date.
    time_zone : str
        The clinic's time zone, in which times become dates.
    cadence_days : int
        The clinic's check-in cadence.
    rules : Rules
        ``early_days`` and ``grace_days``.
    """
    days = [(name, clinic_date(moment, time_zone)) for name, moment in checkins]
    return cadence_window_status(
        first_infusion=None if first_infusion is None else clinic_date(first_infusion, time_zone),
        first_checkin=min((day for _, day in days), default=None),
        today=today,
        checkins=[day for name, day in days if name == instrument],
        cadence_days=cadence_days,
        rules=rules,
    )


def schedule_anchor(
    *, first_infusion: dt.date | None, first_checkin: dt.date | None, today: dt.date
) -> dt.date:
    """The day the weekly schedule counts from: the first infusion (the index date of every
    outcome), else the first check-in, else ``today`` (a baseline is due now)."""
    return first_infusion or first_checkin or today


def cadence_schedule(
    *, anchor: dt.date, cadence_days: int, through: dt.date
) -> tuple[dt.date, ...]:
    """Due dates every ``cadence_days`` from ``anchor`` up to ``through`` (inclusive).

    The weekly schedule of :func:`outcomes.worklist.next_checkin_due`, as schedule points.
    """
    if cadence_days < 1:
        raise ScoringError("cadence_days must be at least 1")
    count = max((through - anchor).days // cadence_days + 1, 1)
    return tuple(anchor + dt.timedelta(days=k * cadence_days) for k in range(count))


def windows(points: Sequence[dt.date], *, rules: Rules = DEFAULT_RULES) -> tuple[Window, ...]:
    """The window of each schedule point (sorted, repeats dropped), never overlapping.

    A window opens ``rules.early_days`` before its point and closes ``rules.grace_days``
    after it, or the day before the next window opens if that is sooner.
    """
    ordered = sorted(set(points))
    early, grace = dt.timedelta(days=rules.early_days), dt.timedelta(days=rules.grace_days)
    found: list[Window] = []
    for index, due in enumerate(ordered):
        opens = due - early
        if found and opens <= found[-1].closes:
            opens = found[-1].closes + dt.timedelta(days=1)
        closes = due + grace
        if index + 1 < len(ordered):
            closes = min(closes, ordered[index + 1] - early - dt.timedelta(days=1))
        found.append(Window(opens=opens, due=due, closes=max(closes, due)))
    return tuple(found)


def window_status(
    points: Sequence[dt.date],
    *,
    today: dt.date,
    checkins: Iterable[dt.date],
    rules: Rules = DEFAULT_RULES,
) -> WindowStatus:
    """The current window (or stretch between windows), whether it is done, and next due.

    Parameters
    ----------
    points : sequence of date
        The patient's schedule points (due dates). They must reach past today: at least one
        window must open after ``today`` (:func:`cadence_schedule` with ``through`` at
        ``today + early_days + cadence_days`` does).
    today : date
        The clinic's date.
    checkins : iterable of date
        The clinic dates of the patient's stored check-ins of one instrument (a correction
        is not a new check-in: pass the corrected one's date, not both).
    rules : Rules
        ``early_days`` and ``grace_days``.

    Returns
    -------
    WindowStatus

    Raises
    ------
    ScoringError
        No window opens after ``today``: the schedule is too short to say what is next.

    References
    ----------
    Course-and-reporting §3 (check-in windows and resubmission), this project's decision [D].
    """
    all_windows = windows(points, rules=rules)
    if not any(w.opens > today for w in all_windows):
        raise ScoringError(
            "the schedule ends before the next check-in: pass schedule points at least one "
            "cadence past today"
        )
    return status_in_windows(all_windows, today=today, checkins=checkins)


def status_in_windows(
    all_windows: Sequence[Window], *, today: dt.date, checkins: Iterable[dt.date]
) -> WindowStatus:
    """:func:`window_status` on windows already built (sorted, never overlapping): the
    protocol schedule's (:func:`outcomes.schedule.schedule_status`) or the weekly one's.

    With no window after ``today`` the stretch runs on for ever (``stretch_end`` None) and
    ``next_due`` is None: one check-in is still taken in it, then none until the schedule
    has a later point.
    """
    later = [w for w in all_windows if w.opens > today]
    upcoming = later[0] if later else None
    current = next((w for w in all_windows if today in w), None)
    start: dt.date | None
    end: dt.date | None
    if current is not None:
        start = current.opens
        end = current.closes
    else:
        earlier = [w for w in all_windows if w.closes < today]
        start = earlier[-1].closes + dt.timedelta(days=1) if earlier else None
        end = None if upcoming is None else upcoming.opens - dt.timedelta(days=1)
    done = any((start is None or start <= day) and (end is None or day <= end) for day in checkins)
    next_window = current if current is not None and not done else upcoming
    return WindowStatus(
        today=today,
        window=current,
        stretch_start=start,
        stretch_end=end,
        done=done,
        next_due=None if next_window is None else next_window.due,
        next_window=next_window,
    )


def cadence_window_status(
    *,
    first_infusion: dt.date | None,
    first_checkin: dt.date | None,
    today: dt.date,
    checkins: Iterable[dt.date],
    cadence_days: int,
    rules: Rules = DEFAULT_RULES,
) -> WindowStatus:
    """:func:`window_status` on the weekly schedule: due dates every ``cadence_days`` from
    :func:`schedule_anchor` (the first infusion, else the first check-in, else today)."""
    anchor = schedule_anchor(
        first_infusion=first_infusion, first_checkin=first_checkin, today=today
    )
    through = max(anchor, today) + dt.timedelta(days=rules.early_days + cadence_days)
    points = cadence_schedule(anchor=anchor, cadence_days=cadence_days, through=through)
    return window_status(points, today=today, checkins=checkins, rules=rules)


def correction_open(
    *, stored_at: dt.datetime, now: dt.datetime, rules: Rules = DEFAULT_RULES
) -> bool:
    """Whether a check-in stored at ``stored_at`` may still be corrected at ``now``: within
    ``rules.correction_hours`` (course-and-reporting §3 [D]). Both times time-zone aware."""
    if stored_at.tzinfo is None or now.tzinfo is None:
        raise ScoringError("correction times need a time zone")
    return stored_at <= now < stored_at + dt.timedelta(hours=rules.correction_hours)
