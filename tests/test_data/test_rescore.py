"""Rescoring: a changed rule or scoring version is applied to stored answers, which stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.clinic import SCORING_VERSION
from data.errors import AccessDenied
from data.models import Assessment, AuditEvent, ClinicSettings
from data.rescore import rescore
from tests.conftest import World
from tests.test_data.builders import _count


def _set_rules(session: Session, clinic_id: int, overrides: dict[str, Any]) -> None:
    settings = session.get(ClinicSettings, clinic_id)
    if settings is None:
        session.add(ClinicSettings(clinic_id=clinic_id, rule_overrides=overrides))
    else:
        settings.rule_overrides = overrides
    session.flush()


def test_rescore_applies_a_changed_rule_and_keeps_the_answers(
    session: Session, world: World
) -> None:
    """PHQ-9 max_missing 2 -> 1: a record prorated over two missing items is no longer
    allowed. It is kept, marked invalid without total or severity; its answers stay."""
    me = world.patient_a1
    prorated = {f"phq9_{i}": 2 for i in range(1, 8)}
    stored = submit_checkin(
        session, actor=me, patient_id=me.patient_id or 0, instrument="phq9", answers=prorated
    )
    submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument="phq9",
        answers={f"phq9_{i}": 1 for i in range(1, 10)},
        # A week earlier: one check-in per window (spec section 3, issue 12).
        administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=7),
    )
    assessment = session.get(Assessment, stored.assessment_id)
    assert assessment is not None and (assessment.total, assessment.valid) == (18, True)

    _set_rules(session, world.clinic_a, {"phq9": {"max_missing": 1}})
    summary = rescore(session, actor=world.system_a)
    assert (summary.examined, summary.changed, summary.now_invalid) == (2, 1, 1)
    assert summary.changed_by_instrument == {"phq9": 1}
    session.refresh(assessment)
    assert (assessment.valid, assessment.total, assessment.severity) == (False, None, None)
    assert assessment.flags == [] and assessment.answers == prorated

    _set_rules(session, world.clinic_a, {})
    back = rescore(session, actor=world.admin_a)
    assert (back.changed, back.now_valid) == (1, 1)
    session.refresh(assessment)
    assert (assessment.valid, assessment.total, assessment.flags) == (True, 18, ["prorated"])
    assert _count(session, AuditEvent, action="rescore") == 2


def test_rescore_restamps_an_old_scoring_version_and_needs_an_administrator(
    session: Session, world: World
) -> None:
    me = world.patient_a1
    result = submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument="phq9",
        answers={f"phq9_{i}": 1 for i in range(1, 10)},
    )
    session.execute(
        text("UPDATE assessment SET scoring_version = 'outcomes-0.0.1' WHERE id = :id"),
        {"id": result.assessment_id},
    )
    with pytest.raises(AccessDenied):
        rescore(session, actor=world.clinician_a)
    summary = rescore(session, actor=world.system_a)
    assert (summary.changed, summary.restamped) == (0, 1)
    assert session.scalar(select(Assessment.scoring_version)) == SCORING_VERSION
