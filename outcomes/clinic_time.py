"""A clinic's clock: when it is open, when its quiet hours are, and what comes next.

Every rule here is stated on the clinic's own wall clock (its IANA time zone, through
:mod:`zoneinfo`), so "08:00" is eight in the morning there on every day of the year, the days
clocks change included: a day when clocks go forward has an hour less of night, and the
clinic still opens at 08:00 local time. A time of day is given as ``"HH:MM"`` (24 hours) or a
:class:`datetime.time`; the clinic's days as ``"0,1,2,3,4"`` (Monday is 0, as
:meth:`datetime.date.weekday`) or a collection of such numbers.

Moments in and out are aware datetimes; a naive one is refused (it names no instant). Moments
returned are in UTC.

A wall-clock time that does not exist (02:30 on the day clocks go forward) is taken as the
moment an hour later; one that occurs twice (clocks go back) as its first occurrence, as
:func:`data.clinic.clinic_moment` does.

Opening hours are one span a day, ``opens`` to ``closes`` on the same day (``opens`` before
``closes``); quiet hours may run across midnight (``21:00`` to ``08:00``), and a start equal
to its end means no quiet hours at all.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Collection, Iterator

__all__ = [
    "Clock",
    "Days",
    "clinic_open",
    "in_quiet_hours",
    "next_opening",
    "open_time_between",
    "open_time_elapsed_at",
    "parse_clock",
    "parse_days",
    "quiet_hours_end",
]

Clock = str | dt.time
"""A time of day: ``"HH:MM"`` or a :class:`datetime.time`."""
Days = str | Collection[int]
"""The clinic's days: ``"0,1,2,3,4"`` or numbers, Monday 0 to Sunday 6."""

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DAY = dt.timedelta(days=1)
# Enough days to find the next opening of a clinic open one day a week, with room to spare.
_SEARCH_DAYS = 15


def parse_clock(value: Clock) -> dt.time:
    """``"HH:MM"`` (00:00 to 23:59) as a time of day; ValueError saying what is wrong."""
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None, second=0, microsecond=0)
    found = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not a time of day: write it as HH:MM, e.g. 08:00")
    return dt.time(int(found.group(1)), int(found.group(2)))


def parse_days(value: Days) -> frozenset[int]:
    """The clinic's days as numbers (Monday 0 to Sunday 6); ValueError for anything else.

    ``""`` (or no numbers) is a clinic open no day of the week.
    """
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise ValueError(f"{value!r} is not a list of days: write them as 0,1,2,3,4")
        numbers = [int(part) for part in parts]
    else:
        numbers = list(value)
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 6:
            raise ValueError(f"{number!r} is not a day: Monday is 0 and Sunday 6")
    return frozenset(numbers)


