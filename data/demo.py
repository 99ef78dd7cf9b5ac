"""The demo clinic: a seeded, deterministic, entirely **synthetic** ketamine clinic.

Nothing here describes a real person. Every name comes from a short list of obviously
made-up names, every record number starts with ``DEMO-``, the clinic is called
"Demo Clinic (synthetic data)" and is flagged ``is_demo``, and the generator refuses to run
in a database that holds a real clinic.

:func:`seed_demo` builds about 18 months of a clinic that *behaves* like the community
ketamine clinics that have published their outcomes: induction courses of six infusions,
maintenance and boosters, weekly PHQ-9 and GAD-7 check-ins with missed weeks, a minority
who stop early, about half who respond, relapses, infusion-chair vitals and side effects,
and a few positive self-harm answers with their safety alerts. The same ``seed`` and
``today`` always give the same clinic.

Sign in as ``demo-patient``, ``demo-clinician`` or ``demo-admin``, password ``demo``.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.accounts import hash_password
from data.clinic import DEFAULT_CRISIS_TEXT, SCORING_VERSION
from data.infusions import InfusionInput, problems_with
from data.models import (
    SIDE_EFFECTS,
    Assessment,
    Clinic,
    ClinicSettings,
    Infusion,
    Patient,
    SafetyAlert,
    TreatmentCourse,
    User,
    utcnow,
)
from data.patients import patient_problems
from data.records.alerts import NewAlert, write_alerts
from outcomes import PRORATED, get_instrument, score_frame
from outcomes.instruments import Instrument
from outcomes.safety import safety_alert_kinds

DEMO_CLINIC_NAME = "Demo Clinic (synthetic data)"
DEMO_PASSWORD = "demo"
DEMO_ACTOR_NAME = "seed-demo"
INDICATION = "treatment-resistant depression"
WINDOW_DAYS = 548
"""The demo clinic's history: the 18 months before ``today``."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DemoSignIn:
    """A demo account anyone may use (the password is public: the data are synthetic)."""

    username: str
    password: str
    role: str
    what_to_try: str


