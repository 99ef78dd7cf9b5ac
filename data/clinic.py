"""A clinic's own settings: the rules it scores by, check-in instruments, the crisis panel
(text, numbers, the hours its care team reads alerts) and the time zone its staff enter times
in."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.errors import InvalidInput
from data.models import ClinicSettings
from outcomes import __version__ as outcomes_version
from outcomes.clinic_time import clinic_open, next_opening, parse_clock, parse_days
from outcomes.errors import RulesError
from outcomes.rules import DEFAULT_RULES, Rules

SCORING_VERSION = f"outcomes-{outcomes_version}"
"""Stamped on every stored score, so ``outcomes rescore`` knows what to recompute."""

DEFAULT_CRISIS_CALL_NUMBER = "988"
"""The US Suicide & Crisis Lifeline, to call."""
DEFAULT_CRISIS_TEXT_NUMBER = "988"
"""The US Suicide & Crisis Lifeline, to text."""
DEFAULT_EMERGENCY_NUMBER = "911"

DEFAULT_QUIET_HOURS = ("21:00", "08:00")
"""No reminders from 21:00 to 08:00 on the clinic's clock (course-and-reporting §4)."""
DEFAULT_OPENING = ("08:00", "18:00")
"""The care team is in from 08:00 to 18:00 ..."""
DEFAULT_CLINIC_DAYS = (0, 1, 2, 3, 4)
"""... Monday to Friday."""
DEFAULT_ESCALATION_MINUTES = 30
"""An unacknowledged safety alert escalates after 30 minutes of opening hours (issue 14)."""
DEFAULT_MAX_REMINDERS = 3
"""At most three reminders of one check-in window (Osmind's pattern, §4)."""

MAX_CLINIC_HOURS = 200
"""Characters of the clinic's hours ("Monday to Friday, 8 am to 6 pm"): one line."""
MAX_CRISIS_TEXT = 1000
"""Characters of the crisis panel's text: a short paragraph a patient in distress can read."""
_PHONE_NUMBER = re.compile(r"[0-9]{3,15}")
"""A number the panel dials: digits only (a short code such as 988, up to E.164's 15 digits), so
nothing but digits ever goes into a ``tel:`` or ``sms:`` link."""


def default_crisis_text(
    *,
    clinic_hours: str | None = None,
    call_number: str = DEFAULT_CRISIS_CALL_NUMBER,
    text_number: str = DEFAULT_CRISIS_TEXT_NUMBER,
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER,
    care_team: str | None = None,
) -> str:
    """The crisis panel's text when the clinic has written none of its own.

    Says what really happens next: the care team sees the answer when it next reads its
    alerts (during clinic hours), not at once, so a patient in danger now is sent to the
    crisis line or the emergency number. No promise that anyone has been told or will call.
    ``care_team`` replaces that sentence where more is known (:func:`crisis_text_at`).
    """
    hours = (
        f"during clinic hours ({clinic_hours.strip()})" if clinic_hours else "during clinic hours"
    )
    care_team = care_team or f"Your care team will see your answers {hours}."
    reach = (
        f"call or text {call_number}"
        if call_number == text_number
        else f"call {call_number} or text {text_number}"
    )
    return (
        "If you are thinking about harming yourself, you are not alone and help is available "
        f"now. {care_team} If you are in danger now, "
        f"{reach} (Suicide & Crisis Lifeline) at any time, or call {emergency_number}."
    )


DEFAULT_CRISIS_TEXT = default_crisis_text()
"""The default text with the default numbers and no clinic hours stated."""

FORMER_DEFAULT_CRISIS_TEXTS = (
    "If you are thinking about harming yourself, you are not alone and help is available now. "
    "Call or text 988 (Suicide & Crisis Lifeline) at any time, or call 911 in an emergency. "
    "Your care team has been told about your answer and will contact you.",
)
"""Defaults of earlier versions, stored by the demo clinic and older databases: read as "no
text of the clinic's own", so the promise that "your care team has been told and will contact
you" is not shown again."""