def _zone(zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not an IANA time zone name") from None


def _local(moment: dt.datetime, zone: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a moment must carry its time zone (an aware datetime)")
    return moment.astimezone(_zone(zone))


def _at(day: dt.date, time: dt.time, zone: str) -> dt.datetime:
    """The moment the clinic's clock shows ``day`` ``time``, in UTC (module notes on DST)."""
    return dt.datetime.combine(day, time, tzinfo=_zone(zone)).astimezone(dt.UTC)


def _hours(opens: Clock, closes: Clock) -> tuple[dt.time, dt.time]:
    start, end = parse_clock(opens), parse_clock(closes)
    if start >= end:
        raise ValueError(f"the clinic must open before it closes ({start:%H:%M} to {end:%H:%M})")
    return start, end


def _open_spans(
    first_day: dt.date, *, zone: str, days: frozenset[int], opens: dt.time, closes: dt.time
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Each opening from ``first_day`` on (clinic dates), as UTC (start, end), without end."""
    day = first_day
    while True:
        if day.weekday() in days:
            yield _at(day, opens, zone), _at(day, closes, zone)
        day += _DAY


def clinic_open(moment: dt.datetime, *, zone: str, days: Days, opens: Clock, closes: Clock) -> bool:
    """Whether the clinic is open at ``moment``: one of its days, from ``opens`` (included)
    to ``closes`` (excluded) on its clock."""
    local = _local(moment, zone)
    start, end = _hours(opens, closes)
    if local.weekday() not in parse_days(days):
        return False
    return _at(local.date(), start, zone) <= moment < _at(local.date(), end, zone)


def next_opening(
    moment: dt.datetime, *, zone: str, days: Days, opens: Clock, closes: Clock
) -> dt.datetime | None:
    """The next moment the clinic opens after ``moment`` (``moment`` itself if it opens
    then), in UTC; None for a clinic open no day of the week.

    While the clinic is open this is its *next* opening, not the current one: ask
    :func:`clinic_open` first.
    """
    local = _local(moment, zone)
    start, end = _hours(opens, closes)
    open_days = parse_days(days)
    if not open_days:
        return None
    spans = _open_spans(local.date(), zone=zone, days=open_days, opens=start, closes=end)
    for span_start, _ in spans:
        if span_start >= moment:
            return span_start
    raise AssertionError("unreachable: the spans never end")  # pragma: no cover


def open_time_between(
    start: dt.datetime,
    end: dt.datetime,
    *,
    zone: str,
    days: Days,
    opens: Clock,
    closes: Clock,
) -> dt.timedelta:
    """How much of the stretch from ``start`` to ``end`` the clinic is open (zero when
    ``end`` is not after ``start``). A night, a weekend and a closed day count nothing."""
    if end <= start:
        _local(start, zone), _local(end, zone)  # still refuse naive moments
        return dt.timedelta(0)
    open_from, open_to = _hours(opens, closes)
    open_days = parse_days(days)
    total = dt.timedelta(0)
    if not open_days:
        return total
    first = _local(start, zone).date()
    for span_start, span_end in _open_spans(
        first, zone=zone, days=open_days, opens=open_from, closes=open_to
    ):
        if span_start >= end:
            break
        overlap = min(span_end, end) - max(span_start, start)
        if overlap > dt.timedelta(0):
            total += overlap
    return total


def open_time_elapsed_at(
    start: dt.datetime,
    duration: dt.timedelta,
    *,
    zone: str,
    days: Days,
    opens: Clock,
    closes: Clock,
) -> dt.datetime | None:
    """The moment by which the clinic has been open for ``duration`` since ``start`` (UTC);
    None for a clinic open no day of the week.

    ``open_time_between(start, result) == duration``: 30 minutes after an alert raised at
    17:50 on a Friday of a clinic open Monday to Friday 08:00-18:00 is Monday 08:20.
    """
    _local(start, zone)
    open_from, open_to = _hours(opens, closes)
    open_days = parse_days(days)
    if not open_days:
        return None
    left = max(duration, dt.timedelta(0))
    first = _local(start, zone).date()
    for span_start, span_end in _open_spans(
        first, zone=zone, days=open_days, opens=open_from, closes=open_to
    ):
        begin = max(span_start, start)
        if span_end <= begin:
            continue
        if begin + left <= span_end:
            return begin + left
        left -= span_end - begin
    raise AssertionError("unreachable: the spans never end")  # pragma: no cover


def _quiet(start: Clock, end: Clock) -> tuple[dt.time, dt.time]:
    return parse_clock(start), parse_clock(end)


def in_quiet_hours(moment: dt.datetime, *, zone: str, start: Clock, end: Clock) -> bool:
    """Whether ``moment`` falls in the clinic's quiet hours, ``start`` (included) to ``end``
    (excluded) on its clock, across midnight when ``start`` is after ``end``."""
    local = _local(moment, zone)
    quiet_from, quiet_to = _quiet(start, end)
    if quiet_from == quiet_to:
        return False
    day = local.date()
    if quiet_from < quiet_to:
        return _at(day, quiet_from, zone) <= moment < _at(day, quiet_to, zone)
    # Across midnight: this morning's end, or tonight's start.
    return moment < _at(day, quiet_to, zone) or moment >= _at(day, quiet_from, zone)


def quiet_hours_end(moment: dt.datetime, *, zone: str, start: Clock, end: Clock) -> dt.datetime:
    """The first moment at or after ``moment`` outside quiet hours, in UTC: ``moment``
    itself when it is not in them, else the end of the quiet hours it is in."""
    if not in_quiet_hours(moment, zone=zone, start=start, end=end):
        return moment.astimezone(dt.UTC)
    local = _local(moment, zone)
    _, quiet_to = _quiet(start, end)
    today_end = _at(local.date(), quiet_to, zone)
    return today_end if moment < today_end else _at(local.date() + _DAY, quiet_to, zone)
