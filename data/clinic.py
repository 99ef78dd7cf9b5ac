"""A clinic's own settings: the rules it scores by, check-in instruments and crisis text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

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
    )
