"""The measurement schedule anchored to infusions (course-and-reporting §4), as data.

A schedule is a number of induction infusions and a list of *points*, each a kind of
measurement with its questionnaires:

* ``baseline``: within ``days_before`` (7) days before the first infusion, due on the day.
* ``before_infusion``: before each induction infusion after the first (the baseline is the
  first's), a window opening ``hours_before`` (48) hours before it and closing at its time.
  ORKA-1 collected the PHQ-9 before infusions [V].
* ``between_infusions``: every ``every_days`` (7) days from an induction infusion while the
  gap to the next one is longer (and after the last one, until the end of induction).
* ``end_of_induction``: one assessment ``from_day``–``to_day`` (14–31) days after the last
  induction infusion, ORKA-1's outcome window [V] (McInnes LA et al. Optimizing ketamine
  response: ORKA-1. J Affect Disord 2022;301:486).
* ``maintenance``: every ``every_days`` (28) days after the end of induction, the clock
  restarting at each booster.
* ``before_booster``: before each infusion after the induction, as before an induction one.

Every recorded *and* planned infusion moves the schedule (as MoodMonitor restarts its clock
at each treatment). :func:`measurement_windows` turns a schedule and a patient's infusions
into windows; :func:`schedule_status` says, for one questionnaire on one day, what the
check-in page and the check-in writer need (:mod:`outcomes.checkin_windows`: the current
window, done or not, next due).

Choices made here [D]
---------------------
* **Days for the one-per-window rule.** Check-ins are counted by the clinic's date
  (course-and-reporting §3), so each window also has its clinic ``days``; a window closing
  at an infusion's time holds that day. ``opens``/``due``/``closes`` are the moments
  reminders use.
* **Windows never overlap.** The windows tied to an infusion (baseline, before an infusion,
  before a booster) come first, then the end of induction, then the weekly and maintenance
  ones: a later-placed window is cut to the days left free around its due day, and dropped
  when its due day is taken (a weekly point two days before an infusion *is* the
  pre-infusion check-in). Between infusions of one day, the earlier one's window wins.
* **Weekly points belong to the induction.** After it, maintenance every four weeks applies;
  an induction cut short (fewer infusions than ``induction_infusions``) ends with its latest
  infusion, and a further one moves the schedule again.
* **No infusion, recorded or planned: no window, and the weekly cadence meanwhile.** A
  patient waiting for a first infusion that nobody has booked yet checks in once a week from
  their first check-in, as before issue 14 (:func:`outcomes.checkin_windows.
  cadence_window_status`); the stored "next due" stays empty (nothing scheduled). Once an
  infusion is booked, its baseline window applies.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outcomes.checkin_windows import (
    Window,
    WindowStatus,
    cadence_window_status,
    clinic_date,
    status_in_windows,
)
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.schedule_points import (
    DEFAULT_SCHEDULE,
    KIND_LABELS,
    KINDS,
    Schedule,
    ScheduleError,
    SchedulePoint,
    parse_schedule,
    schedule_json,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "KINDS",
    "KIND_LABELS",
    "MeasurementWindow",
    "Schedule",
    "ScheduleError",
    "SchedulePoint",
    "measurement_windows",
    "next_due_after",
    "next_window_after",
    "parse_schedule",
    "schedule_json",
    "schedule_status",
    "windows_through",
]

# Placement order for overlaps (lower first): infusion-bound, end of induction, periodic.
_PRIORITY = {
    "baseline": 0,
    "before_infusion": 0,
    "before_booster": 0,
    "end_of_induction": 1,
    "between_infusions": 2,
    "maintenance": 2,
}
# Beyond the longest periodic step, a margin for a window's early and grace days.
_REACH = dt.timedelta(days=14)
_PERIODIC = ("between_infusions", "maintenance")


@dataclass(frozen=True)
class MeasurementWindow:
    """One scheduled measurement of one patient.

    Attributes
    ----------
    key : str
        Stable while the infusions it hangs on do not move: ``kind:due-date``.
    kind : str
        One of :data:`KINDS`.
    instruments : tuple of str
        The questionnaires due.
    opens, due, closes : datetime
        In the clinic's time zone; ``closes`` is the first moment after the window.
    days : Window
        The clinic dates a check-in counts for it (§3, inclusive), never overlapping another
        window's.
    """

    key: str
    kind: str
    instruments: tuple[str, ...]
    opens: dt.datetime
    due: dt.datetime
    closes: dt.datetime
    days: Window


@dataclass(frozen=True)
class _Candidate:
    kind: str
    opens: dt.datetime
    due: dt.datetime
    closes: dt.datetime
    first: dt.date
    due_day: dt.date
    last: dt.date


def measurement_windows(
    schedule: Schedule,
    *,
    infusions: Iterable[dt.datetime],
    time_zone: str,
    through: dt.date,
    since: dt.date | None = None,
    rules: Rules = DEFAULT_RULES,
) -> tuple[MeasurementWindow, ...]:
    """A patient's measurement windows, in time order: every window tied to an infusion,
    and the periodic ones (weekly, maintenance) due up to ``through``.

    Parameters
    ----------
    schedule : Schedule
    infusions : iterable of datetime
        Every infusion that counts, recorded or planned (time-zone aware); several on one
        clinic day are one.
    time_zone : str
        The clinic's IANA time zone.
    through : date
        The last due date of a periodic point (they go on for ever):
        :func:`windows_through` gives one far enough to know what is next after a day.
    since : date, optional
        Weekly and maintenance points due more than :data:`_SKIP_BEFORE` before it are not
        built, but for the last one before that (a reader that wants the windows around a
        day only): the windows from ``since`` on, and the one before them, are the same.
    rules : Rules
        ``early_days`` and ``grace_days``: the days around a weekly or maintenance point
        (course-and-reporting §3).

    References
    ----------
    Course-and-reporting §4; McInnes 2022, J Affect Disord 301:486 (ORKA-1's window).
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    by_day: dict[dt.date, dt.datetime] = {}
    for moment in sorted(infusions):
        by_day.setdefault(clinic_date(moment, time_zone), moment.astimezone(zone))
    if not by_day:
        return ()
    days = sorted(by_day)

    def start(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), zone)

    def on_days(kind: str, due: dt.date, first: dt.date, last: dt.date) -> _Candidate:
        return _Candidate(kind, start(first), start(due), start(last + _DAY), first, due, last)

    def before(kind: str, day: dt.date, hours: int) -> _Candidate:
        at = by_day[day]
        opens = at - dt.timedelta(hours=hours)
        return _Candidate(kind, opens, at, at, opens.date(), day, day)

    induction, boosters = days[: schedule.induction_infusions], days[schedule.induction_infusions :]
    last = induction[-1]
    found: list[_Candidate] = []
    if (point := schedule.point("baseline")) is not None:
        first = days[0] - dt.timedelta(days=point.setting("days_before"))
        found.append(
            _Candidate(
                "baseline", start(first), by_day[days[0]], by_day[days[0]], first, days[0], days[0]
            )
        )
    for kind, which in (("before_infusion", induction[1:]), ("before_booster", boosters)):
        if (point := schedule.point(kind)) is not None:
            found.extend(before(kind, day, point.setting("hours_before")) for day in which)
    end = schedule.point("end_of_induction")
    end_day = last + dt.timedelta(days=end.setting("from_day")) if end else None
    if end is not None and end_day is not None:
        found.append(
            on_days(
                "end_of_induction",
                end_day,
                end_day,
                last + dt.timedelta(days=end.setting("to_day")),
            )
        )
    early, grace = dt.timedelta(days=rules.early_days), dt.timedelta(days=rules.grace_days)
    skip = dt.date.min if since is None else since - _SKIP_BEFORE
    if (point := schedule.point("between_infusions")) is not None:
        step = dt.timedelta(days=point.setting("every_days"))
        for index, day in enumerate(induction):
            stop = induction[index + 1] if index + 1 < len(induction) else end_day
            stop = min(stop or through + _DAY, through + _DAY)
            due = day + step
            while due + step < skip:
                due += step
            while due < stop:
                found.append(on_days("between_infusions", due, due - early, due + grace))
                due += step
    if (point := schedule.point("maintenance")) is not None:
        step = dt.timedelta(days=point.setting("every_days"))
        anchors = sorted({end_day or last, *(b for b in boosters if b > (end_day or last))})
        for index, anchor in enumerate(anchors):
            stop = anchors[index + 1] if index + 1 < len(anchors) else through + _DAY
            due = anchor + step
            while due + step < skip:
                due += step
            while due < min(stop, through + _DAY):
                found.append(on_days("maintenance", due, due - early, due + grace))
                due += step
    return _placed(found, schedule)


