"""Record an infusion, refusing implausible values with messages a clinician understands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_write_patient
from data.errors import InvalidInput
from data.models import utcnow
from data.records.infusions import write_infusion
from outcomes.infusion_terms import ROUTE_LABELS, ROUTES, SIDE_EFFECTS

# Plausible ranges: wide enough for any real infusion-chair reading, narrow enough to catch a
# typo (a dose in mg typed as mg/kg, a blood pressure with a digit missing).
LIMITS: dict[str, tuple[float, float, str]] = {
    "dose_mg_per_kg": (0.05, 2.0, "mg/kg"),
    "dose_mg": (1.0, 300.0, "mg"),
    "duration_minutes": (1, 240, "minutes"),
    "systolic_before": (60, 260, "mmHg"),
    "diastolic_before": (30, 160, "mmHg"),
    "heart_rate_before": (30, 200, "beats/min"),
    "systolic_40min": (60, 260, "mmHg"),
    "diastolic_40min": (30, 160, "mmHg"),
    "heart_rate_40min": (30, 200, "beats/min"),
    "systolic_discharge": (60, 260, "mmHg"),
    "diastolic_discharge": (30, 160, "mmHg"),
    "heart_rate_discharge": (30, 200, "beats/min"),
    "spo2_min": (70, 100, "%"),
    "dissociation_cadss6": (0, 24, "points (CADSS-6)"),
    "sedation_moaas": (0, 5, "(MOAA/S)"),
}
LABELS = {
    "dose_mg_per_kg": "dose per kg",
    "dose_mg": "dose",
    "duration_minutes": "duration",
    "systolic_before": "systolic pressure before",
    "diastolic_before": "diastolic pressure before",
    "heart_rate_before": "heart rate before",
    "systolic_40min": "systolic pressure at 40 minutes",
    "diastolic_40min": "diastolic pressure at 40 minutes",
    "heart_rate_40min": "heart rate at 40 minutes",
    "systolic_discharge": "systolic pressure at discharge",
    "diastolic_discharge": "diastolic pressure at discharge",
    "heart_rate_discharge": "heart rate at discharge",
    "spo2_min": "lowest SpO2",
    "dissociation_cadss6": "dissociation score",
    "sedation_moaas": "sedation score",
}
WHOLE_NUMBERS = {name for name in LIMITS if name not in ("dose_mg_per_kg", "dose_mg")}


@dataclass(frozen=True)
class InfusionInput:
    """What a clinician records about one infusion (all measurements optional)."""

    administered_at: dt.datetime
    route: str
    dose_mg_per_kg: float | None = None
    dose_mg: float | None = None
    duration_minutes: int | None = None
    systolic_before: int | None = None
    diastolic_before: int | None = None
    heart_rate_before: int | None = None
    systolic_40min: int | None = None
    diastolic_40min: int | None = None
    heart_rate_40min: int | None = None
    systolic_discharge: int | None = None
    diastolic_discharge: int | None = None
    heart_rate_discharge: int | None = None
    spo2_min: int | None = None
    dissociation_cadss6: int | None = None
    sedation_moaas: int | None = None
    side_effects: tuple[str, ...] = field(default_factory=tuple)
    side_effects_note: str | None = None


def problems_with(infusion: InfusionInput) -> list[str]:
    """Every reason ``infusion`` cannot be recorded, in plain words; empty if it can."""
    problems: list[str] = []
    when = infusion.administered_at
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        problems.append("the infusion time needs a date, a time and a time zone")
    elif when > utcnow() + dt.timedelta(hours=1):
        problems.append("the infusion time is in the future")
    if infusion.route not in ROUTES:
        allowed = ", ".join(ROUTE_LABELS[r] for r in ROUTES)
        problems.append(f"route {infusion.route!r} is not one of: {allowed}")
    for name, (low, high, unit) in LIMITS.items():
        value = getattr(infusion, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{LABELS[name]} must be a number")
        elif name in WHOLE_NUMBERS and value != int(value):
            problems.append(f"{LABELS[name]} must be a whole number")
        elif not low <= value <= high:
            problems.append(
                f"{LABELS[name]} of {value:g} {unit} is outside the plausible range "
                f"{low:g}–{high:g} {unit}; check the entry"
            )
    for before, after in (
        ("systolic_before", "diastolic_before"),
        ("systolic_40min", "diastolic_40min"),
        ("systolic_discharge", "diastolic_discharge"),
    ):
        systolic, diastolic = getattr(infusion, before), getattr(infusion, after)
        numbers = isinstance(systolic, int | float) and isinstance(diastolic, int | float)
        if numbers and diastolic >= systolic:
            problems.append(f"{LABELS[after]} must be lower than {LABELS[before]}")
    unknown = [effect for effect in infusion.side_effects if effect not in SIDE_EFFECTS]
    if unknown:
        problems.append(
            f"unknown side effect(s) {', '.join(map(repr, unknown))}; "
            f"use the note for anything not in the list"
        )
    return problems


def record_infusion(
    session: Session, *, actor: Actor, patient_id: int, infusion: InfusionInput
) -> int:
    """Store an infusion for a patient of the clinician's clinic; returns its id.

    Raises
    ------
    AccessDenied
        The actor is not on this patient's care team.
    InvalidInput
        Any implausible value; every problem is listed and nothing is written.
    """
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    problems = problems_with(infusion)
    if problems:
        raise InvalidInput(problems)
    values = asdict(infusion)
    values["side_effects"] = list(dict.fromkeys(infusion.side_effects))
    infusion_id = write_infusion(
        session,
        {
            "clinic_id": actor.clinic_id,
            "patient_id": patient_id,
            "recorded_by_id": actor.user_id,
            **values,
        },
    )
    audit.record(session, actor=actor, action=audit.Action.RECORD_INFUSION, patient_id=patient_id)
    return infusion_id


def side_effect_label(effect: str) -> str:
    return effect.replace("_", " ")


def side_effect_labels(effects: Iterable[str]) -> str:
    return ", ".join(side_effect_label(e) for e in effects) or "none"
