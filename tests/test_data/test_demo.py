"""The demo clinic: synthetic, deterministic, consistent with the scoring rules, realistic.

Every test runs on SQLite and PostgreSQL. Most seed 40 patients for speed; the outcome
proportions are measured on the default 150. ``TODAY`` is fixed so that the proportions do
not move with the calendar.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

import pandas as pd
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from data.clinic import SCORING_VERSION
from data.demo import DEMO_CLINIC_NAME, DEMO_PASSWORD, DemoSummary, seed_demo
from data.infusions import InfusionInput, problems_with
from data.models import (
    ROUTES,
    Assessment,
    AuditEvent,
    Clinic,
    ClinicSettings,
    Infusion,
    Patient,
    SafetyAlert,
    TreatmentCourse,
    User,
)
from data.patients import phone_problem
from data.records.patient_record import INFUSION_COLUMNS
from outcomes import get_instrument, score
from outcomes.course import course_outcomes
from outcomes.instruments.safety import safety_alert_kinds
from outcomes.worklist import next_checkin_due

TODAY = dt.date(2025, 11, 3)
SMALL = 40


def _count(session: Session, model: Any, clinic_id: int) -> int:
    query = select(func.count()).select_from(model).where(model.clinic_id == clinic_id)
    return int(session.scalar(query) or 0)


def _frames(session: Session, clinic_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    assessments = pd.DataFrame(
        session.execute(
            select(
                Assessment.patient_id,
                Assessment.instrument,
                Assessment.administered_at,
                Assessment.total,
            ).where(Assessment.clinic_id == clinic_id)
        ).all(),
        columns=["patient_id", "instrument", "administered_at", "total"],
    )
    infusions = pd.DataFrame(
        session.execute(
            select(Infusion.patient_id, Infusion.administered_at).where(
                Infusion.clinic_id == clinic_id
            )
        ).all(),
        columns=["patient_id", "administered_at"],
    )
    return assessments, infusions


def test_the_default_clinic_looks_like_a_community_ketamine_clinic(session: Session) -> None:
    """Proportions by ``course_outcomes`` over the stored rows, in generous bands.

    Published community-clinic figures (approximate): about half respond and a quarter to a
    third remit on the PHQ-9 (McInnes et al. 2022, J Affect Disord 301:486, 53.6% / 28.9%;
    Oliver et al. 2022, J Clin Psychiatry 83(6):21m14336, 50% / 20% within six weeks).
    """
    summary = seed_demo(session, today=TODAY)
    assert summary.patients == 150
    assert _count(session, Patient, summary.clinic_id) == 150
    assert _count(session, Infusion, summary.clinic_id) == summary.infusions
    assert _count(session, Assessment, summary.clinic_id) == summary.assessments
    assert _count(session, SafetyAlert, summary.clinic_id) == summary.alerts

    assessments, infusions = _frames(session, summary.clinic_id)
    assert infusions["administered_at"].min().date() >= TODAY - dt.timedelta(days=548)
    assert infusions["administered_at"].max().date() < TODAY
    courses = course_outcomes("phq9", assessments, infusions)
    treated = courses[courses["infusions"] > 0]
    followed = treated[treated["followup_days"].notna()]  # a baseline and a later score
    assert len(followed) >= 100

    response = followed["response_date"].notna().mean()
    remission = followed["remission_date"].notna().mean()
    stopped_after_first = (treated["infusions"] == 1).mean()
    not_completing = (~treated["completed_induction"]).mean()
    assert 0.35 <= response <= 0.65
    assert 0.20 <= remission <= 0.45
    assert remission < response
    assert 0.10 <= stopped_after_first <= 0.30
    assert 0.35 <= not_completing <= 0.65
    # Some relapse, most of them coming back for boosters; onset is mostly early.
    relapsed = followed[followed["relapse_date"].notna()]
    assert len(relapsed) >= 3
    last_infusion = infusions.groupby("patient_id")["administered_at"].max().dt.date
    boosted = last_infusion[relapsed.index] > relapsed["relapse_date"]
    assert boosted.mean() >= 0.5
    onset = followed["infusions_to_response"].dropna()
    assert onset.median() <= 4 and (onset <= 3).mean() >= 0.25
    # Weekly check-ins with missed weeks; a few QIDS-SR16 besides PHQ-9 and GAD-7.
    counts = assessments["instrument"].value_counts()
    assert counts["phq9"] == counts["gad7"]
    assert 0 < counts.get("qids_sr16", 0) < counts["phq9"] / 10


def _digest(engine: Engine, *, seed: int) -> str:
    """Everything patient-facing the generator made, independent of database ids."""
    connection = engine.connect()
    outer = connection.begin()
    try:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            seed_demo(session, seed=seed, patients=SMALL, today=TODAY)
            assessments = session.execute(
                select(
                    Patient.external_id,
                    Assessment.instrument,
                    Assessment.administered_at,
                    Assessment.answers,
                    Assessment.total,
                    Assessment.severity,
                    Assessment.flags,
                )
                .join(Patient, Patient.id == Assessment.patient_id)
                .order_by(Patient.external_id, Assessment.administered_at, Assessment.instrument)
            ).all()
            infusions = session.execute(
                select(Patient.external_id, *(getattr(Infusion, c) for c in INFUSION_COLUMNS[2:]))
                .join(Patient, Patient.id == Infusion.patient_id)
                .order_by(Patient.external_id, Infusion.administered_at)
            ).all()
    finally:
        outer.rollback()
        connection.close()
    text = json.dumps([list(r) for r in [*assessments, *infusions]], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_same_seed_gives_the_same_clinic(engine: Engine) -> None:
    first = _digest(engine, seed=7)
    assert _digest(engine, seed=7) == first
    assert _digest(engine, seed=8) != first


def test_every_stored_assessment_rescores_identically(session: Session) -> None:
    summary = seed_demo(session, patients=SMALL, today=TODAY)
    stored = session.scalars(
        select(Assessment).where(Assessment.clinic_id == summary.clinic_id)
    ).all()
    assert len(stored) == summary.assessments
    for assessment in stored:
        result = score(assessment.instrument, assessment.answers)
        assert result.valid and assessment.valid
        assert (assessment.total, assessment.severity, tuple(assessment.flags)) == (
            result.total,
            result.severity,
            result.flags,
        )
        assert assessment.scoring_version == SCORING_VERSION
        assert assessment.administered_at.tzinfo is not None
        if assessment.instrument in ("phq9", "gad7"):
            items = get_instrument(assessment.instrument).scored_item_keys
            assert sum(assessment.answers[key] for key in items) == assessment.total


def test_every_infusion_is_plausible(session: Session) -> None:
    summary = seed_demo(session, patients=SMALL, today=TODAY)
    rows = session.scalars(select(Infusion).where(Infusion.clinic_id == summary.clinic_id)).all()
    assert len(rows) == summary.infusions > SMALL
    courses = {
        course.id: course
        for course in session.scalars(
            select(TreatmentCourse).where(TreatmentCourse.clinic_id == summary.clinic_id)
        )
    }
    for row in rows:
        infusion = InfusionInput(
            **{name: getattr(row, name) for name in INFUSION_COLUMNS[2:] if name != "side_effects"},
            side_effects=tuple(row.side_effects),
        )
        assert problems_with(infusion) == []
        assert row.administered_at.utcoffset() == dt.timedelta(0)
        assert row.route in ROUTES
        assert row.spo2_min is not None and 94 <= row.spo2_min <= 100
        assert row.sedation_moaas is not None and 3 <= row.sedation_moaas <= 5
        assert row.course_id is not None
        assert courses[row.course_id].patient_id == row.patient_id
        assert courses[row.course_id].indication == "treatment-resistant depression"
        if row.route == "iv":
            assert row.dose_mg_per_kg in (0.5, 0.75, 1.0) and row.duration_minutes == 40
        if row.route == "intranasal_esketamine":
            assert row.dose_mg in (56.0, 84.0) and row.dose_mg_per_kg is None
    before = sum(r.systolic_before or 0 for r in rows) / len(rows)
    at_40_minutes = sum(r.systolic_40min or 0 for r in rows) / len(rows)
    assert 8 <= at_40_minutes - before <= 22


def test_the_clinic_is_labelled_synthetic_with_default_settings(session: Session) -> None:
    summary = seed_demo(session, patients=SMALL, today=TODAY)
    clinic = session.get(Clinic, summary.clinic_id)
    assert clinic is not None and clinic.is_demo and clinic.name == DEMO_CLINIC_NAME
    assert "synthetic" in clinic.name
    settings = session.get(ClinicSettings, summary.clinic_id)
    assert settings is not None
    assert (settings.checkin_instruments, settings.checkin_cadence_days) == (["phq9", "gad7"], 7)
    patients = session.scalars(select(Patient).where(Patient.clinic_id == clinic.id)).all()
    assert all(p.external_id.startswith("DEMO-") for p in patients)
    for patient in patients:
        assert patient.date_of_birth is not None
        assert 18 <= (TODAY - patient.date_of_birth).days / 365.25 <= 90
        # Known to the clinic within its synthetic history, like everything else.
        assert patient.created_at.date() < TODAY
    roles = session.scalars(select(User.role).where(User.clinic_id == clinic.id)).all()
    assert sorted(roles).count("clinician") in (2, 3) and roles.count("administrator") == 1
    # Each patient registered through the one writer of patients, as a real clinic's are
    # (issue #10), then the seeding itself; all by the seeder, none by a person.
    events = session.execute(
        select(AuditEvent.action, AuditEvent.actor_name, AuditEvent.actor_id, AuditEvent.patient_id)
        .where(AuditEvent.clinic_id == clinic.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(e) for e in events] == [
        *(
            ("create_patient", "seed-demo", None, p.id)
            for p in sorted(patients, key=lambda p: p.id)
        ),
        ("seed_demo", "seed-demo", None, None),
    ]


def test_demo_accounts_sign_in_with_the_password_demo(session: Session) -> None:
    # Default ``today``: the demo patient's next check-in is due tomorrow, whatever the date.
    summary = seed_demo(session, patients=SMALL)
    assert {s.username for s in summary.sign_ins} == {
        "demo-patient",
        "demo-clinician",
        "demo-admin",
    }
    assert {s.password for s in summary.sign_ins} == {DEMO_PASSWORD}
    users = {u.username: u for u in session.scalars(select(User))}
    demo = [users["demo-patient"], users["demo-clinician"], users["demo-admin"]]
    assert [u.role for u in demo] == ["patient", "clinician", "administrator"]
    assert len({u.password_hash for u in demo}) == 1
    others = [
        u
        for name, u in users.items()
        if name not in ("demo-patient", "demo-clinician", "demo-admin")
    ]
    assert others and all(u.password_hash != demo[0].password_hash for u in others)
    assert PasswordHasher().verify(demo[0].password_hash, "demo")

    patient = session.scalar(select(Patient).where(Patient.user_id == users["demo-patient"].id))
    assert patient is not None
    assessments, infusions = _frames(session, summary.clinic_id)
    mine = assessments[assessments["patient_id"] == patient.id]
    course = course_outcomes("phq9", mine, infusions[infusions["patient_id"] == patient.id])
    outcome = course.loc[patient.id]
    assert outcome["infusions_to_response"] in (2, 3)
    assert outcome["completed_induction"] and outcome["infusions"] > 6
    assert outcome["status"] in ("responding", "in_remission")
    today = dt.date.today()
    assert outcome["latest_date"] == today - dt.timedelta(days=6)
    first_infusion = course.at[patient.id, "first_infusion_date"]
    last_checkin = course.at[patient.id, "latest_date"]
    assert isinstance(first_infusion, dt.date) and isinstance(last_checkin, dt.date)
    due = next_checkin_due(first_infusion=first_infusion, last_checkin=last_checkin, today=today)
    assert due == today + dt.timedelta(days=1)
    latest_infusion = infusions[infusions["patient_id"] == patient.id]["administered_at"].max()
    assert (today - latest_infusion.date()).days <= 35  # monthly maintenance
    treatment = session.scalar(
        select(TreatmentCourse).where(TreatmentCourse.patient_id == patient.id)
    )
    assert treatment is not None and treatment.ended_on is None


def test_safety_alerts_match_the_answers_and_a_few_recent_ones_are_open(
    session: Session,
) -> None:
    summary = seed_demo(session, patients=SMALL, today=TODAY)
    alerts = session.scalars(
        select(SafetyAlert).where(SafetyAlert.clinic_id == summary.clinic_id)
    ).all()
    by_assessment: dict[int, list[str]] = {}
    for alert in alerts:
        by_assessment.setdefault(alert.assessment_id, []).append(alert.kind)
    for assessment in session.scalars(
        select(Assessment).where(Assessment.clinic_id == summary.clinic_id)
    ):
        expected = safety_alert_kinds(
            get_instrument(assessment.instrument), tuple(assessment.flags)
        )
        assert tuple(by_assessment.get(assessment.id, [])) == expected

    open_alerts = [alert for alert in alerts if alert.acknowledged_at is None]
    assert 2 <= len(open_alerts) <= 4
    for alert in open_alerts:
        answered = session.get(Assessment, alert.assessment_id)
        assert answered is not None and alert.kind == "phq9_item9_positive"
        assert answered.answers["phq9_9"] >= 1
        assert TODAY - dt.timedelta(days=14) <= alert.created_at.date() < TODAY
    clinicians = set(session.scalars(select(User.id).where(User.role == "clinician")).all())
    for alert in alerts:
        if alert.acknowledged_at is not None:
            assert alert.note and alert.acknowledged_by_id in clinicians
            assert (
                alert.created_at
                < alert.acknowledged_at
                < dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
            )


def test_most_demo_patients_have_a_fictional_phone_and_some_none(session: Session) -> None:
    """Issue 11: the huddle's worklist shows phones. Every demo number is in the 555-0100 to
    555-0199 range reserved for fiction, and follows the clinic's phone rule."""
    summary = seed_demo(session, patients=SMALL, today=TODAY)
    phones = session.scalars(
        select(Patient.phone).where(Patient.clinic_id == summary.clinic_id)
    ).all()
    recorded = [phone for phone in phones if phone is not None]
    assert SMALL // 2 < len(recorded) < SMALL
    assert all(re.fullmatch(r"\(\d{3}\) 555-01\d{2}", phone) for phone in recorded)
    assert all(phone_problem(phone) is None for phone in recorded)


def test_a_second_call_returns_the_demo_clinic_and_adds_nothing(session: Session) -> None:
    first = seed_demo(session, patients=SMALL, today=TODAY)
    rows = {model: _count(session, model, first.clinic_id) for model in (Patient, Assessment)}
    second = seed_demo(session, seed=99, patients=SMALL + 5, today=TODAY)
    assert second == first
    assert isinstance(second, DemoSummary)
    assert {model: _count(session, model, first.clinic_id) for model in rows} == rows
    assert session.scalar(select(func.count()).select_from(Clinic)) == 1


def test_a_database_with_a_real_clinic_is_refused(session: Session) -> None:
    session.add(Clinic(name="A real clinic"))
    session.flush()
    with pytest.raises(ValueError, match="demo accounts exist only in a demo database"):
        seed_demo(session, patients=SMALL, today=TODAY)
    assert session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"patients": 0}, "at least 1"),
        ({"today": dt.date.today() + dt.timedelta(days=5)}, "in the future"),
    ],
)
def test_impossible_arguments_are_refused(
    session: Session, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        seed_demo(session, **arguments)  # type: ignore[arg-type]