_DAY = dt.timedelta(days=1)
_SKIP_BEFORE = dt.timedelta(days=60)


def _placed(found: list[_Candidate], schedule: Schedule) -> tuple[MeasurementWindow, ...]:
    """The candidates placed without overlap (module docstring), in time order."""
    opens: list[dt.date] = []  # sorted first days of the placed windows
    closes: list[dt.date] = []  # their last days, in the same order
    placed: list[MeasurementWindow] = []
    for c in sorted(found, key=lambda c: (_PRIORITY[c.kind], c.due_day, KINDS.index(c.kind))):
        at = bisect.bisect_right(opens, c.due_day)
        if at and closes[at - 1] >= c.due_day:
            continue  # its due day is another window's
        first = max(c.first, closes[at - 1] + _DAY) if at else c.first
        last = min(c.last, opens[at] - _DAY) if at < len(opens) else c.last
        zone = c.due.tzinfo
        point = schedule.point(c.kind)
        assert point is not None
        window = MeasurementWindow(
            key=f"{c.kind}:{c.due_day.isoformat()}",
            kind=c.kind,
            instruments=point.instruments,
            opens=max(c.opens, dt.datetime.combine(first, dt.time(), zone)),
            due=c.due,
            closes=min(c.closes, dt.datetime.combine(last + _DAY, dt.time(), zone)),
            days=Window(opens=first, due=c.due_day, closes=last),
        )
        opens.insert(at, first)
        closes.insert(at, last)
        placed.insert(at, window)
    return tuple(placed)