DEMO_SIGN_INS: tuple[DemoSignIn, ...] = (
    DemoSignIn(
        "demo-patient",
        DEMO_PASSWORD,
        "patient",
        "a responder in maintenance: weekly check-in (due tomorrow) and own progress",
    ),
    DemoSignIn(
        "demo-clinician",
        DEMO_PASSWORD,
        "clinician",
        "worklist with open safety alerts, trajectories, infusion records",
    ),
    DemoSignIn(
        "demo-admin",
        DEMO_PASSWORD,
        "administrator",
        "the clinic's aggregate outcomes, data completeness and accounts",
    ),
)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo clinic holds.

    Attributes
    ----------
    clinic_id : int
        The demo clinic's id.
    patients, infusions, assessments, alerts : int
        Row counts of the demo clinic.
    sign_ins : tuple of DemoSignIn
        The demo accounts and their (public) password.
    """

    clinic_id: int
    patients: int
    infusions: int
    assessments: int
    alerts: int
    sign_ins: tuple[DemoSignIn, ...] = DEMO_SIGN_INS


# --- Protocols --------------------------------------------------------------------------

_IV_PROTOCOLS: tuple[tuple[str, tuple[int, ...]], ...] = (
    # Three infusions in week one and three in week two.
    ("IV ketamine 6x over 2 weeks + monthly maintenance", (0, 2, 4, 7, 9, 11)),
    # Three in week one, two in week two, one in week three.
    ("IV ketamine 6x over 3 weeks + monthly maintenance", (0, 2, 4, 7, 9, 14)),
    # Twice weekly for three weeks.
    ("IV ketamine 6x over 3 weeks + monthly maintenance", (0, 3, 7, 10, 14, 17)),
)
_IM_PROTOCOL = ("IM ketamine 6x over 3 weeks + monthly maintenance", (0, 2, 4, 7, 9, 14))
# Label: twice weekly in weeks 1-4, then weekly in weeks 5-8, then weekly or every 2 weeks.
_ESKETAMINE_PROTOCOL = (
    "Intranasal esketamine (twice weekly induction)",
    (0, 3, 7, 10, 14, 17, 21, 24),
)
_ROUTE_WEIGHTS = (("iv", 70), ("im", 15), ("intranasal_esketamine", 15))

# --- Outcome model (approximations of the published community-clinic figures) -----------

_STOP_AFTER_FIRST = 0.20
_NOT_COMPLETING = 0.50  # including the above
_RESPONDER_PROBABILITY = {"first_only": 0.2, "partial": 0.45, "complete": 0.7}
_REMITTER_PROBABILITY = 0.35  # of responders
_ONSET_WEIGHTS = ((1, 15), (2, 35), (3, 30), (4, 12), (5, 8))
_RELAPSE_PROBABILITY = 0.35  # of responders in maintenance
_GRADUATE_PROBABILITY = 0.35  # responders who stop maintenance after a few months
_WAITING_SHARE = 0.02  # referred, screened, first infusion not yet given
_QIDS_PROBABILITY = 0.12
_PHQ9_NOISE = 1.7
_GAD7_NOISE = 1.5
_QIDS_NOISE = 1.5

# Relative weight of each PHQ-9 item 1-8 (item 9 is drawn separately), GAD-7 items 1-7 and
# the eight QIDS-SR16 domains other than suicidal ideation: sleep and energy complaints are
# the most common, psychomotor change the least.
_PHQ9_ITEM_WEIGHTS = (1.2, 1.2, 1.3, 1.4, 0.9, 1.0, 1.1, 0.6)
_GAD7_ITEM_WEIGHTS = (1.2, 1.0, 1.3, 1.1, 0.8, 1.0, 0.8)
_QIDS_DOMAIN_WEIGHTS = (1.3, 1.2, 0.9, 1.0, 1.0, 1.1, 1.3, 0.7)
_QIDS_DOMAINS = (
    (1, 2, 3, 4),  # sleep
    (5,),  # mood
    (6, 7, 8, 9),  # appetite/weight
    (10,),  # concentration
    (11,),  # self-view
    (13,),  # interest
    (14,),  # energy
    (15, 16),  # psychomotor
)

# --- Synthetic people -------------------------------------------------------------------

_FIRST_NAMES = (
    "Alex", "Avery", "Blair", "Casey", "Drew", "Emerson", "Finley", "Harper", "Jordan", "Kai",
    "Logan", "Morgan", "Parker", "Quinn", "Reese", "Riley", "Rowan", "Sage", "Skyler", "Taylor",
)  # fmt: skip
_LAST_NAMES = (
    "Sample", "Example", "Placeholder", "Testwell", "Mockford", "Demoson", "Fakesley",
    "Specimen", "Dummyfield", "Syntheton",
)  # fmt: skip
_STAFF = (
    ("demo-clinician", "Dr. Morgan Demo (synthetic)", "clinician"),
    ("demo-clinician-2", "Dr. Robin Example (synthetic)", "clinician"),
    ("demo-clinician-3", "NP Casey Placeholder (synthetic)", "clinician"),
    ("demo-admin", "Demo Administrator (synthetic)", "administrator"),
)
_CLINICIAN_WEIGHTS = (45, 30, 25)
_DEMO_PATIENT_NAME = "Alex Sample"

_ALERT_NOTES = (
    "Called the patient the same day: passive thoughts only, no plan or intent. C-SSRS screen "
    "low risk; safety plan reviewed.",
    "Discussed at the infusion visit. Denies intent or plan; crisis line information given.",
    "Phoned the patient: fleeting thoughts during a hard week, none now. Safety plan updated.",
    "Reviewed with the patient and the prescriber; C-SSRS screen low risk. Support person "
    "aware of the safety plan.",
)
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


@dataclass
class _Visit:
    """One planned infusion."""

    day: dt.date
    minute: int
    dose_mg_per_kg: float | None
    dose_mg: float | None
    duration_minutes: int | None


@dataclass
class _Checkin:
    """One planned weekly check-in; ``depression``/``anxiety`` are expected totals."""

    moment: dt.datetime
    depression: float
    anxiety: float
    exact: bool = False
    qids: bool = False
    force_item9: bool = False


@dataclass
class _Plan:
    """Everything about one synthetic patient before it becomes rows."""

    route: str
    protocol: str
    first_day: dt.date
    weight_kg: float
    date_of_birth: dt.date
    clinician: int
    baseline: int
    anxiety_baseline: int
    improvement_max: float
    anxiety_improvement_max: float
    onset: int
    suicidality: float
    vitals: tuple[float, float, float]
    visits: list[_Visit] = field(default_factory=list)
    relapse: tuple[dt.date, dt.date] | None = None
    relapse_depth: float = 0.0
    checkins: list[_Checkin] = field(default_factory=list)
    ended_on: dt.date | None = None
    has_account: bool = False
    waiting: bool = False
    name: str = ""

    def improvement(self, day: dt.date) -> float:
        """Fraction of ``improvement_max`` reached on ``day`` (before that day's infusion)."""
        before = [visit.day for visit in self.visits if visit.day < day]
        if len(before) < self.onset:
            return 0.0
        level = min(1.0, 0.8 + 0.2 * (len(before) - self.onset))
        if self.relapse is not None and self.relapse[0] <= day <= self.relapse[1]:
            level *= self.relapse_depth
        # The effect wears off once infusions stop (half-life about two months).
        wearing = (day - before[-1]).days - 21
        if wearing > 0:
            level *= 0.5 ** (wearing / 60)
        return level

    def expected(self, day: dt.date) -> tuple[float, float]:
        """Expected PHQ-9 and GAD-7 totals on ``day``."""
        level = self.improvement(day)
        return (
            self.baseline * (1 - self.improvement_max * level),
            self.anxiety_baseline * (1 - self.anxiety_improvement_max * level),
        )


def _at(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(minutes=minute)


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _choose(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _ in weighted], weights=[w for _, w in weighted])[0]


def _birth_date(rng: random.Random, first_day: dt.date) -> dt.date:
    age_days = int(rng.triangular(22, 72, 41) * 365.25)
    return first_day - dt.timedelta(days=age_days)


def _vitals_profile(rng: random.Random) -> tuple[float, float, float]:
    systolic = rng.gauss(124, 12) + (12 if rng.random() < 0.25 else 0)
    diastolic = systolic * 0.63 + rng.gauss(0, 5)
    return systolic, diastolic, rng.gauss(74, 9)


def _iv_dose(rng: random.Random, index: int, escalate: bool) -> float:
    if escalate and index >= 3:
        return 1.0 if index >= 5 and rng.random() < 0.4 else 0.75
    return 0.5


def _visit(
    rng: random.Random, plan: _Plan, day: dt.date, index: int, escalate: bool, esk_dose: float
) -> _Visit:
    minute = 14 * 60 + 15 * rng.randint(0, 26)  # 14:00-20:30 UTC, in 15-minute slots
    if plan.route == "intranasal_esketamine":
        dose = 56.0 if index == 0 else esk_dose
        return _Visit(day, minute, None, dose, None)
    per_kg = _iv_dose(rng, index, escalate)
    if plan.route == "im":
        per_kg = min(per_kg, 0.75)
    dose_mg = round(per_kg * plan.weight_kg, 1)
    duration = 40 if plan.route == "iv" else None
    return _Visit(day, minute, per_kg, dose_mg, duration)


def _follow_up_weeks(rng: random.Random, kind: str) -> int:
    if kind == "first_only":
        return int(_choose(rng, ((0, 30), (1, 30), (2, 25), (3, 15))))
    if kind == "partial":
        return rng.randint(1, 5)
    return rng.randint(2, 8)


def _plan_patient(
    rng: random.Random, *, today: dt.date, first_day: dt.date, clinician: int
) -> _Plan:
    route = str(_choose(rng, _ROUTE_WEIGHTS))
    if route == "iv":
        protocol, offsets = rng.choice(_IV_PROTOCOLS)
    elif route == "im":
        protocol, offsets = _IM_PROTOCOL
    else:
        protocol, offsets = _ESKETAMINE_PROTOCOL
    adherence = rng.random()
    if adherence < _STOP_AFTER_FIRST:
        kind, planned = "first_only", 1
    elif adherence < _NOT_COMPLETING:
        kind, planned = "partial", rng.randint(2, 5)
    else:
        kind, planned = "complete", len(offsets)
    responder = rng.random() < _RESPONDER_PROBABILITY[kind]
    baseline = int(_clip(round(rng.gauss(18, 4)), 10, 26))
    if responder:
        if rng.random() < _REMITTER_PROBABILITY or baseline < 14:
            plateau = rng.uniform(0.5, 4.0)
        else:
            plateau = rng.uniform(6.5, min(baseline / 2 - 0.5, 10.0))
        improvement_max = 1 - plateau / baseline
    else:
        improvement_max = rng.uniform(0.0, 0.3)
    plan = _Plan(
        route=route,
        protocol=protocol,
        first_day=first_day,
        weight_kg=round(_clip(rng.gauss(80, 16), 50, 130), 1),
        date_of_birth=_birth_date(rng, first_day),
        clinician=clinician,
        baseline=baseline,
        anxiety_baseline=int(_clip(round(0.55 * baseline + rng.gauss(3, 3)), 2, 21)),
        improvement_max=improvement_max,
        anxiety_improvement_max=_clip(improvement_max * rng.uniform(0.6, 1.0), 0.0, 0.95),
        onset=int(_choose(rng, _ONSET_WEIGHTS)),
        suicidality=1.0 if rng.random() < 0.2 else 0.05,
        vitals=_vitals_profile(rng),
    )
    escalate = (not responder or plan.onset > 3) and rng.random() < 0.5
    esk_dose = 84.0 if rng.random() < 0.6 else 56.0

    # Induction, with the odd appointment moved by a day.
    days: list[dt.date] = []
    shift = 0
    for offset in offsets[:planned]:
        if days and rng.random() < 0.1:
            shift += 1
        days.append(first_day + dt.timedelta(days=offset + shift))
    in_progress = days[-1] >= today or (kind == "complete" and responder)
    visits = [
        _visit(rng, plan, day, i, escalate, esk_dose) for i, day in enumerate(days) if day < today
    ]
    plan.visits = visits

    if kind == "complete" and responder:
        _plan_maintenance(rng, plan, today=today, esk_dose=esk_dose)
    elif kind == "complete" and rng.random() < 0.4 and days[-1] < today:
        # Extended induction at a higher dose before giving up.
        for extra in range(rng.randint(1, 2)):
            day = days[-1] + dt.timedelta(days=7 * (extra + 1))
            if day < today:
                plan.visits.append(_visit(rng, plan, day, 5, True, esk_dose))

    last_visit = plan.visits[-1].day if plan.visits else first_day
    active = in_progress and plan.ended_on is None
    if active:
        limit = today
    else:
        plan.ended_on = plan.ended_on or last_visit
        weeks = _follow_up_weeks(rng, "graduate" if responder else kind)
        limit = last_visit + dt.timedelta(days=7 * weeks + 1)
    _plan_checkins(rng, plan, today=today, limit=limit)
    return plan


def _plan_maintenance(rng: random.Random, plan: _Plan, *, today: dt.date, esk_dose: float) -> None:
    """Weekly, then monthly (or fortnightly) sessions; boosters after a relapse."""
    esketamine = plan.route == "intranasal_esketamine"
    weekly = 4 if esketamine else 2
    last_induction = plan.visits[-1].day if plan.visits else plan.first_day
    relapse_start: dt.date | None = None
    if rng.random() < _RELAPSE_PROBABILITY:
        relapse_start = last_induction + dt.timedelta(days=rng.randint(14, 180))
        if relapse_start >= today - dt.timedelta(days=3):
            relapse_start = None
    stop_after = rng.randint(3, 8) if rng.random() < _GRADUATE_PROBABILITY else None

    def interval() -> int:
        if esketamine:
            return 7 if rng.random() < 0.4 else 14
        return rng.randint(24, 38)

    count, day = 0, last_induction
    index = len(plan.visits)
    while True:
        gap = 7 + (1 if rng.random() < 0.2 else 0) if count < weekly else interval()
        following = day + dt.timedelta(days=gap)
        if relapse_start is not None and plan.relapse is None and following > relapse_start:
            booster = relapse_start + dt.timedelta(days=rng.randint(12, 20))
            plan.relapse = (relapse_start, booster)
            plan.relapse_depth = rng.uniform(0.0, 0.3)
            for extra in range(rng.randint(1, 3)):
                booster_day = booster + dt.timedelta(days=2 * extra)
                if booster_day < today:
                    plan.visits.append(_visit(rng, plan, booster_day, index, False, esk_dose))
                    index += 1
                    day = booster_day
            if booster >= today:
                return
            count = max(count, weekly)
            continue
        if following >= today:
            return
        plan.visits.append(_visit(rng, plan, following, index, False, esk_dose))
        index += 1
        day = following
        count += 1
        if stop_after is not None and count >= stop_after:
            plan.ended_on = day
            return


def _checkin_minute(rng: random.Random) -> int:
    return 13 * 60 + rng.randint(0, 10 * 60 - 1)  # at home, 13:00-23:00 UTC


def _plan_checkins(rng: random.Random, plan: _Plan, *, today: dt.date, limit: dt.date) -> None:
    first = plan.visits[0] if plan.visits else None
    if first is not None and rng.random() < 0.7:
        # On the first infusion day, in the chair, before the infusion.
        baseline_moment = _at(first.day, first.minute - rng.randint(20, 60))
    else:
        before = rng.randint(1, 7)
        baseline_moment = _at(plan.first_day - dt.timedelta(days=before), _checkin_minute(rng))
    qids = rng.random() < _QIDS_PROBABILITY
    plan.checkins.append(
        _Checkin(
            baseline_moment,
            float(plan.baseline),
            float(plan.anxiety_baseline),
            exact=True,
            qids=qids,
        )
    )
    if first is None:
        return
    missing_rate = rng.betavariate(2, 8)
    week = 1
    while True:
        jitter = int(_choose(rng, ((0, 55), (1, 25), (-1, 10), (2, 10))))
        day = plan.first_day + dt.timedelta(days=7 * week + jitter)
        if day >= today or day > limit:
            return
        if rng.random() >= missing_rate:
            depression, anxiety = plan.expected(day)
            plan.checkins.append(
                _Checkin(
                    _at(day, _checkin_minute(rng)),
                    depression,
                    anxiety,
                    qids=qids and week in (4, 12),
                )
            )
        week += 1


def _plan_waiting_patient(
    rng: random.Random, *, today: dt.date, first_day: dt.date, clinician: int
) -> _Plan:
    """Referred and screened; the first infusion is booked after ``today``."""
    plan = _plan_patient(rng, today=first_day, first_day=first_day, clinician=clinician)
    plan.visits, plan.checkins, plan.ended_on, plan.waiting = [], [], None, True
    screening = today - dt.timedelta(days=rng.randint(1, 7))
    plan.checkins.append(
        _Checkin(
            _at(screening, _checkin_minute(rng)),
            float(plan.baseline),
            float(plan.anxiety_baseline),
            exact=True,
        )
    )
    return plan


# The demo patient's weekly PHQ-9 totals (None: missed week): responds at week 1, after the
# 2nd infusion; remits at week 4; stays well on monthly maintenance.
_DEMO_PHQ9 = (19, 9, 7, 6, 4, 5, 4, None, 3, 4, 6, 5, 4, 3, None, 4, 3, 5, 4, 3, 4)
_DEMO_GAD7 = (14, 8, 7, 6, 4, 5, 4, None, 4, 3, 5, 5, 4, 3, None, 3, 3, 4, 4, 3, 3)


def _plan_demo_patient(rng: random.Random, *, today: dt.date) -> _Plan:
    """The ``demo-patient`` account's course: instructive, and the same every time."""
    last_checkin = today - dt.timedelta(days=6)
    first_day = last_checkin - dt.timedelta(days=7 * (len(_DEMO_PHQ9) - 1))
    plan = _Plan(
        route="iv",
        protocol=_IV_PROTOCOLS[2][0],
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
    days = [*_IV_PROTOCOLS[2][1], 24, 31]  # induction, then weekly twice
    while days[-1] + 28 < (today - first_day).days:
        days.append(days[-1] + 28)  # then every four weeks
    plan.visits = [
        _visit(rng, plan, first_day + dt.timedelta(days=offset), i, False, 56.0)
        for i, offset in enumerate(days)
    ]
    for week, (phq9, gad7) in enumerate(zip(_DEMO_PHQ9, _DEMO_GAD7, strict=True)):
        if phq9 is None or gad7 is None:
            continue
        day = first_day + dt.timedelta(days=7 * week)
        minute = plan.visits[0].minute - 30 if week == 0 else 19 * 60 + rng.randint(0, 90)
        plan.checkins.append(_Checkin(_at(day, minute), float(phq9), float(gad7), exact=True))
    return plan


def _plan_clinic(rng: random.Random, *, patients: int, today: dt.date) -> list[_Plan]:
    window_start = today - dt.timedelta(days=WINDOW_DAYS)
    plans = [_plan_demo_patient(rng, today=today)]
    waiting = round(_WAITING_SHARE * patients)
    for number in range(1, patients):
        clinician = int(_choose(rng, tuple(enumerate(_CLINICIAN_WEIGHTS))))
        if number >= patients - waiting:
            start = today + dt.timedelta(days=rng.randint(1, 10))
            plans.append(
                _plan_waiting_patient(rng, today=today, first_day=start, clinician=clinician)
            )
            continue
        start = window_start + dt.timedelta(days=rng.randint(0, WINDOW_DAYS - 2))
        plans.append(_plan_patient(rng, today=today, first_day=start, clinician=clinician))
    plans.sort(key=lambda plan: plan.first_day)
    for plan in plans:
        if not plan.name:
            plan.name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    _mark_open_alerts(rng, plans, today=today)
    return plans


def _mark_open_alerts(rng: random.Random, plans: list[_Plan], *, today: dt.date) -> None:
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


# --- Item answers -------------------------------------------------------------------------


def _distribute(
    rng: np.random.Generator, totals: IntArray, weights: FloatArray, cap: int
) -> IntArray:
    """Split each row's total into item answers of at most ``cap``, in proportion to weights.

    One unit at a time goes to an item chosen with probability proportional to its weight
    among the items not yet at ``cap`` (a Gumbel-max draw, vectorised over rows).
    """
    rows, items = weights.shape
    answers = np.zeros((rows, items), dtype=np.int64)
    remaining = np.minimum(totals, cap * items).astype(np.int64)
    log_weights = np.log(weights)
    while True:
        need = np.flatnonzero(remaining > 0)
        if not len(need):
            return answers
        keys = log_weights[need] - np.log(-np.log(rng.random((len(need), items))))
        keys[answers[need] >= cap] = -np.inf
        answers[need, keys.argmax(axis=1)] += 1
        remaining[need] -= 1


def _row_weights(
    rng: np.random.Generator, base: Sequence[float], profiles: FloatArray, owners: IntArray
) -> FloatArray:
    """Item weights per row: the patient's profile times a little week-to-week noise."""
    noise = rng.lognormal(0.0, 0.35, size=(len(owners), len(base)))
    weights: FloatArray = np.asarray(base) * profiles[owners] * noise
    return weights


def _targets(
    rng: np.random.Generator,
    expected: FloatArray,
    exact: npt.NDArray[np.bool_],
    sd: float,
    top: int,
) -> IntArray:
    noisy = expected + rng.normal(0.0, sd, size=len(expected))
    chosen = np.where(exact, expected, noisy)
    targets: IntArray = np.clip(np.rint(chosen), 0, top).astype(np.int64)
    return targets


@dataclass(frozen=True)
class _Scored:
    answers: list[dict[str, int]]
    totals: list[int | None]
    severities: list[str | None]
    flags: list[list[str]]
    valid: list[bool]


def _score(instrument: Instrument, answers: list[dict[str, int]]) -> _Scored:
    """Score stored answers exactly as a check-in would (one vectorised pass)."""
    frame = pd.DataFrame(
        {
            key: pd.array([row.get(key) for row in answers], dtype="Int64")
            for key in instrument.item_keys
        }
    )
    result = score_frame(instrument, frame)
    totals = [None if pd.isna(v) else int(v) for v in result["total"]]
    severities = [None if pd.isna(v) else str(v) for v in result["severity"]]
    flag_columns = {name: result[name].to_numpy(dtype=bool) for name in instrument.flag_names}
    prorated = result["prorated"].to_numpy(dtype=bool)
    flags = []
    for row in range(len(answers)):
        raised = {name for name, column in flag_columns.items() if column[row]}
        if prorated[row]:
            raised.add(PRORATED)
        flags.append(sorted(raised))
    return _Scored(
        answers, totals, severities, flags, [bool(v) for v in result["valid"].to_numpy()]
    )


def _phq9_answers(
    rng: np.random.Generator, plans: list[_Plan], rows: list[tuple[int, _Checkin]]
) -> tuple[list[dict[str, int]], IntArray]:
    owners = np.array([owner for owner, _ in rows], dtype=np.int64)
    expected = np.array([checkin.depression for _, checkin in rows])
    exact = np.array([checkin.exact for _, checkin in rows], dtype=bool)
    forced = np.array([checkin.force_item9 for _, checkin in rows], dtype=bool)
    totals = _targets(rng, expected, exact, _PHQ9_NOISE, 27)
    suicidality = np.array([plan.suicidality for plan in plans])[owners]
    chance = suicidality * 0.4 / (1 + np.exp(-(totals - 15) / 2.5))
    draw = rng.random(len(rows))
    item9 = np.where(rng.random(len(rows)) < chance, 1 + (draw < 0.2) + (draw < 0.04), 0)
    item9 = np.where(forced, np.maximum(item9, 1), item9)
    item9 = np.minimum(np.maximum(item9, totals - 24), totals).astype(np.int64)
    profiles = rng.gamma(4.0, 0.25, size=(len(plans), 8))
    rest = _distribute(
        rng, totals - item9, _row_weights(rng, _PHQ9_ITEM_WEIGHTS, profiles, owners), 3
    )
    difficulty = np.clip(np.rint(totals / 7 + rng.normal(0, 0.5, len(rows))), 0, 3)
    answers = [
        {f"phq9_{i + 1}": int(value) for i, value in enumerate(items)}
        | {"phq9_9": int(nine), "phq9_10": int(ten)}
        for items, nine, ten in zip(rest.tolist(), item9.tolist(), difficulty.tolist(), strict=True)
    ]
    return answers, item9


def _gad7_answers(
    rng: np.random.Generator, plans: list[_Plan], rows: list[tuple[int, _Checkin]]
) -> list[dict[str, int]]:
    owners = np.array([owner for owner, _ in rows], dtype=np.int64)
    expected = np.array([checkin.anxiety for _, checkin in rows])
    exact = np.array([checkin.exact for _, checkin in rows], dtype=bool)
    totals = _targets(rng, expected, exact, _GAD7_NOISE, 21)
    profiles = rng.gamma(4.0, 0.25, size=(len(plans), 7))
    items = _distribute(rng, totals, _row_weights(rng, _GAD7_ITEM_WEIGHTS, profiles, owners), 3)
    return [{f"gad7_{i + 1}": int(v) for i, v in enumerate(row)} for row in items.tolist()]


def _qids_answers(
    rng: np.random.Generator,
    plans: list[_Plan],
    rows: list[tuple[int, _Checkin]],
    suicidal: IntArray,
) -> list[dict[str, int]]:
    """QIDS-SR16 answers whose nine domains sum to the target; item 12 mirrors PHQ-9 item 9."""
    owners = np.array([owner for owner, _ in rows], dtype=np.int64)
    expected = np.array([checkin.depression * 0.95 for _, checkin in rows])
    totals = _targets(rng, expected, np.zeros(len(rows), dtype=bool), _QIDS_NOISE, 27)
    suicidal = np.minimum(suicidal, totals)
    profiles = rng.gamma(4.0, 0.25, size=(len(plans), 8))
    domains = _distribute(
        rng, totals - suicidal, _row_weights(rng, _QIDS_DOMAIN_WEIGHTS, profiles, owners), 3
    )
    # Which item carries each max-domain is a trait of the patient (e.g. early waking).
    sleep_item = rng.choice((1, 2, 3), size=len(plans), p=(0.45, 0.35, 0.2))
    appetite_item = rng.choice((6, 7), size=len(plans), p=(0.65, 0.35))
    psychomotor_item = rng.choice((15, 16), size=len(plans))
    lesser = rng.random((len(rows), 4))
    answers = []
    for row, (owner, values) in enumerate(zip(owners.tolist(), domains.tolist(), strict=True)):
        answer: dict[str, int] = {}
        for domain, (items, value) in enumerate(zip(_QIDS_DOMAINS, values, strict=True)):
            if len(items) == 1:
                answer[f"qids_{items[0]}"] = value
            elif domain == 0:
                main = int(sleep_item[owner])
                for position, item in enumerate((1, 2, 3, 4)):
                    other = 0 if item == 4 else int(lesser[row, position] * (value + 1))
                    answer[f"qids_{item}"] = value if item == main else other
            elif domain == 2:
                main = int(appetite_item[owner])
                weight_item = 8 if main == 6 else 9
                answer[f"qids_{main}"] = value
                answer[f"qids_{weight_item}"] = int(lesser[row, 0] * (value + 1))
            else:
                main = int(psychomotor_item[owner])
                answer[f"qids_{main}"] = value
                answer[f"qids_{31 - main}"] = int(lesser[row, 1] * (value + 1))
        answer["qids_12"] = int(suicidal[row])
        answers.append(dict(sorted(answer.items(), key=lambda kv: int(kv[0][5:]))))
    return answers


# --- Infusion-chair measurements ----------------------------------------------------------


def _infusion_row(rng: random.Random, plan: _Plan, visit: _Visit, number: int) -> dict[str, Any]:
    """Vitals before, at 40 minutes and at discharge; dissociation; sedation; side effects."""
    systolic0, diastolic0, heart0 = plan.vitals
    systolic = round(_clip(systolic0 + rng.gauss(0, 7), 92, 190))
    diastolic = round(_clip(diastolic0 + rng.gauss(0, 5), 52, min(115, systolic - 25)))
    heart = round(_clip(heart0 + rng.gauss(0, 6), 48, 120))
    if plan.route == "intranasal_esketamine":
        rise, dissociation = rng.gauss(10, 6), 4.5 + (2.0 if (visit.dose_mg or 0) > 60 else 0.0)
    else:
        per_kg = visit.dose_mg_per_kg or 0.5
        rise = rng.gauss(13 + 16 * (per_kg - 0.5), 6)
        dissociation = 6.0 + 12 * (per_kg - 0.5) + (2.0 if plan.route == "im" else 0.0)
    if number == 0:
        dissociation += 3.0  # dissociation attenuates after the first treatment
    systolic40 = round(_clip(systolic + rise, 95, 215))
    diastolic40 = round(
        _clip(diastolic + 0.55 * rise + rng.gauss(0, 3), 55, min(125, systolic40 - 25))
    )
    heart40 = round(_clip(heart + rng.gauss(4, 5), 48, 130))
    systolic_out = round(_clip(systolic + rng.gauss(3, 5), 92, 195))
    diastolic_out = round(_clip(diastolic + rng.gauss(2, 4), 52, min(118, systolic_out - 25)))
    heart_out = round(_clip(heart + rng.gauss(-1, 5), 48, 120))
    cadss = round(_clip(rng.gauss(dissociation, 3.5), 0, 24))
    heavy = (visit.dose_mg_per_kg or 0.5) >= 0.75 or (visit.dose_mg or 0) > 60
    sedation = int(
        _choose(rng, ((5, 68), (4, 26), (3, 6)) if heavy else ((5, 80), (4, 17), (3, 3)))
    )
    spo2 = int(_choose(rng, ((99, 25), (98, 30), (97, 22), (96, 12), (95, 7), (94, 4))))
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
        "administered_at": _at(visit.day, visit.minute),
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
    }


# --- Database -----------------------------------------------------------------------------


def _count(session: Session, model: Any, clinic_id: int) -> int:
    return int(
        session.scalar(select(func.count()).select_from(model).where(model.clinic_id == clinic_id))
        or 0
    )


def _summary(session: Session, clinic_id: int) -> DemoSummary:
    return DemoSummary(
        clinic_id=clinic_id,
        patients=_count(session, Patient, clinic_id),
        infusions=_count(session, Infusion, clinic_id),
        assessments=_count(session, Assessment, clinic_id),
        alerts=_count(session, SafetyAlert, clinic_id),
    )


def _bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` per table.

    ``render_nulls`` keeps ``None`` values in every row, so that rows with different empty
    columns still share one statement (the ORM would otherwise group them by their keys).
    Ids are read back by natural key afterwards: ``RETURNING`` in parameter order makes
    SQLite insert one row at a time.
    """
    if rows:
        session.execute(insert(model).execution_options(render_nulls=True), rows)


@functools.cache
def _shared_hashes() -> tuple[str, str]:
    """The demo password's hash, and the hash of a random string for every other account.

    argon2 is slow on purpose, so each is computed once (per process) and shared: the demo
    password is public anyway, and nobody knows the random string.
    """
    return hash_password(DEMO_PASSWORD), hash_password(secrets.token_urlsafe(32))


def seed_demo(
    session: Session, *, seed: int = 2026, patients: int = 150, today: dt.date | None = None
) -> DemoSummary:
    """Create the demo clinic: about 18 months of a synthetic ketamine clinic.

    Parameters
    ----------
    session : Session
        The caller's session; this function never commits.
    seed : int, default 2026
        Seeds ``random.Random`` and ``numpy.random.default_rng``: the same seed and ``today``
        give the same clinic, answer for answer.
    patients : int, default 150
        Number of patients, the ``demo-patient`` account's included.
    today : date, optional
        The last day of the clinic's history (records fall on earlier days); today by
        default.

    Returns
    -------
    DemoSummary
        The clinic's id, its row counts and the demo sign-ins. If a demo clinic exists
        already, its summary, and nothing is added.

    Raises
    ------
    ValueError
        If the database holds a clinic that is not a demo (demo accounts with a public
        password must never sit next to real records), or for ``patients < 1`` or a
        ``today`` in the future.

    Notes
    -----
    **Generative model.** All figures are rough approximations of published community-clinic
    and label data, chosen so that the dashboards look plausible; they are not estimates.

    * *Patients and staff.* ``patients`` patients (names from a short list of invented
      names; record numbers ``DEMO-0001`` ...; adult dates of birth) whose first treatment
      falls uniformly in the 18 months before ``today``; about 2% were screened recently and
      wait for their first infusion. Three clinicians (patients assigned 45/30/25%) and one
      administrator. ``demo-patient`` is a fixed, instructive course: PHQ-9 19 at baseline,
      response after the 2nd infusion, remission in week 4, monthly maintenance, a missed
      week now and then, the last check-in six days before ``today`` (the next is due
      tomorrow).
    * *Protocols.* 70% IV racemic ketamine 0.5 mg/kg over 40 minutes, six infusions over two
      or three weeks (three in week one, then two or three a week), then weekly twice and
      about monthly; half of slow or non-responders are titrated to 0.75 and some to
      1.0 mg/kg [1]_. 15% IM ketamine 0.5-0.75 mg/kg on the same schedule. 15% intranasal
      esketamine, 56 mg on day 1 then 56 or 84 mg twice weekly for four weeks, weekly in
      weeks 5-8, then weekly or every two weeks [2]_.
    * *Adherence.* 20% stop after the first infusion, 30% after two to five; the rest complete
      induction (so about half do not complete it). Non-responders who complete it may get
      one or two more infusions at a higher dose; 35% of responders stop maintenance after
      three to eight sessions.
    * *Symptoms.* Each patient has a baseline PHQ-9 (normal, mean 18, SD 4, 10-26), a latent
      maximum improvement (responders: a plateau of 0.5-4 points for remitters, 6.5 to half
      the baseline otherwise; non-responders 0-30% of baseline), and an onset after 1-5
      infusions (mostly the 2nd or 3rd). Improvement reaches 80% of its maximum at onset and
      all of it one infusion later, wears off with a half-life of two months from three
      weeks after the last infusion, and collapses during a relapse (35% of responders in
      maintenance, two weeks to six months after induction) until one to three boosters
      12-20 days later. The chance of responding is 20% for those who stop after one
      infusion, 45% for those who stop during induction and 70% for completers; 35% of
      responders reach a remission plateau (the others may remit on a good week). This
      yields, over patients with a baseline and a follow-up score, about half responding
      and a third remitting (by :func:`outcomes.course.course_outcomes`), close
      to the community figures of 50-54% response and 20-29% remission after induction
      and more with continued treatment [3]_ [4]_. GAD-7 follows the same course with
      60-100% of the depressive improvement.
    * *Check-ins.* A PHQ-9 and a GAD-7 at baseline (70% in the chair before the first
      infusion, otherwise one to seven days before), then weekly from the first infusion
      (a day late now and then) while treated and for some weeks after stopping; each
      patient misses a share of weeks drawn from Beta(2, 8) (20% on average). The weekly
      total is the expected total plus normal noise (SD 1.7 for the PHQ-9), and is then split
      into item answers: PHQ-9 item 9 first (positive with a probability rising with the
      total, mostly in 20% of patients), the rest in proportion to each patient's item
      profile, so totals, severity and flags come from :func:`outcomes.score_frame` and match
      the answers exactly. 12% of patients also fill in a QIDS-SR16 at baseline and in weeks
      4 and 12. Two to four recent check-ins answer item 9 positively and their alerts are
      left open; every other safety alert was acknowledged by the patient's clinician
      within hours, with a note.
    * *Infusion chair.* Blood pressure rises during the infusion and is back near baseline
      at discharge; published rises range from small on average at 0.5 mg/kg [5]_ to
      treatment-emergent readings of 165/100 or more in 44% of community patients [6]_.
      Here systolic pressure rises by about 13 mmHg at 40 minutes at 0.5 mg/kg, more at
      higher doses, and readings of 165/100 or more are recorded as elevated blood
      pressure. SpO2 94-100%, CADSS-6 dissociation 0-24 (higher at higher doses and at the
      first infusion, attenuating afterwards) [6]_, MOAA/S sedation 3-5. Dizziness (22%),
      nausea (14%; more after IM and intranasal dosing) and headache (10%) are common,
      hallucinations and confusion rare. Every infusion passes
      :func:`data.infusions.problems_with`.

    Rows are inserted in bulk, one ``executemany`` per table (``insert(Model)`` with a list
    of rows; ids read back by natural key), so the default clinic takes well under a second
    once the two argon2 hashes are made. One audit event
    ``seed_demo`` (actor ``seed-demo``) records the seeding.

    References
    ----------
    .. [1] Sanacora G, Frye MA, McDonald W, et al. A consensus statement on the use of
       ketamine in the treatment of mood disorders. JAMA Psychiatry. 2017;74(4):399-405.
       doi:10.1001/jamapsychiatry.2017.0080
    .. [2] SPRAVATO (esketamine) nasal spray, prescribing information. Janssen
       Pharmaceuticals (induction twice weekly, 56 mg then 56 or 84 mg; blood pressure
       about 40 minutes after dosing; observation for at least 2 hours).
    .. [3] McInnes LA, Qian JJ, Gargeya RS, DeBattista C, Heifets BD. A retrospective analysis
       of ketamine intravenous therapy for depression in real-world care settings. J Affect
       Disord. 2022;301:486-495. doi:10.1016/j.jad.2021.12.097 (537 patients of community
       practices: 53.6% response and 28.9% remission on the PHQ-9 after induction; about
       80% of responders still responding at 4 weeks and 60% at 8 weeks).
    .. [4] Oliver PA, Snyder AD, Feinn R, Malov S, McDiarmid G, Arias AJ. Clinical
       effectiveness of intravenous racemic ketamine infusions in a large community sample
       of patients with treatment-resistant depression, suicidal ideation, and generalized
       anxiety symptoms. J Clin Psychiatry. 2022;83(6):21m14336. doi:10.4088/JCP.21m14336
       (0.5 mg/kg over 40 minutes, 6 infusions within 21 days: 50% response and 20%
       remission within 6 weeks; 72% and 38% after 10 infusions).
    .. [5] Riva-Posse P, Reiff CM, Edwards JA, et al. Blood pressure safety of subanesthetic
       ketamine for depression: a report on 684 infusions. J Affect Disord.
       2018;236:291-297. doi:10.1016/j.jad.2018.02.025
    .. [6] Rodrigues NB, McIntyre RS, Lipsitz O, et al. Safety and tolerability of IV
       ketamine in adults with major depressive or bipolar disorder: results from the
       Canadian rapid treatment center of excellence. Expert Opin Drug Saf.
       2020;19(8):1031-1040. doi:10.1080/14740338.2020.1776699 (203 patients: blood pressure
       of 165/100 or more in 44.3%; dizziness 45%, nausea 13%; dissociation attenuates after
       the first infusion).
    """
    if isinstance(patients, bool) or not isinstance(patients, int) or patients < 1:
        raise ValueError(f"patients must be a whole number of at least 1, got {patients!r}")
    today = today or dt.date.today()
    if today > utcnow().date() + dt.timedelta(days=1):
        raise ValueError(f"today ({today}) is in the future; the demo clinic has only a past")
    real = session.scalars(select(Clinic.name).where(Clinic.is_demo.is_(False))).all()
    if real:
        raise ValueError(
            "demo accounts exist only in a demo database: this database holds "
            f"{len(real)} real clinic(s). Seed the demo clinic into a new, empty database "
            "(for example a separate SQLite file) instead."
        )
    existing = session.scalar(select(func.min(Clinic.id)).where(Clinic.is_demo.is_(True)))
    if existing is not None:
        return _summary(session, int(existing))

    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    plans = _plan_clinic(rng, patients=patients, today=today)
    opened = _at(today - dt.timedelta(days=WINDOW_DAYS + 30), 15 * 60)

    clinic_id = int(
        session.scalars(
            insert(Clinic).returning(Clinic.id),
            {"name": DEMO_CLINIC_NAME, "is_demo": True, "created_at": opened},
        ).one()
    )
    session.execute(
        insert(ClinicSettings),
        [
            {
                "clinic_id": clinic_id,
                "checkin_instruments": ["phq9", "gad7"],
                "checkin_cadence_days": 7,
                "crisis_text": DEFAULT_CRISIS_TEXT,
                "rule_overrides": {},
            }
        ],
    )

    demo_hash, unusable_hash = _shared_hashes()
    demo_usernames = {sign_in.username for sign_in in DEMO_SIGN_INS}
    account_plan = next(plan for plan in plans if plan.has_account)
    accounts = [
        (username, display_name, role, opened) for username, display_name, role in _STAFF
    ] + [
        (
            "demo-patient",
            account_plan.name,
            "patient",
            _at(account_plan.first_day - dt.timedelta(days=8), 16 * 60),
        )
    ]
    _bulk_insert(
        session,
        User,
        [
            {
                "clinic_id": clinic_id,
                "username": username,
                "display_name": display_name,
                "role": role,
                "password_hash": demo_hash if username in demo_usernames else unusable_hash,
                "failed_logins": 0,
                "active": True,
                "created_at": created,
            }
            for username, display_name, role, created in accounts
        ],
    )
    user_ids = dict(
        session.execute(select(User.username, User.id).where(User.clinic_id == clinic_id)).all()
    )
    clinician_ids = [user_ids[username] for username, _, role in _STAFF if role == "clinician"]
    patient_user_id = user_ids["demo-patient"]

    for number, plan in enumerate(plans, start=1):
        # The demo's patients follow the same rule as everyone's (data.patients).
        problems = patient_problems(external_id=f"DEMO-{number:04d}", name=plan.name)
        if problems:  # pragma: no cover - the generator's own names and numbers pass
            raise ValueError("; ".join(problems))
    _bulk_insert(
        session,
        Patient,
        [
            {
                "clinic_id": clinic_id,
                "external_id": f"DEMO-{number:04d}",
                "name": plan.name,
                "date_of_birth": plan.date_of_birth,
                "assigned_clinician_id": clinician_ids[plan.clinician],
                "user_id": patient_user_id if plan.has_account else None,
                "created_at": min(
                    [checkin.moment for checkin in plan.checkins] + [_at(plan.first_day, 12 * 60)]
                )
                - dt.timedelta(days=rng.randint(1, 14)),
            }
            for number, plan in enumerate(plans, start=1)
        ],
    )
    by_external_id = dict(
        session.execute(
            select(Patient.external_id, Patient.id).where(Patient.clinic_id == clinic_id)
        ).all()
    )
    patient_ids = [by_external_id[f"DEMO-{number:04d}"] for number in range(1, len(plans) + 1)]

    treated = [index for index, plan in enumerate(plans) if plan.visits]
    _bulk_insert(
        session,
        TreatmentCourse,
        [
            {
                "clinic_id": clinic_id,
                "patient_id": patient_ids[index],
                "indication": INDICATION,
                "protocol": plans[index].protocol,
                "started_on": plans[index].visits[0].day,
                "ended_on": plans[index].ended_on,
            }
            for index in treated
        ],
    )
    course_of = dict(
        session.execute(
            select(TreatmentCourse.patient_id, TreatmentCourse.id).where(
                TreatmentCourse.clinic_id == clinic_id
            )
        ).all()
    )

    infusion_rows: list[dict[str, Any]] = []
    for index in treated:
        plan = plans[index]
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
                "course_id": course_of[patient_ids[index]],
                "recorded_by_id": recorder,
                "created_at": row["administered_at"]
                + dt.timedelta(minutes=(visit.duration_minutes or 120) + 30),
            }
            infusion_rows.append(row)
    _bulk_insert(session, Infusion, infusion_rows)

    alerts = _insert_assessments(
        session,
        np_rng,
        plans,
        clinic_id=clinic_id,
        patient_ids=patient_ids,
        patient_user_id=patient_user_id,
    )
    alert_rows = []
    midnight = _at(today, 0)
    for owner, assessment_id, moment, kind, forced in alerts:
        acknowledged_by_id = acknowledged_at = note = None
        if not forced:
            acknowledged_at = moment + dt.timedelta(minutes=rng.randint(30, 18 * 60))
            if acknowledged_at >= midnight:
                acknowledged_at = moment + dt.timedelta(minutes=20)
            acknowledged_by_id = clinician_ids[plans[owner].clinician]
            note = rng.choice(_ALERT_NOTES)
        alert_rows.append(
            NewAlert(
                clinic_id=clinic_id,
                patient_id=patient_ids[owner],
                assessment_id=assessment_id,
                kind=kind,
                created_at=moment,
                acknowledged_by_id=acknowledged_by_id,
                acknowledged_at=acknowledged_at,
                note=note,
            )
        )
    # Through the one writer of safety alerts, as a real clinic's are.
    write_alerts(session, alert_rows)

    audit.record(
        session, actor=Actor.system(clinic_id, DEMO_ACTOR_NAME), action=audit.Action.SEED_DEMO
    )
    session.flush()
    return DemoSummary(
        clinic_id=clinic_id,
        patients=len(plans),
        infusions=len(infusion_rows),
        assessments=_assessment_count(plans),
        alerts=len(alert_rows),
    )


def _assessment_count(plans: list[_Plan]) -> int:
    return sum(2 * len(plan.checkins) + sum(c.qids for c in plan.checkins) for plan in plans)


def _insert_assessments(
    session: Session,
    rng: np.random.Generator,
    plans: list[_Plan],
    *,
    clinic_id: int,
    patient_ids: list[int],
    patient_user_id: int,
) -> list[tuple[int, int, dt.datetime, str, bool]]:
    """Insert every questionnaire; returns the safety alerts to create.

    Each alert is ``(plan index, assessment id, time, kind, left open)``.
    """
    rows = [(owner, checkin) for owner, plan in enumerate(plans) for checkin in plan.checkins]
    phq9, gad7, qids = (get_instrument(i) for i in ("phq9", "gad7", "qids_sr16"))
    phq9_answers, item9 = _phq9_answers(rng, plans, rows)
    gad7_answers = _gad7_answers(rng, plans, rows)
    qids_positions = [position for position, (_, checkin) in enumerate(rows) if checkin.qids]
    qids_answers = _qids_answers(
        rng,
        plans,
        [rows[position] for position in qids_positions],
        item9[qids_positions] if qids_positions else np.zeros(0, dtype=np.int64),
    )
    batches = (
        (phq9, _score(phq9, phq9_answers), list(range(len(rows))), 0),
        (gad7, _score(gad7, gad7_answers), list(range(len(rows))), 1),
        (qids, _score(qids, qids_answers), qids_positions, 3),
    )
    records: list[dict[str, Any]] = []
    meta: list[tuple[int, dt.datetime, tuple[str, ...], bool]] = []
    for instrument, scored, positions, minutes_later in batches:
        for row, position in enumerate(positions):
            owner, checkin = rows[position]
            moment = checkin.moment + dt.timedelta(minutes=minutes_later)
            records.append(
                {
                    "clinic_id": clinic_id,
                    "patient_id": patient_ids[owner],
                    "instrument": instrument.id,
                    "administered_at": moment,
                    "source": "patient",
                    "answers": scored.answers[row],
                    "total": scored.totals[row],
                    "severity": scored.severities[row],
                    "flags": scored.flags[row],
                    "valid": scored.valid[row],
                    "scoring_version": SCORING_VERSION,
                    "idempotency_key": None,
                    "entered_by_id": patient_user_id if plans[owner].has_account else None,
                    "created_at": moment,
                }
            )
            kinds = safety_alert_kinds(instrument, tuple(scored.flags[row]))
            meta.append((owner, moment, kinds, checkin.force_item9 and instrument is phq9))
    _bulk_insert(session, Assessment, records)
    wanted = [(record, facts) for record, facts in zip(records, meta, strict=True) if facts[2]]
    if not wanted:
        return []
    # The assessments that raise an alert, found again by patient, instrument and time.
    stored = session.execute(
        select(
            Assessment.patient_id,
            Assessment.instrument,
            Assessment.administered_at,
            Assessment.id,
        ).where(
            Assessment.clinic_id == clinic_id,
            Assessment.patient_id.in_({record["patient_id"] for record, _ in wanted}),
        )
    ).all()
    ids = {(patient, instrument, moment): id_ for patient, instrument, moment, id_ in stored}
    return [
        (owner, ids[record["patient_id"], record["instrument"], moment], moment, kind, open_)
        for record, (owner, moment, kinds, open_) in wanted
        for kind in kinds
    ]
