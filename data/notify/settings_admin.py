"""What an administrator sets about the clinic's messages (issue 14).

Quiet hours (no reminder is sent in them, on the clinic's clock), the clinic's opening hours
and days (a safety alert escalates on its set time only while the clinic is open), how many
minutes an unacknowledged alert waits before it escalates, how many reminders one check-in
gets at most, and whether reminders are on at all.

Switching reminders on stamps ``reminders_on_since`` (the delivery page compares check-in
completeness before and after it); switching them off clears it. Each switch is its own
audit event (``reminders_on`` / ``reminders_off``), so the history of the switch stays in the
audit trail when the column holds only the latest. Everything is validated before anything
is written: a bad value changes nothing and says what is wrong in words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import Clinic, ClinicSettings, utcnow

__all__ = [
    "DAY_NAMES",
    "ESCALATION_MINUTES",
    "MAX_REMINDERS",
    "MessageSettings",
    "message_settings",
    "set_message_settings",
]

DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
"""The clinic's days by number, Monday = 0 (Python's ``date.weekday()``)."""
ESCALATION_MINUTES: Final = (5, 240)
"""The shortest and longest wait before an unacknowledged safety alert escalates."""
MAX_REMINDERS: Final = (1, 5)
"""The fewest and most reminders one check-in may get (spec §4 suggests 3)."""

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True)
class MessageSettings:
    """A clinic's message settings as stored (the defaults of migration 0010 otherwise)."""

    clinic_name: str
    time_zone: str
    quiet_hours_start: str
    quiet_hours_end: str
    clinic_opens: str
    clinic_closes: str
    clinic_days: tuple[int, ...]
    escalation_minutes: int
    max_reminders: int
    reminders_on_since: dt.datetime | None

    @property
    def reminders_on(self) -> bool:
        """Whether check-in reminders are sent."""
        return self.reminders_on_since is not None


def _days(stored: str | None) -> tuple[int, ...]:
    days = {int(part) for part in (stored or "").split(",") if part.strip().isdigit()}
    return tuple(sorted(day for day in days if 0 <= day <= 6))


def _settings_row(session: Session, clinic_id: int) -> ClinicSettings:
    settings = session.get(ClinicSettings, clinic_id)
    if settings is None:
        settings = ClinicSettings(clinic_id=clinic_id)
        session.add(settings)
        session.flush()
    return settings


def message_settings(session: Session, *, actor: Actor) -> MessageSettings:
    """The actor's clinic's message settings (administrators and the operator).

    Nothing of a patient: not audited.
    """
    ensure_role(session, actor, "administrator", "system")
    clinic = session.get(Clinic, actor.clinic_id)
    settings = session.get(ClinicSettings, actor.clinic_id)
    # A clinic without a settings row has migration 0010's defaults.
    return MessageSettings(
        clinic_name=clinic.name if clinic is not None else "",
        time_zone=(settings.time_zone if settings else None) or "UTC",
        quiet_hours_start=settings.quiet_hours_start if settings else "21:00",
        quiet_hours_end=settings.quiet_hours_end if settings else "08:00",
        clinic_opens=settings.clinic_opens if settings else "08:00",
        clinic_closes=settings.clinic_closes if settings else "18:00",
        clinic_days=_days(settings.clinic_days if settings else "0,1,2,3,4"),
        escalation_minutes=int(settings.escalation_minutes if settings else 30),
        max_reminders=int(settings.max_reminders if settings else 3),
        reminders_on_since=settings.reminders_on_since if settings else None,
    )


def _clock_problem(label: str, value: object) -> str | None:
    if isinstance(value, str) and _CLOCK.fullmatch(value.strip()):
        return None
    return f"the {label} must be a time of day as HH:MM on the 24-hour clock, e.g. 08:00 or 21:30"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _whole_number_problem(label: str, value: object, bounds: tuple[int, int]) -> str | None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"the {label} must be a whole number from {low} to {high}" + (
            " (minutes)" if "time" in label else ""
        )
    return None


def _checked_days(days: object) -> tuple[tuple[int, ...] | None, str | None]:
    problem = "the clinic's days must be one or more days of the week (Monday = 0 to Sunday = 6)"
    if isinstance(days, str) or not isinstance(days, Iterable):
        return None, problem
    chosen = list(days)
    if not chosen or any(
        isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6 for day in chosen
    ):
        return None, problem
    return tuple(sorted(set(chosen))), None


