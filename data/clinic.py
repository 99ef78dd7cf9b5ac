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
from outcomes.errors import RulesError
from outcomes.rules import DEFAULT_RULES, Rules

SCORING_VERSION = f"outcomes-{outcomes_version}"
"""Stamped on every stored score, so ``outcomes rescore`` knows what to recompute."""

DEFAULT_CRISIS_CALL_NUMBER = "988"
"""The US Suicide & Crisis Lifeline, to call."""
DEFAULT_CRISIS_TEXT_NUMBER = "988"
"""The US Suicide & Crisis Lifeline, to text."""
DEFAULT_EMERGENCY_NUMBER = "911"

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
) -> str:
    """The crisis panel's text when the clinic has written none of its own.

    Says what really happens next: the care team sees the answer when it next reads its
    alerts (during clinic hours), not at once, so a patient in danger now is sent to the
    crisis line or the emergency number. No promise that anyone has been told or will call.
    """
    hours = (
        f"during clinic hours ({clinic_hours.strip()})" if clinic_hours else "during clinic hours"
    )
    reach = (
        f"call or text {call_number}"
        if call_number == text_number
        else f"call {call_number} or text {text_number}"
    )
    return (
        "If you are thinking about harming yourself, you are not alone and help is available "
        f"now. Your care team will see your answers {hours}. If you are in danger now, "
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
    )


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
