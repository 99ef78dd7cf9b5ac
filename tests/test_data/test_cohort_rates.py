"""The outcomes page's aggregate reads count only the latest of a correction chain (issue 12,
course-and-reporting §3), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.infusions import InfusionInput, record_infusion
from data.models import Assessment, utcnow
from data.records.cohort import cohort_assessments, weekly_aggregates
from tests.conftest import World


def _answers(level: int) -> dict[str, int]:
    return {f"phq9_{i}": level for i in range(1, 9)} | {"phq9_9": 0}


def test_a_corrected_score_counts_nowhere_in_the_aggregates(session: Session, world: World) -> None:
    now = utcnow()
    patient = world.patient_a1
    pid = patient.patient_id or 0
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=pid,
        infusion=InfusionInput(
            administered_at=now - dt.timedelta(days=10), route="iv", dose_mg=35.0
        ),
    )
    submit_checkin(
        session,
        actor=world.clinician_a,  # entered by staff: not held to the patient's windows
        patient_id=pid,
        instrument="phq9",
        answers=_answers(3),
        administered_at=now - dt.timedelta(days=11),
    )
    first = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=pid,
        instrument="phq9",
        answers=_answers(2),
        administered_at=now - dt.timedelta(days=3),
    )
    submit_checkin(
        session,
        actor=world.clinician_a,  # entered by staff: not held to the patient's windows
        patient_id=pid,
        instrument="phq9",
        answers=_answers(1),
        administered_at=now - dt.timedelta(days=2),
    )
    # The 16 on day 7 (week 1) was corrected to 8 the next day (week 2). The correction writer
    # is the check-in's; the chain is stated here directly: the corrected row is superseded.
    superseded = session.scalars(
        select(Assessment.id).where(Assessment.patient_id == pid, Assessment.total == 16)
    ).one()
    assert first.assessment_id == superseded
    session.execute(update(Assessment).where(Assessment.id == superseded).values(superseded_at=now))
    scores = cohort_assessments(session, actor=world.clinician_a, instrument="phq9")
    assert sorted(scores["total"].tolist()) == [8, 24]
    weekly = weekly_aggregates(session, actor=world.clinician_a, instrument="phq9")
    assert dict(zip(weekly["week"], weekly["mean"], strict=True)) == {0: 24.0, 2: 8.0}


def test_rates_from_pseudonymised_reads_equal_the_care_teams(
    session: Session, world: World
) -> None:
    """The administrator's reads carry pseudonyms in place of patient ids: both
    denominators, the missing count and the weekly completeness come out the same."""
    from data.records.cohort import cohort_infusions
    from outcomes.completeness import weekly_completeness
    from outcomes.course import course_outcomes
    from outcomes.timepoints import response_rates

    now = utcnow()
    for patient, follow_up in ((world.patient_a1, 1), (world.patient_a2, None)):
        pid = patient.patient_id or 0
        for offset in (40, 38, 36, 33, 31, 29):
            record_infusion(
                session,
                actor=world.clinician_a,
                patient_id=pid,
                infusion=InfusionInput(
                    administered_at=now - dt.timedelta(days=offset), route="iv", dose_mg=35.0
                ),
            )
        levels = [(41, 2)] + ([(12, follow_up)] if follow_up is not None else [])
        for offset, level in levels:
            submit_checkin(
                session,
                actor=patient,
                patient_id=pid,
                instrument="phq9",
                answers=_answers(level),
                administered_at=now - dt.timedelta(days=offset),
            )
    results = []
    for actor in (world.clinician_a, world.admin_a):
        scores = cohort_assessments(session, actor=actor, instrument="phq9")
        given = cohort_infusions(session, actor=actor)
        courses = course_outcomes("phq9", scores, given)
        rates = response_rates("phq9", scores, given, courses=courses, today=now.date())
        weekly = weekly_completeness(courses, scores, today=now.date(), weeks=6)
        results.append((rates, weekly))
    (staff_rates, staff_weekly), (admin_rates, admin_weekly) = results
    pd.testing.assert_frame_equal(staff_rates, admin_rates)
    pd.testing.assert_frame_equal(staff_weekly, admin_weekly)
    week4 = staff_rates.set_index("timepoint").loc["week_4"]
    # Day 28 (+/- 7): one of the two was seen (8 of baseline 16, a response); both started
    assert (week4["assessed"], week4["responders"]) == (1, 1)
    assert (week4["started"], week4["started_missing"], week4["started_responders"]) == (2, 1, 1)