@dataclass(frozen=True)
class ClinicConfig:
    """The settings a page and the check-in writer need, with defaults filled in."""

    clinic_id: int
    checkin_instruments: tuple[str, ...]
    checkin_cadence_days: int
    crisis_text: str
    rules: Rules
    time_zone: str = "UTC"
    """The IANA name of the clinic's time zone (``America/New_York``): forms enter times in it."""
    crisis_call_number: str = DEFAULT_CRISIS_CALL_NUMBER
    """Digits only (validated on write): the crisis line to call, a ``tel:`` link."""
    crisis_text_number: str = DEFAULT_CRISIS_TEXT_NUMBER
    """Digits only: the crisis line to text, an ``sms:`` link."""
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER
    """Digits only: the emergency number, a ``tel:`` link."""
    clinic_hours: str | None = None
    """When the care team reads alerts, in the clinic's words (None: not stated)."""
    custom_crisis_text: bool = False
    """Whether ``crisis_text`` is the clinic's own (else the default, from the settings above)."""
    quiet_hours_start: str = DEFAULT_QUIET_HOURS[0]
    """No reminder from this time (``"HH:MM"``, the clinic's clock) ..."""
    quiet_hours_end: str = DEFAULT_QUIET_HOURS[1]
    """... to this one, across midnight when it is earlier (21:00 to 08:00)."""
    clinic_opens: str = DEFAULT_OPENING[0]
    """When the care team is in, on each of ``clinic_days`` (``"HH:MM"``) ..."""
    clinic_closes: str = DEFAULT_OPENING[1]
    """... until this time: safety alerts escalate only then; the crisis text says when not."""
    clinic_days: tuple[int, ...] = DEFAULT_CLINIC_DAYS
    """The days the clinic is open, Monday 0 to Sunday 6."""
    escalation_minutes: int = DEFAULT_ESCALATION_MINUTES
    """Minutes of opening hours an alert may stay unacknowledged before it escalates."""
    max_reminders: int = DEFAULT_MAX_REMINDERS
    """Reminders of one check-in window at most."""
    reminders_on_since: dt.datetime | None = None
    """When the clinic switched reminders on (None: off)."""

    def open_at(self, moment: dt.datetime) -> bool:
        """Whether the clinic is open at ``moment`` (its days and hours, on its clock)."""
        return clinic_open(moment, **self.opening_hours)

    @property
    def opening_hours(self) -> dict[str, Any]:
        """The keywords of :mod:`outcomes.clinic_time`'s opening-hours functions."""
        return {
            "zone": self.time_zone,
            "days": self.clinic_days,
            "opens": self.clinic_opens,
            "closes": self.clinic_closes,
        }


def rules_from_overrides(overrides: dict[str, Any] | None) -> Rules:
    """Apply a clinic's stored overrides to the spec's rules.

    ``{"gad7": {"max_missing": 2}, "course": {"induction_infusions": 8}}``: instrument ids map
    to instrument rules, ``"course"`` to course-wide rules. Raises :class:`RulesError` for
    anything unknown or impossible.
    """
    rules = DEFAULT_RULES
    for key, changes in (overrides or {}).items():
        if not isinstance(changes, dict):
            raise RulesError(f"rule overrides for {key!r} must be a mapping of rule to value")
        rules = rules.override(**changes) if key == "course" else rules.override(key, **changes)
    return rules


def clinic_config(session: Session, clinic_id: int) -> ClinicConfig:
    """The clinic's settings (defaults where it has none)."""
    settings = session.get(ClinicSettings, clinic_id)
    if settings is None:
        return ClinicConfig(clinic_id, ("phq9", "gad7"), 7, DEFAULT_CRISIS_TEXT, DEFAULT_RULES)
    numbers = {
        "call_number": _stored_number(settings.crisis_call_number, DEFAULT_CRISIS_CALL_NUMBER),
        "text_number": _stored_number(settings.crisis_text_number, DEFAULT_CRISIS_TEXT_NUMBER),
        "emergency_number": _stored_number(settings.emergency_number, DEFAULT_EMERGENCY_NUMBER),
    }
    hours = (settings.clinic_hours or "").strip() or None
    opens, closes = _stored_opening(settings.clinic_opens, settings.clinic_closes)
    quiet_start = _stored_clock(settings.quiet_hours_start, DEFAULT_QUIET_HOURS[0])
    quiet_end = _stored_clock(settings.quiet_hours_end, DEFAULT_QUIET_HOURS[1])
    stored_text = (settings.crisis_text or "").strip()
    own_text = (
        stored_text
        if stored_text and stored_text not in (DEFAULT_CRISIS_TEXT, *FORMER_DEFAULT_CRISIS_TEXTS)
        else None
    )
    return ClinicConfig(
        clinic_id=clinic_id,
        checkin_instruments=tuple(settings.checkin_instruments or ("phq9", "gad7")),
        checkin_cadence_days=settings.checkin_cadence_days or 7,
        crisis_text=own_text or default_crisis_text(clinic_hours=hours, **numbers),
        rules=rules_from_overrides(settings.rule_overrides),
        time_zone=settings.time_zone or "UTC",
        crisis_call_number=numbers["call_number"],
        crisis_text_number=numbers["text_number"],
        emergency_number=numbers["emergency_number"],
        clinic_hours=hours,
        custom_crisis_text=own_text is not None,
        quiet_hours_start=quiet_start,
        quiet_hours_end=quiet_end,
        clinic_opens=opens,
        clinic_closes=closes,
        clinic_days=_stored_days(settings.clinic_days),
        escalation_minutes=_stored_count(
            settings.escalation_minutes, DEFAULT_ESCALATION_MINUTES, most=7 * 24 * 60
        ),
        max_reminders=_stored_count(settings.max_reminders, DEFAULT_MAX_REMINDERS, most=10),
        reminders_on_since=settings.reminders_on_since,
    )


