"""One synthetic patient's course: protocol, adherence, response, maintenance, check-ins.

Each function draws from the caller's ``random.Random`` in a fixed order, so that the same
seed gives the same clinic; the figures are rough approximations of published
community-clinic and label data (see :func:`data.demo.seed_demo`), not estimates.
"""

from __future__ import annotations

import datetime as dt
import random

from data.demo.plan import Checkin, Plan, Visit, at, choose, clip

# --- Protocols --------------------------------------------------------------------------

IV_PROTOCOLS: tuple[tuple[str, tuple[int, ...]], ...] = (
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
_QIDS_PROBABILITY = 0.12


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


def plan_visit(
    rng: random.Random, plan: Plan, day: dt.date, index: int, escalate: bool, esk_dose: float
) -> Visit:
    """The ``index``-th infusion of ``plan`` on ``day``: its time, dose and duration.

    Esketamine is 56 mg first, then ``esk_dose``; ketamine 0.5 mg/kg or, when ``escalate``,
    0.75 mg/kg from the fourth infusion and sometimes 1.0 from the sixth (IM at most 0.75).
    """
    minute = 14 * 60 + 15 * rng.randint(0, 26)  # 14:00-20:30 UTC, in 15-minute slots
    if plan.route == "intranasal_esketamine":
        dose = 56.0 if index == 0 else esk_dose
        return Visit(day, minute, None, dose, None)
    per_kg = _iv_dose(rng, index, escalate)
    if plan.route == "im":
        per_kg = min(per_kg, 0.75)
    dose_mg = round(per_kg * plan.weight_kg, 1)
    duration = 40 if plan.route == "iv" else None
    return Visit(day, minute, per_kg, dose_mg, duration)


def _follow_up_weeks(rng: random.Random, kind: str) -> int:
    if kind == "first_only":
        return int(choose(rng, ((0, 30), (1, 30), (2, 25), (3, 15))))
    if kind == "partial":
        return rng.randint(1, 5)
    return rng.randint(2, 8)


def plan_patient(rng: random.Random, *, today: dt.date, first_day: dt.date, clinician: int) -> Plan:
    """One patient whose first treatment is on ``first_day``: route and protocol, adherence,
    response, induction (and maintenance or an extended induction), then check-ins."""
    route = str(choose(rng, _ROUTE_WEIGHTS))
    if route == "iv":
        protocol, offsets = rng.choice(IV_PROTOCOLS)
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
    baseline = int(clip(round(rng.gauss(18, 4)), 10, 26))
    if responder:
        if rng.random() < _REMITTER_PROBABILITY or baseline < 14:
            plateau = rng.uniform(0.5, 4.0)
        else:
            plateau = rng.uniform(6.5, min(baseline / 2 - 0.5, 10.0))
        improvement_max = 1 - plateau / baseline
    else:
        improvement_max = rng.uniform(0.0, 0.3)
    plan = Plan(
        route=route,
        protocol=protocol,
        first_day=first_day,
        weight_kg=round(clip(rng.gauss(80, 16), 50, 130), 1),
        date_of_birth=_birth_date(rng, first_day),
        clinician=clinician,
        baseline=baseline,
        anxiety_baseline=int(clip(round(0.55 * baseline + rng.gauss(3, 3)), 2, 21)),
        improvement_max=improvement_max,
        anxiety_improvement_max=clip(improvement_max * rng.uniform(0.6, 1.0), 0.0, 0.95),
        onset=int(choose(rng, _ONSET_WEIGHTS)),
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
        plan_visit(rng, plan, day, i, escalate, esk_dose)
        for i, day in enumerate(days)
        if day < today
    ]
    plan.visits = visits

    if kind == "complete" and responder:
        _plan_maintenance(rng, plan, today=today, esk_dose=esk_dose)
    elif kind == "complete" and rng.random() < 0.4 and days[-1] < today:
        # Extended induction at a higher dose before giving up.
        for extra in range(rng.randint(1, 2)):
            day = days[-1] + dt.timedelta(days=7 * (extra + 1))
            if day < today:
                plan.visits.append(plan_visit(rng, plan, day, 5, True, esk_dose))

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


def _plan_maintenance(rng: random.Random, plan: Plan, *, today: dt.date, esk_dose: float) -> None:
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
                    plan.visits.append(plan_visit(rng, plan, booster_day, index, False, esk_dose))
                    index += 1
                    day = booster_day
            if booster >= today:
                return
            count = max(count, weekly)
            continue
        if following >= today:
            return
        plan.visits.append(plan_visit(rng, plan, following, index, False, esk_dose))
        index += 1
        day = following
        count += 1
        if stop_after is not None and count >= stop_after:
            plan.ended_on = day
            return


def _checkin_minute(rng: random.Random) -> int:
    return 13 * 60 + rng.randint(0, 10 * 60 - 1)  # at home, 13:00-23:00 UTC


def _plan_checkins(rng: random.Random, plan: Plan, *, today: dt.date, limit: dt.date) -> None:
    first = plan.visits[0] if plan.visits else None
    if first is not None and rng.random() < 0.7:
        # On the first infusion day, in the chair, before the infusion.
        baseline_moment = at(first.day, first.minute - rng.randint(20, 60))
    else:
        before = rng.randint(1, 7)
        baseline_moment = at(plan.first_day - dt.timedelta(days=before), _checkin_minute(rng))
    qids = rng.random() < _QIDS_PROBABILITY
    plan.checkins.append(
        Checkin(
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
        jitter = int(choose(rng, ((0, 55), (1, 25), (-1, 10), (2, 10))))
        day = plan.first_day + dt.timedelta(days=7 * week + jitter)
        if day >= today or day > limit:
            return
        if rng.random() >= missing_rate:
            depression, anxiety = plan.expected(day)
            plan.checkins.append(
                Checkin(
                    at(day, _checkin_minute(rng)),
                    depression,
                    anxiety,
                    qids=qids and week in (4, 12),
                )
            )
        week += 1


def plan_waiting_patient(
    rng: random.Random, *, today: dt.date, first_day: dt.date, clinician: int
) -> Plan:
    """Referred and screened; the first infusion is booked after ``today``."""
    plan = plan_patient(rng, today=first_day, first_day=first_day, clinician=clinician)
    plan.visits, plan.checkins, plan.ended_on, plan.waiting = [], [], None, True
    screening = today - dt.timedelta(days=rng.randint(1, 7))
    plan.checkins.append(
        Checkin(
            at(screening, _checkin_minute(rng)),
            float(plan.baseline),
            float(plan.anxiety_baseline),
            exact=True,
        )
    )
    return plan
