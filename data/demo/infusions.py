"""Infusion-chair records for the planned visits: vitals, dissociation, sedation, effects.

Every row passes :func:`data.infusions.problems_with`, the check a clinician's entry meets.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from data.demo.plan import Plan, Visit, at, choose, clip
from data.infusions import InfusionInput, problems_with
from data.models import SIDE_EFFECTS

_SIDE_EFFECT_RATES = {
    "nausea": 0.14,
    "dizziness": 0.22,
    "headache": 0.10,
    "hallucinations": 0.02,
    "confusion": 0.015,
    "irregular_heart_rate": 0.008,
}
_CALM_NOTES = (
    "Eye mask and music; comfortable throughout.",
    "Tired afterwards; driven home by a family member.",
    "Anxious at the start; settled after the first 10 minutes.",
)


def _infusion_row(rng: random.Random, plan: Plan, visit: Visit, number: int) -> dict[str, Any]:
    """Vitals before, at 40 minutes and at discharge; dissociation; sedation; side effects."""
    systolic0, diastolic0, heart0 = plan.vitals
    systolic = round(clip(systolic0 + rng.gauss(0, 7), 92, 190))
    diastolic = round(clip(diastolic0 + rng.gauss(0, 5), 52, min(115, systolic - 25)))
    heart = round(clip(heart0 + rng.gauss(0, 6), 48, 120))
    if plan.route == "intranasal_esketamine":
        rise, dissociation = rng.gauss(10, 6), 4.5 + (2.0 if (visit.dose_mg or 0) > 60 else 0.0)
    else:
        per_kg = visit.dose_mg_per_kg or 0.5
        rise = rng.gauss(13 + 16 * (per_kg - 0.5), 6)
        dissociation = 6.0 + 12 * (per_kg - 0.5) + (2.0 if plan.route == "im" else 0.0)
    if number == 0:
        dissociation += 3.0  # dissociation attenuates after the first treatment
    systolic40 = round(clip(systolic + rise, 95, 215))
    diastolic40 = round(
        clip(diastolic + 0.55 * rise + rng.gauss(0, 3), 55, min(125, systolic40 - 25))
    )
    heart40 = round(clip(heart + rng.gauss(4, 5), 48, 130))
    systolic_out = round(clip(systolic + rng.gauss(3, 5), 92, 195))
    diastolic_out = round(clip(diastolic + rng.gauss(2, 4), 52, min(118, systolic_out - 25)))
    heart_out = round(clip(heart + rng.gauss(-1, 5), 48, 120))
    cadss = round(clip(rng.gauss(dissociation, 3.5), 0, 24))
    heavy = (visit.dose_mg_per_kg or 0.5) >= 0.75 or (visit.dose_mg or 0) > 60
    sedation = int(choose(rng, ((5, 68), (4, 26), (3, 6)) if heavy else ((5, 80), (4, 17), (3, 3))))
    spo2 = int(choose(rng, ((99, 25), (98, 30), (97, 22), (96, 12), (95, 7), (94, 4))))
    effects = [
        effect
        for effect, rate in _SIDE_EFFECT_RATES.items()
        if rng.random() < rate * (1.8 if effect == "nausea" and plan.route != "iv" else 1.0)
    ]
    notes: list[str] = []
    if systolic40 >= 165 or diastolic40 >= 100:
        effects.append("elevated_blood_pressure")
        notes.append(
            "BP rechecked every 10 minutes; back near baseline by discharge without treatment."
        )
    if "nausea" in effects and rng.random() < 0.4:
        notes.append("Ondansetron 4 mg given for nausea; settled before discharge.")
    if "hallucinations" in effects:
        notes.append("Brief visual distortions during the infusion; reassured; resolved.")
    if not notes and rng.random() < 0.04:
        notes.append(rng.choice(_CALM_NOTES))
    ordered = [effect for effect in SIDE_EFFECTS if effect in effects]
    return {
        "administered_at": at(visit.day, visit.minute),
        "route": plan.route,
        "dose_mg_per_kg": visit.dose_mg_per_kg,
        "dose_mg": visit.dose_mg,
        "duration_minutes": visit.duration_minutes,
        "systolic_before": systolic,
        "diastolic_before": diastolic,
        "heart_rate_before": heart,
        "systolic_40min": systolic40,
        "diastolic_40min": diastolic40,
        "heart_rate_40min": heart40,
        "systolic_discharge": systolic_out,
        "diastolic_discharge": diastolic_out,
        "heart_rate_discharge": heart_out,
        "spo2_min": spo2,
        "dissociation_cadss6": cadss,
        "sedation_moaas": sedation,
        "side_effects": ordered,
        "side_effects_note": " ".join(notes) or None,
        # Weight-based doses are given for the weight taken that day; esketamine's is fixed.
        "weight_kg": plan.weight_kg if visit.dose_mg_per_kg is not None else None,
    }


def infusion_rows(
    rng: random.Random,
    plans: list[Plan],
    *,
    clinic_id: int,
    patient_ids: list[int],
    course_ids: dict[int, int],
    clinician_ids: list[int],
) -> list[dict[str, Any]]:
    """Every planned visit's infusion row, recorded by the patient's clinician (mostly).

    ``course_ids`` maps a patient's id to the id of their treatment course.

    Raises
    ------
    RuntimeError
        If the generator made a row that :func:`data.infusions.problems_with` refuses.
    """
    rows: list[dict[str, Any]] = []
    for index, plan in enumerate(plans):
        for number, visit in enumerate(plan.visits):
            row = _infusion_row(rng, plan, visit, number)
            problems = problems_with(
                InfusionInput(**{**row, "side_effects": tuple(row["side_effects"])})
            )
            if problems:
                raise RuntimeError(f"the demo generator made an implausible infusion: {problems}")
            recorder = (
                clinician_ids[plan.clinician] if rng.random() < 0.85 else rng.choice(clinician_ids)
            )
            row |= {
                "clinic_id": clinic_id,
                "patient_id": patient_ids[index],
                "course_id": course_ids[patient_ids[index]],
                "recorded_by_id": recorder,
                "created_at": row["administered_at"]
                + dt.timedelta(minutes=(visit.duration_minutes or 120) + 30),
            }
            rows.append(row)
    return rows