def schedule_status(
    windows: Sequence[MeasurementWindow],
    *,
    instrument: str,
    today: dt.date,
    checkins: Iterable[dt.date],
    infused: bool = True,
    first_checkin: dt.date | None = None,
    cadence_days: int = 7,
    rules: Rules = DEFAULT_RULES,
) -> WindowStatus:
    """One questionnaire's §3 status on ``today`` on a patient's schedule.

    The windows of the points that ask for ``instrument`` go to
    :func:`outcomes.checkin_windows.status_in_windows`: the window open today (or the
    stretch between windows), whether a check-in of it is stored there, and next due (None
    when the schedule has no later point for it).

    A patient with no infusion given or booked (``infused`` False) has no schedule yet: the
    weekly cadence from ``first_checkin`` (their first check-in of any questionnaire) holds
    meanwhile (module docstring; ``cadence_days`` and ``rules``' early and grace days).
    """
    if not infused:
        return cadence_window_status(
            first_infusion=None,
            first_checkin=first_checkin,
            today=today,
            checkins=checkins,
            cadence_days=cadence_days,
            rules=rules,
        )
    mine = [w.days for w in windows if instrument in w.instruments]
    return status_in_windows(mine, today=today, checkins=checkins)


def next_window_after(
    windows: Sequence[MeasurementWindow], *, last_checkin: dt.date | None
) -> Window | None:
    """The window (its clinic days) after the one (or the stretch) of the patient's latest
    check-in of any questionnaire: what is stored as "next due" and when it closes (None
    with no window after it). Without a check-in, the first window; a missed window stays
    due, so lateness shows."""
    days = [w.days for w in windows]
    if not days:
        return None
    if last_checkin is None:
        return days[0]
    return status_in_windows(days, today=last_checkin, checkins=[last_checkin]).next_window


def next_due_after(
    windows: Sequence[MeasurementWindow], *, last_checkin: dt.date | None
) -> dt.date | None:
    """The due date of :func:`next_window_after` (None with no window after it)."""
    window = next_window_after(windows, last_checkin=last_checkin)
    return None if window is None else window.due


def windows_through(today: dt.date, schedule: Schedule) -> dt.date:
    """How far to build the periodic points to know what is next after ``today``: past the
    longest step between two of them (the windows tied to infusions are always built)."""
    steps = [p.setting("every_days") for p in schedule.points if p.kind in _PERIODIC]
    return today + dt.timedelta(days=max(steps, default=0)) + _REACH