def set_message_settings(
    session: Session,
    *,
    actor: Actor,
    quiet_hours_start: str | None = None,
    quiet_hours_end: str | None = None,
    clinic_opens: str | None = None,
    clinic_closes: str | None = None,
    clinic_days: Iterable[int] | None = None,
    escalation_minutes: int | None = None,
    max_reminders: int | None = None,
    reminders_on: bool | None = None,
    now: dt.datetime | None = None,
) -> MessageSettings:
    """Change the clinic's message settings (an administrator, or the operator).

    Each setting given (not None) is replaced; the others stay as they are.

    Parameters
    ----------
    quiet_hours_start, quiet_hours_end : str, optional
        ``"HH:MM"`` on the clinic's clock; quiet hours may run over midnight (21:00 to
        08:00), and must not start and end at the same time.
    clinic_opens, clinic_closes : str, optional
        ``"HH:MM"``; the clinic opens before it closes, on the same day.
    clinic_days : iterable of int, optional
        The days the clinic is open, Monday = 0 to Sunday = 6 (at least one).
    escalation_minutes : int, optional
        :data:`ESCALATION_MINUTES` (5 to 240).
    max_reminders : int, optional
        :data:`MAX_REMINDERS` (1 to 5).
    reminders_on : bool, optional
        Switch reminders on (stamps ``reminders_on_since`` with ``now``, unless they are on
        already) or off (clears it). Each switch is audited on its own.
    now : datetime, optional
        The moment of the switch (tests); the time of writing by default.

    Returns
    -------
    MessageSettings
        The settings as now stored.

    Raises
    ------
    AccessDenied
        The actor does not administer the clinic.
    InvalidInput
        One problem per bad value; nothing is written.
    """
    ensure_role(session, actor, "administrator", "system")
    current = message_settings(session, actor=actor)
    problems: list[str] = []
    clocks = {
        "quiet_hours_start": ("start of quiet hours", quiet_hours_start),
        "quiet_hours_end": ("end of quiet hours", quiet_hours_end),
        "clinic_opens": ("time the clinic opens", clinic_opens),
        "clinic_closes": ("time the clinic closes", clinic_closes),
    }
    changes: dict[str, object] = {}
    for column, (label, value) in clocks.items():
        if value is None:
            continue
        problem = _clock_problem(label, value)
        if problem:
            problems.append(problem)
        else:
            changes[column] = str(value).strip()
    if clinic_days is not None:
        days, problem = _checked_days(clinic_days)
        if problem:
            problems.append(problem)
        else:
            changes["clinic_days"] = ",".join(str(day) for day in days or ())
    for column, label, number, bounds in (
        ("escalation_minutes", "escalation time", escalation_minutes, ESCALATION_MINUTES),
        ("max_reminders", "most reminders per check-in", max_reminders, MAX_REMINDERS),
    ):
        if number is None:
            continue
        problem = _whole_number_problem(label, number, bounds)
        if problem:
            problems.append(problem)
        else:
            changes[column] = number
    if reminders_on is not None and not isinstance(reminders_on, bool):
        problems.append("reminders are either on or off")
    if not problems:
        problems += _span_problems(current, changes)
    if problems:
        raise InvalidInput(problems)
    settings = _settings_row(session, actor.clinic_id)
    changed = False
    for column, new in changes.items():
        if getattr(settings, column) != new:
            setattr(settings, column, new)
            changed = True
    if changed:
        audit.record(session, actor=actor, action=audit.Action.SET_MESSAGE_SETTINGS)
    if reminders_on is True and settings.reminders_on_since is None:
        settings.reminders_on_since = now or utcnow()
        audit.record(session, actor=actor, action=audit.Action.REMINDERS_ON)
    elif reminders_on is False and settings.reminders_on_since is not None:
        settings.reminders_on_since = None
        audit.record(session, actor=actor, action=audit.Action.REMINDERS_OFF)
    session.flush()
    return message_settings(session, actor=actor)


def _span_problems(current: MessageSettings, changes: dict[str, object]) -> list[str]:
    """Quiet hours that are no span, or a clinic that closes before it opens."""

    def value(column: str) -> str:
        return str(changes.get(column, getattr(current, column)))

    problems = []
    if value("quiet_hours_start") == value("quiet_hours_end"):
        problems.append("quiet hours must start and end at different times (e.g. 21:00 to 08:00)")
    if _minutes(value("clinic_opens")) >= _minutes(value("clinic_closes")):
        problems.append(
            "the clinic must open before it closes on the same day (e.g. 08:00 to 18:00)"
        )
    return problems
