"""Seeding the demo clinic: :func:`seed_demo` writes the plans of :mod:`data.demo.cohort`.

It plans every patient first (:mod:`data.demo.cohort`, :mod:`data.demo.courses`), then
writes the clinic, its accounts (:mod:`data.demo.staff`), patients, treatment courses,
infusions (:mod:`data.demo.infusions`), questionnaires (:mod:`data.demo.answers`), safety
alerts and one audit event, in that order: each draw from the seeded generators happens in
the same order every time, so the same seed and ``today`` give the same clinic.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.clinic import DEFAULT_CRISIS_TEXT
from data.course_state import build_clinic
from data.demo.answers import scored_checkins
from data.demo.cohort import WINDOW_DAYS, plan_clinic
from data.demo.follow_up import followed_up_alerts
from data.demo.infusions import infusion_rows
from data.demo.messages import demo_email, write_messages
from data.demo.plan import Plan, at
from data.demo.staff import DEMO_SIGN_INS, DemoAccounts, DemoSignIn, write_accounts
from data.demo.write import bulk_insert, insert_assessments
from data.models import (
    Assessment,
    Clinic,
    ClinicSettings,
    Infusion,
    Patient,
    SafetyAlert,
    TreatmentCourse,
    utcnow,
)
from data.records.alerts import write_alerts
from data.records.infusions import write_infusions
from data.records.patients import NewPatient, register_patients

DEMO_CLINIC_NAME = "Demo Clinic (synthetic data)"
DEMO_ACTOR_NAME = "seed-demo"
INDICATION = "treatment-resistant depression"


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

    Patients are registered by :func:`data.records.patients.register_patients` and safety
    alerts written by :func:`data.records.alerts.write_alerts`, the writers of a real
    clinic's records; the other rows are inserted in bulk, one ``executemany`` per table
    (ids read back by natural key), so the default clinic takes well under a second once
    the two argon2 hashes are made. The audit trail holds one ``create_patient`` event per
    patient and one ``seed_demo`` event, all by the actor ``seed-demo``.

    .. versionchanged:: issue 10
       Patients go through the one writer of patients, which adds their
       ``create_patient`` audit events (before, the seeding was the only event).

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
    plans = plan_clinic(rng, patients=patients, today=today)
    opened = at(today - dt.timedelta(days=WINDOW_DAYS + 30), 15 * 60)
    clinic_id = _open_clinic(session, opened=opened)
    accounts = write_accounts(
        session,
        clinic_id=clinic_id,
        opened=opened,
        account_plan=next(plan for plan in plans if plan.has_account),
    )
    write_messages(session, clinic_id=clinic_id, today=today)
    clinician_ids = accounts.clinician_ids
    actor = Actor.system(clinic_id, DEMO_ACTOR_NAME)
    patient_ids = _write_patients(session, rng, plans, actor=actor, accounts=accounts)
    course_ids = _write_courses(session, plans, clinic_id=clinic_id, patient_ids=patient_ids)
    infusions = infusion_rows(
        rng,
        plans,
        clinic_id=clinic_id,
        patient_ids=patient_ids,
        course_ids=course_ids,
        clinician_ids=clinician_ids,
    )
    write_infusions(session, infusions)
    raised = insert_assessments(
        session,
        clinic_id=clinic_id,
        scored=scored_checkins(np_rng, plans),
        patient_ids=patient_ids,
        entered_by_ids=[accounts.patient_user_id if p.has_account else None for p in plans],
    )
    alerts = followed_up_alerts(
        rng,
        raised,
        plans,
        clinic_id=clinic_id,
        patient_ids=patient_ids,
        clinician_ids=clinician_ids,
        today=today,
    )
    # Through the one writer of safety alerts, as a real clinic's are.
    write_alerts(session, alerts)
    audit.record(session, actor=actor, action=audit.Action.SEED_DEMO)
    # The records went in through the bulk writers, which keep no course state: one build
    # of the whole clinic at the end, as a real clinic's import refreshes its patients.
    build_clinic(session, clinic_id=clinic_id)
    session.flush()
    return DemoSummary(
        clinic_id=clinic_id,
        patients=len(plans),
        infusions=len(infusions),
        assessments=_assessment_count(plans),
        alerts=len(alerts),
    )


DEMO_TIME_ZONE = "America/New_York"
"""The demo clinic's time zone (its crisis text is the US 988 line)."""


def _open_clinic(session: Session, *, opened: dt.datetime) -> int:
    """The demo clinic and its settings (the defaults: weekly PHQ-9 and GAD-7); its id."""
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
                # Its infusions are booked 14:00-20:30 UTC: a US east-coast clinic's day.
                "time_zone": DEMO_TIME_ZONE,
            }
        ],
    )
    return clinic_id


# Area codes for the demo's numbers; 555-0100 to 555-0199 is reserved for fiction in each.
_DEMO_AREA_CODES = ("212", "312", "415", "617", "720")


def demo_phone(number: int) -> str | None:
    """The demo patient ``DEMO-<number>``'s fictional contact phone, or None for every
    seventh patient (a clinic does not know every number).

    Numbers are in the 555-0100 to 555-0199 range reserved for fiction, so no real person is
    called from the demo. Derived from the number alone, not from the seeder's random
    generator, so the rest of the demo clinic stays as it was.
    """
    if number % 7 == 0:
        return None
    area = _DEMO_AREA_CODES[(number // 100) % len(_DEMO_AREA_CODES)]
    return f"({area}) 555-01{number % 100:02d}"


def _write_patients(
    session: Session,
    rng: random.Random,
    plans: list[Plan],
    *,
    actor: Actor,
    accounts: DemoAccounts,
) -> list[int]:
    """Register one patient per plan, ``DEMO-0001`` onwards; their ids in the plans' order.

    Through the one writer of patients, as the app's and the importers' are: the same rule
    for ids and names, and one ``create_patient`` audit event each. A patient was first
    known one to fourteen days before their first check-in or treatment. Most have a
    fictional contact phone (:func:`demo_phone`).
    """
    patients = [
        NewPatient(
            external_id=f"DEMO-{number:04d}",
            name=plan.name,
            date_of_birth=plan.date_of_birth,
            assigned_clinician_id=accounts.clinician_ids[plan.clinician],
            user_id=accounts.patient_user_id if plan.has_account else None,
            phone=demo_phone(number),
            email=demo_email(number),
            created_at=min(
                [checkin.moment for checkin in plan.checkins] + [at(plan.first_day, 12 * 60)]
            )
            - dt.timedelta(days=rng.randint(1, 14)),
        )
        for number, plan in enumerate(plans, start=1)
    ]
    ids = register_patients(session, actor=actor, patients=patients)
    return [ids[patient.external_id] for patient in patients]


def _write_courses(
    session: Session, plans: list[Plan], *, clinic_id: int, patient_ids: list[int]
) -> dict[int, int]:
    """One treatment course per treated patient; course ids by patient id."""
    treated = [index for index, plan in enumerate(plans) if plan.visits]
    bulk_insert(
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
    return dict(
        session.execute(
            select(TreatmentCourse.patient_id, TreatmentCourse.id).where(
                TreatmentCourse.clinic_id == clinic_id
            )
        ).all()
    )


def _assessment_count(plans: list[Plan]) -> int:
    return sum(2 * len(plan.checkins) + sum(c.qids for c in plan.checkins) for plan in plans)


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
