"""Record an infusion once, refusing implausible values with messages a clinician understands.

A clinician's infusion is recorded deliberately: the dose is required, mg/kg is computed from
the dose and the weight it was given for, and an infusion within
:data:`NEAR_DUPLICATE_WINDOW` of another of the same patient is refused unless the call
confirms it (:class:`NearDuplicateInfusion`), so a second press of Record, or a second tab,
cannot store it twice. An infusion recorded wrongly is marked entered in error
(:func:`mark_infusion_entered_in_error`): kept, audited and no longer counted anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_write_patient
from data.clinic import clinic_config
from data.course_state import refresh_patients
from data.errors import InvalidInput
from data.models import Infusion, Patient, utcnow
from data.records.infusions import write_infusion
from data.schedule_store import fulfil_planned_infusion
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
    "weight_kg": (20.0, 300.0, "kg"),
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
    "weight_kg": "weight",
}
WHOLE_NUMBERS = {name for name in LIMITS if name not in ("dose_mg_per_kg", "dose_mg", "weight_kg")}

NEAR_DUPLICATE_WINDOW = dt.timedelta(hours=6)
"""Two infusions of one patient closer than this are almost always one infusion stored twice
(ketamine infusions are days apart; issue 11 found four identical ones minutes apart)."""
DOSE_TOLERANCE = 0.05
"""How far a given mg/kg may differ from dose / weight (rounding on a paper chart) before the
three are refused as inconsistent."""


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
    weight_kg: float | None = None
    side_effects: tuple[str, ...] = field(default_factory=tuple)
    side_effects_note: str | None = None


class InfusionRefused(InvalidInput):
    """An infusion refused for its values; ``by_field`` says which field each problem is of,
    so a form can show it beside that field (keys are :class:`InfusionInput` field names)."""

    def __init__(self, by_field: dict[str, list[str]]) -> None:
        self.by_field = {name: tuple(problems) for name, problems in by_field.items()}
        super().__init__(problem for problems in by_field.values() for problem in problems)


class NearDuplicateInfusion(InvalidInput):
    """Another infusion of the patient is within :data:`NEAR_DUPLICATE_WINDOW` of this one;
    nothing was written. ``other_at`` is its time, for the question a form asks; the message
    itself carries no patient data."""

    def __init__(self, other_id: int, other_at: dt.datetime) -> None:
        self.other_id = other_id
        self.other_at = other_at
        super().__init__(
            [
                "another infusion of this patient is recorded within 6 hours of this one; "
                "if this is a second infusion, confirm it to record it, otherwise it is "
                "already recorded"
            ]
        )


def field_problems(infusion: InfusionInput) -> dict[str, list[str]]:
    """Every reason ``infusion`` cannot be stored, by field name; empty if it can.

    A problem of two fields (a diastolic pressure not below its systolic) is the second
    field's. The dose is not required here: imported history may lack it
    (:func:`record_infusion` requires it of a clinician's new record).
    """
    by_field: dict[str, list[str]] = {}

    def add(name: str, problem: str) -> None:
        by_field.setdefault(name, []).append(problem)

    when = infusion.administered_at
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        add("administered_at", "the infusion time needs a date, a time and a time zone")
    elif when > utcnow() + dt.timedelta(hours=1):
        add("administered_at", "the infusion time is in the future")
    if infusion.route not in ROUTES:
        allowed = ", ".join(ROUTE_LABELS[r] for r in ROUTES)
        add("route", f"route {infusion.route!r} is not one of: {allowed}")
    for name, (low, high, unit) in LIMITS.items():
        value = getattr(infusion, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            add(name, f"{LABELS[name]} must be a number")
        elif name in WHOLE_NUMBERS and value != int(value):
            add(name, f"{LABELS[name]} must be a whole number")
        elif not low <= value <= high:
            add(
                name,
                f"{LABELS[name]} of {value:g} {unit} is outside the plausible range "
                f"{low:g}–{high:g} {unit}; check the entry",
            )
    for before, after in (
        ("systolic_before", "diastolic_before"),
        ("systolic_40min", "diastolic_40min"),
        ("systolic_discharge", "diastolic_discharge"),
    ):
        systolic, diastolic = getattr(infusion, before), getattr(infusion, after)
        numbers = isinstance(systolic, int | float) and isinstance(diastolic, int | float)
        if numbers and after not in by_field and diastolic >= systolic:
            add(after, f"{LABELS[after]} must be lower than {LABELS[before]}")
    unknown = [effect for effect in infusion.side_effects if effect not in SIDE_EFFECTS]
    if unknown:
        add(
            "side_effects",
            f"unknown side effect(s) {', '.join(map(repr, unknown))}; "
            f"use the note for anything not in the list",
        )
    return by_field


def problems_with(infusion: InfusionInput) -> list[str]:
    """Every reason ``infusion`` cannot be stored, in plain words; empty if it can."""
    return [problem for problems in field_problems(infusion).values() for problem in problems]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def with_dose_per_kg(infusion: InfusionInput) -> InfusionInput:
    """``infusion`` with the missing one of mg and mg/kg computed from the other and the weight.

    The clinic enters the dose in mg (what was drawn up and given) and the weight; mg/kg is
    derived, so the form shows it and nobody types it twice. Unchanged without a plausible
    weight (an implausible one is refused at its own field, not as a strange mg/kg).
    """
    weight = _number(infusion.weight_kg)
    mg, per_kg = _number(infusion.dose_mg), _number(infusion.dose_mg_per_kg)
    low, high, _ = LIMITS["weight_kg"]
    if weight is None or not low <= weight <= high:
        return infusion
    if mg is not None and per_kg is None:
        return replace(infusion, dose_mg_per_kg=round(mg / weight, 3))
    if per_kg is not None and mg is None:
        return replace(infusion, dose_mg=round(per_kg * weight, 1))
    return infusion


def recording_problems(infusion: InfusionInput) -> dict[str, list[str]]:
    """What stops a clinician's new record, by field: :func:`field_problems`, the dose
    required, and mg/kg that does not match the dose and weight given with it."""
    by_field = field_problems(infusion)
    mg, per_kg = _number(infusion.dose_mg), _number(infusion.dose_mg_per_kg)
    weight = _number(infusion.weight_kg)
    if infusion.dose_mg is None and infusion.dose_mg_per_kg is None:
        by_field.setdefault("dose_mg", []).append(
            "the dose is required: enter the dose given in mg"
        )
    elif (
        mg is not None
        and per_kg is not None
        and weight
        and weight > 0
        and not {"dose_mg", "dose_mg_per_kg", "weight_kg"} & by_field.keys()
        and abs(mg / weight - per_kg) > DOSE_TOLERANCE * per_kg
    ):
        by_field.setdefault("dose_mg_per_kg", []).append(
            f"dose per kg of {per_kg:g} mg/kg does not match {mg:g} mg for {weight:g} kg "
            f"({mg / weight:.2f} mg/kg); check the dose and the weight"
        )
    return by_field


def record_infusion(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    infusion: InfusionInput,
    confirm_near_duplicate: bool = False,
) -> int:
    """Store an infusion for a patient of the clinician's clinic; returns its id.

    mg/kg is computed from the dose and weight (:func:`with_dose_per_kg`).

    Parameters
    ----------
    confirm_near_duplicate
        The clinician has been told of another infusion of this patient within
        :data:`NEAR_DUPLICATE_WINDOW` and confirmed this is a second one. Without it such an
        infusion is refused, so a repeated submission stores nothing.

    Raises
    ------
    AccessDenied
        The actor is not on this patient's care team.
    InfusionRefused
        No dose, or any implausible value; every problem is listed by field and nothing is
        written.
    NearDuplicateInfusion
        Another infusion (not entered in error) is within 6 hours, unconfirmed; nothing is
        written.
    """
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    infusion = with_dose_per_kg(infusion)
    by_field = recording_problems(infusion)
    if by_field:
        raise InfusionRefused(by_field)
    if not confirm_near_duplicate:
        # Two tabs recording the same infusion at once: on PostgreSQL the second waits here for
        # the first to commit, then sees it (SQLite's write transactions are serial already).
        session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
        nearby = session.execute(
            select(Infusion.id, Infusion.administered_at)
            .where(
                Infusion.patient_id == patient_id,
                Infusion.entered_in_error_at.is_(None),
                Infusion.administered_at > infusion.administered_at - NEAR_DUPLICATE_WINDOW,
                Infusion.administered_at < infusion.administered_at + NEAR_DUPLICATE_WINDOW,
            )
            .order_by(Infusion.administered_at.desc(), Infusion.id.desc())
            .limit(1)
        ).first()
        if nearby is not None:
            raise NearDuplicateInfusion(nearby.id, nearby.administered_at)
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
    # The booking this infusion fulfils (same clinic day) is given, no longer planned.
    fulfil_planned_infusion(
        session,
        patient_id=patient_id,
        infusion_id=infusion_id,
        administered_at=infusion.administered_at,
        time_zone=clinic_config(session, actor.clinic_id).time_zone,
    )
    audit.record(session, actor=actor, action=audit.Action.RECORD_INFUSION, patient_id=patient_id)
    # An infusion moves every course of the patient (baseline, induction, infusion counts).
    # Last, so the clinic's data version stays locked only until the commit.
    refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=(patient_id,))
    return infusion_id


REASON_MAX = 500


def mark_infusion_entered_in_error(
    session: Session, *, actor: Actor, patient_id: int, infusion_id: int, reason: str
) -> None:
    """Mark one of the patient's infusions entered in error, with the reason.

    The row is kept (who recorded it, and who marked it when and why) and audited; it is no
    longer counted: course outcomes, infusion numbers, cohort reads and exports leave it out,
    and the patient's infusion log shows it struck through.

    Raises
    ------
    AccessDenied
        The actor is not on this patient's care team.
    InvalidInput
        No reason, a reason too long, no such infusion of this patient, or one already marked;
        nothing is written.
    """
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput(["say why this infusion was entered in error"])
    if len(reason) > REASON_MAX:
        raise InvalidInput([f"the reason is too long: keep it under {REASON_MAX} characters"])
    row = session.get(Infusion, infusion_id) if isinstance(infusion_id, int) else None
    if row is None or row.patient_id != patient_id or row.clinic_id != actor.clinic_id:
        raise InvalidInput(["this infusion is not in this patient's record; reload the page"])
    if row.entered_in_error_at is not None:
        raise InvalidInput(["this infusion is already marked entered in error"])
    row.entered_in_error_at = utcnow()
    row.entered_in_error_by_id = actor.user_id
    row.entered_in_error_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.MARK_INFUSION_ENTERED_IN_ERROR,
        patient_id=patient_id,
    )
    # No longer counted: every course of the patient is recomputed without it.
    refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=(patient_id,))


def side_effect_label(effect: str) -> str:
    return effect.replace("_", " ")


def side_effect_labels(effects: Iterable[str]) -> str:
    return ", ".join(side_effect_label(e) for e in effects) or "none"
