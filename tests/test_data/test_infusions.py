"""Recording an infusion: implausible values refused with messages a clinician understands."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.infusions import LIMITS, InfusionInput, problems_with, record_infusion
from data.models import Infusion, utcnow
from tests.conftest import World

GOOD = InfusionInput(
    administered_at=utcnow() - dt.timedelta(hours=2),
    route="iv",
    dose_mg_per_kg=0.5,
    dose_mg=35.0,
    duration_minutes=40,
    systolic_before=124,
    diastolic_before=78,
    heart_rate_before=72,
    systolic_40min=138,
    diastolic_40min=86,
    heart_rate_40min=84,
    systolic_discharge=126,
    diastolic_discharge=80,
    heart_rate_discharge=74,
    spo2_min=97,
    dissociation_cadss6=8,
    sedation_moaas=4,
    side_effects=("nausea", "dizziness"),
)


def test_a_plausible_infusion_has_no_problems() -> None:
    assert problems_with(GOOD) == []


@pytest.mark.parametrize("field", sorted(LIMITS))
def test_every_limit_refuses_values_outside_it(field: str) -> None:
    low, high, unit = LIMITS[field]
    for value in (low - 1 if low >= 1 else -1, high * 10):
        problems = problems_with(dataclasses.replace(GOOD, **{field: value}))
        assert any("outside the plausible range" in p and unit in p for p in problems), problems


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"route": "iv drip"}, "route 'iv drip' is not one of: IV, IM"),
        ({"diastolic_before": 130, "systolic_before": 120}, "must be lower than systolic"),
        ({"dose_mg_per_kg": 50.0}, "dose per kg of 50 mg/kg is outside"),  # mg typed as mg/kg
        ({"heart_rate_40min": 72.5}, "heart rate at 40 minutes must be a whole number"),
        ({"side_effects": ("tingling",)}, "use the note for anything not in the list"),
        ({"administered_at": utcnow() + dt.timedelta(days=2)}, "in the future"),
        (
            {"administered_at": dt.datetime(2026, 1, 1, 9, 0)},
            "needs a date, a time and a time zone",
        ),
    ],
)
def test_refusals_say_what_to_check(changes: dict[str, object], message: str) -> None:
    problems = problems_with(dataclasses.replace(GOOD, **changes))  # type: ignore[arg-type]
    assert any(message in p for p in problems), problems


def test_refused_infusion_writes_nothing_and_lists_every_problem(
    session: Session, world: World
) -> None:
    bad = dataclasses.replace(GOOD, spo2_min=40, systolic_before=400, route="oral drops")
    with pytest.raises(InvalidInput) as refused:
        record_infusion(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            infusion=bad,
        )
    assert len(refused.value.problems) == 3
    assert session.scalar(select(func.count()).select_from(Infusion)) == 0
    stored = record_infusion(
        session, actor=world.clinician_a, patient_id=world.patient_a1.patient_id or 0, infusion=GOOD
    )
    row = session.get(Infusion, stored)
    assert row is not None and row.side_effects == ["nausea", "dizziness"]
    assert row.recorded_by_id == world.clinician_a.user_id