CARE_TEAM_TOLD = (
    "We have sent your care team a message about your answers now, and they will review them."
)
"""The default text's middle sentence when a notification was queued to someone reachable
while the clinic is open (never otherwise: the former default promised it without sending)."""


def crisis_text_at(config: ClinicConfig, *, now: dt.datetime, care_team_told: bool) -> str:
    """The crisis panel's text at ``now``: what really happens next.

    * The clinic is closed (its days and hours, on its clock): it says so plainly and when
      the care team will see the answers (its next opening), whatever was sent, and sends a
      patient in danger now to the crisis line or the emergency number. A clinic's own text
      follows that sentence.
    * The clinic is open and ``care_team_told`` (a safety notification was queued to
      someone reachable, :func:`data.notify.safety.care_team_told`): the default text says
      the care team has been sent a message.
    * Otherwise the clinic's own text, or the default (the care team sees the answers
      during clinic hours).
    """
    numbers = {
        "call_number": config.crisis_call_number,
        "text_number": config.crisis_text_number,
        "emergency_number": config.emergency_number,
    }
    if not config.open_at(now):
        opening = next_opening(now, **config.opening_hours)
        when = "when it next opens" if opening is None else _opening_words(opening, now, config)
        closed = f"Our clinic is closed now; your care team will see your answers {when}."
        if config.custom_crisis_text:
            return f"{closed} {config.crisis_text}"
        return default_crisis_text(care_team=closed, **numbers)
    if config.custom_crisis_text:
        return config.crisis_text
    if care_team_told:
        return default_crisis_text(care_team=CARE_TEAM_TOLD, **numbers)
    return default_crisis_text(clinic_hours=config.clinic_hours, **numbers)


def _opening_words(opening: dt.datetime, now: dt.datetime, config: ClinicConfig) -> str:
    """``when it opens at 08:00 tomorrow`` (today, tomorrow, or ``on Monday 30 November``),
    on the clinic's clock."""
    zone = zoneinfo.ZoneInfo(config.time_zone)
    local = opening.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    day = {0: "today", 1: "tomorrow"}.get(days, f"on {local:%A %d %B}")
    return f"when it opens at {local:%H:%M} {day}"


# Hours, days and counts are validated where an administrator edits them; a row edited by
# hand must still never stop a check-in or an escalation pass, so a stored value that does
# not parse is read as the default (as _stored_number does for the crisis numbers).


def _stored_clock(stored: str | None, default: str) -> str:
    try:
        return f"{parse_clock(stored or ''):%H:%M}"
    except ValueError:
        return default


def _stored_opening(opens: str | None, closes: str | None) -> tuple[str, str]:
    start = _stored_clock(opens, DEFAULT_OPENING[0])
    end = _stored_clock(closes, DEFAULT_OPENING[1])
    return (start, end) if start < end else DEFAULT_OPENING


def _stored_days(stored: str | None) -> tuple[int, ...]:
    try:
        return tuple(sorted(parse_days(stored if stored is not None else "0,1,2,3,4")))
    except ValueError:
        return DEFAULT_CLINIC_DAYS


def _stored_count(stored: int | None, default: int, *, most: int) -> int:
    return stored if isinstance(stored, int) and 1 <= stored <= most else default


def _stored_number(stored: str | None, default: str) -> str:
    # Written only through set_crisis_contacts, but a row edited by hand must still never put
    # anything but digits into a link: such a number is replaced by the default.
    return stored if stored and _PHONE_NUMBER.fullmatch(stored) else default


def phone_number_problem(label: str, number: str) -> str | None:
    """Why ``number`` cannot be the crisis panel's ``label`` (None if it can)."""
    if _PHONE_NUMBER.fullmatch(number):
        return None
    return f"the {label} must be 3 to 15 digits, with no spaces or other signs (e.g. 988)"


def plain_text_problem(label: str, text: str, *, limit: int, one_line: bool) -> str | None:
    """Why ``text`` cannot be the crisis panel's ``label`` (None if it can): too long, or
    holding control characters (a line break too, where ``one_line``)."""
    if len(text) > limit:
        return f"the {label} can have at most {limit} characters (it has {len(text)})"
    allowed = "" if one_line else "\n"
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        where = "on one line, " if one_line else ""
        return f"write the {label} {where}as plain text, without tabs or control characters"
    return None


