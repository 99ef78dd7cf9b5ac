"""The outcomes page's aggregate reads count only the latest of a correction chain (issue 12,
course-and-reporting §3), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

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
        actor=patient,
        patient_id=pid,
        instrument="phq9",
        answers=_answers(3),
        administered_at=now - dt.timedelta(days=11),
    )
    first = submit_checkin(
        session,
        actor=patient,
        patient_id=pid,
        instrument="phq9",
        answers=_answers(2),
        administered_at=now - dt.timedelta(days=3),
    )
    submit_checkin(
        session,
        actor=patient,
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
