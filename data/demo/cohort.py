"""Who the demo clinic's patients are: the ``demo-patient`` account and everyone else.

:func:`plan_clinic` plans every patient (see :mod:`data.demo.courses`), gives them invented
names, and marks the few recent check-ins whose safety alerts are left open.
"""

from __future__ import annotations

import datetime as dt
import random

from data.demo.courses import IV_PROTOCOLS, plan_patient, plan_visit, plan_waiting_patient
from data.demo.plan import Checkin, Plan, at, choose

WINDOW_DAYS = 548
"""The demo clinic's history: the 18 months before ``today``."""

_WAITING_SHARE = 0.02  # referred, screened, first infusion not yet given
_FIRST_NAMES = (
    "Alex", "Avery", "Blair", "Casey", "Drew", "Emerson", "Finley", "Harper", "Jordan", "Kai",
    "Logan", "Morgan", "Parker", "Quinn", "Reese", "Riley", "Rowan", "Sage", "Skyler", "Taylor",
)  # fmt: skip
_LAST_NAMES = (
    "Sample", "Example", "Placeholder", "Testwell", "Mockford", "Demoson", "Fakesley",
    "Specimen", "Dummyfield", "Syntheton",
)  # fmt: skip
# Patients per clinician of data.demo.staff, in its order.
_CLINICIAN_WEIGHTS = (45, 30, 25)
_DEMO_PATIENT_NAME = "Alex Sample"

# The demo patient's weekly PHQ-9 totals (None: missed week): responds at week 1, after the
# 2nd infusion; remits at week 4; stays well on monthly maintenance.
_DEMO_PHQ9 = (19, 9, 7, 6, 4, 5, 4, None, 3, 4, 6, 5, 4, 3, None, 4, 3, 5, 4, 3, 4)
_DEMO_GAD7 = (14, 8, 7, 6, 4, 5, 4, None, 4, 3, 5, 5, 4, 3, None, 3, 3, 4, 4, 3, 3)


def _plan_demo_patient(rng: random.Random, *, today: dt.date) -> Plan:
    """The ``demo-patient`` account's course: instructive, and the same every time."""
    last_checkin = today - dt.timedelta(days=6)
    first_day = last_checkin - dt.timedelta(days=7 * (len(_DEMO_PHQ9) - 1))
    plan = Plan(
        route="iv",
        protocol=IV_PROTOCOLS[2][0],
        first_day=first_day,
        weight_kg=72.0,
        date_of_birth=first_day - dt.timedelta(days=int(38.4 * 365.25)),
        clinician=0,
        baseline=_DEMO_PHQ9[0] or 0,
        anxiety_baseline=_DEMO_GAD7[0] or 0,
        improvement_max=0.8,
        anxiety_improvement_max=0.75,
        onset=2,
        suicidality=0.0,
        vitals=(122.0, 78.0, 70.0),
        has_account=True,
        name=_DEMO_PATIENT_NAME,
    )
    days = [*IV_PROTOCOLS[2][1], 24, 31]  # induction, then weekly twice
    while days[-1] + 28 < (today - first_day).days:
        days.append(days[-1] + 28)  # then every four weeks
    plan.visits = [
        plan_visit(rng, plan, first_day + dt.timedelta(days=offset), i, False, 56.0)
        for i, offset in enumerate(days)
    ]
    for week, (phq9, gad7) in enumerate(zip(_DEMO_PHQ9, _DEMO_GAD7, strict=True)):
        if phq9 is None or gad7 is None:
            continue
        day = first_day + dt.timedelta(days=7 * week)
        minute = plan.visits[0].minute - 30 if week == 0 else 19 * 60 + rng.randint(0, 90)
        plan.checkins.append(Checkin(at(day, minute), float(phq9), float(gad7), exact=True))
    return plan


def plan_clinic(rng: random.Random, *, patients: int, today: dt.date) -> list[Plan]:
    """Plan ``patients`` patients, the ``demo-patient`` account's included, by first day.

    About 2% wait for a first infusion booked after ``today``; every other first treatment
    falls in the :data:`WINDOW_DAYS` before it. ``Plan.clinician`` indexes the clinicians of
    :data:`data.demo.staff.STAFF`.
    """
    window_start = today - dt.timedelta(days=WINDOW_DAYS)
    plans = [_plan_demo_patient(rng, today=today)]
    waiting = round(_WAITING_SHARE * patients)
    for number in range(1, patients):
        clinician = int(choose(rng, tuple(enumerate(_CLINICIAN_WEIGHTS))))
        if number >= patients - waiting:
            start = today + dt.timedelta(days=rng.randint(1, 10))
            plans.append(
                plan_waiting_patient(rng, today=today, first_day=start, clinician=clinician)
            )
            continue
        start = window_start + dt.timedelta(days=rng.randint(0, WINDOW_DAYS - 2))
        plans.append(plan_patient(rng, today=today, first_day=start, clinician=clinician))
    plans.sort(key=lambda plan: plan.first_day)
    for plan in plans:
        if not plan.name:
            plan.name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    _mark_open_alerts(rng, plans, today=today)
    return plans


def _mark_open_alerts(rng: random.Random, plans: list[Plan], *, today: dt.date) -> None:
    """Make two to four recent check-ins answer item 9 positively (left open as alerts)."""
    recent = today - dt.timedelta(days=14)
    candidates = [
        checkin
        for plan in plans
        if not plan.has_account
        for checkin in plan.checkins[-1:]
        if checkin.moment.date() >= recent and checkin.depression >= 9
    ]
    for checkin in rng.sample(candidates, min(len(candidates), rng.randint(2, 4))):
        checkin.force_item9 = True
