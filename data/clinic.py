"""A clinic's own settings: the rules it scores by, check-in instruments, crisis text and the
time zone its staff enter times in."""

from __future__ import annotations

import datetime as dt
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

DEFAULT_CRISIS_TEXT = (
    "If you are thinking about harming yourself, you are not alone and help is available now. "
    "Call or text 988 (Suicide & Crisis Lifeline) at any time, or call 911 in an emergency. "
    "Your care team has been told about your answer and will contact you."
)


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
    return ClinicConfig(
        clinic_id=clinic_id,
        checkin_instruments=tuple(settings.checkin_instruments or ("phq9", "gad7")),
        checkin_cadence_days=settings.checkin_cadence_days or 7,
        crisis_text=settings.crisis_text or DEFAULT_CRISIS_TEXT,
        rules=rules_from_overrides(settings.rule_overrides),
        time_zone=settings.time_zone or "UTC",
    )


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