def set_crisis_contacts(
    session: Session,
    *,
    actor: Actor,
    crisis_call_number: str | None = None,
    crisis_text_number: str | None = None,
    emergency_number: str | None = None,
    clinic_hours: str | None = None,
    crisis_text: str | None = None,
) -> None:
    """Set the crisis panel's numbers, the clinic's hours and the panel's text.

    Each setting given (not None) is replaced; an empty one (``""``) goes back to the
    default: 988 to call and to text, 911, hours not stated ("during clinic hours"), and
    :func:`default_crisis_text`. Only the clinic's administrator, or the operator's command
    line, may change them.

    Parameters
    ----------
    crisis_call_number, crisis_text_number, emergency_number : str, optional
        Digits only, 3 to 15 of them (988, 911, 18002738255): they become ``tel:`` and
        ``sms:`` links on a patient's phone.
    clinic_hours : str, optional
        When the care team reads alerts, in the clinic's words, on one line (at most
        :data:`MAX_CLINIC_HOURS` characters).
    crisis_text : str, optional
        The panel's text, plain text (at most :data:`MAX_CRISIS_TEXT` characters); shown
        literally, never as formatting.

    Raises
    ------
    AccessDenied
        The actor does not administer the clinic.
    InvalidInput
        A number, the hours or the text is not acceptable (one reason each); nothing is
        written.
    """
    ensure_role(session, actor, "administrator", "system")
    numbers = {
        "crisis_call_number": ("crisis line's call number", crisis_call_number),
        "crisis_text_number": ("crisis line's text number", crisis_text_number),
        "emergency_number": ("emergency number", emergency_number),
    }
    changes: dict[str, str | None] = {}
    problems: list[str] = []
    for column, (label, value) in numbers.items():
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"the {label} must be 3 to 15 digits, e.g. 988")
            continue
        number = value.strip()
        problem = phone_number_problem(label, number) if number else None
        if problem:
            problems.append(problem)
        changes[column] = number or None
    for column, label, value, limit, one_line in (
        ("clinic_hours", "clinic hours", clinic_hours, MAX_CLINIC_HOURS, True),
        ("crisis_text", "crisis text", crisis_text, MAX_CRISIS_TEXT, False),
    ):
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"the {label} must be text")
            continue
        text = value.strip()
        problem = plain_text_problem(label, text, limit=limit, one_line=one_line)
        if problem:
            problems.append(problem)
        changes[column] = text or None
    if problems:
        raise InvalidInput(problems)
    if not changes:
        return
    settings = session.get(ClinicSettings, actor.clinic_id)
    if settings is None:
        settings = ClinicSettings(clinic_id=actor.clinic_id)
        session.add(settings)
    for column, value in changes.items():
        setattr(settings, column, value)
    session.flush()
    audit.record(session, actor=actor, action=audit.Action.SET_CRISIS_CONTACTS)


def time_zone_problem(name: str) -> str | None:
    """Why ``name`` is not a time zone a clinic can use (None if it is).

    Only a name of the IANA database this server has (``zoneinfo.available_timezones()``):
    a closed vocabulary of letters, digits and ``/ _ + -``, so the name the pages print in
    labels and messages is never free text that could read as markup.
    """
    if not isinstance(name, str) or not name.strip():
        return "give the clinic's time zone by its IANA name, e.g. America/New_York"
    if name.strip() not in zoneinfo.available_timezones():
        return (
            "that is not a time zone name this server knows; use an IANA name such as "
            "America/New_York or Europe/London"
        )
    return None


def clinic_moment(day: dt.date, time: dt.time, time_zone: str) -> dt.datetime:
    """The moment a clinic's wall clock shows ``day`` ``time`` in ``time_zone``, in UTC.

    A time that occurs twice when clocks go back is taken as its first occurrence (the
    earlier moment); one skipped when clocks go forward as the moment an hour later.
    """
    local = dt.datetime.combine(day, time.replace(tzinfo=None), tzinfo=zoneinfo.ZoneInfo(time_zone))
    return local.astimezone(dt.UTC)


def clinic_now(time_zone: str) -> dt.datetime:
    """Now, on the clinic's wall clock."""
    return dt.datetime.now(zoneinfo.ZoneInfo(time_zone))


def set_clinic_time_zone(session: Session, *, actor: Actor, time_zone: str) -> None:
    """Set the actor's clinic's time zone (an administrator, or the operator's command line).

    Raises
    ------
    AccessDenied
        The actor does not administer the clinic.
    InvalidInput
        Not an IANA time zone name; nothing is written.
    """
    ensure_role(session, actor, "administrator", "system")
    problem = time_zone_problem(time_zone)
    if problem:
        raise InvalidInput([problem])
    settings = session.get(ClinicSettings, actor.clinic_id)
    if settings is None:
        settings = ClinicSettings(clinic_id=actor.clinic_id)
        session.add(settings)
    settings.time_zone = time_zone.strip()
    session.flush()
    audit.record(session, actor=actor, action=audit.Action.SET_CLINIC_TIME_ZONE)
