"""A clinician's rating with items explicitly "not rated" is kept as what it is: an invalid
record (no total), with its safety alert; any other fault still refuses it (issue 11)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.models import Assessment, SafetyAlert
from tests.conftest import World

RATED_BUT_ITEM_3 = {f"madrs_{i}": 2 for i in range(1, 10) if i != 3} | {"madrs_10": 4}


def _count(session: Session, model: type[Assessment] | type[SafetyAlert]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_rating_with_an_item_not_rated_is_stored_invalid_with_its_alert(
    session: Session, world: World
) -> None:
    stored = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        instrument="madrs",
        answers=RATED_BUT_ITEM_3,
        keep_incomplete=True,
    )
    row = session.get(Assessment, stored.assessment_id)
    assert row is not None
    assert (row.valid, row.total, row.severity) == (False, None, None)
    assert "madrs_3" not in row.answers and row.answers["madrs_10"] == 4
    assert not stored.score.valid and "madrs_item10_positive" in stored.score.flags
    alerts = session.scalars(
        select(SafetyAlert.kind).where(SafetyAlert.assessment_id == stored.assessment_id)
    ).all()
    assert alerts == ["madrs_item10_positive"]


@pytest.mark.parametrize(
    "answers",
    [
        RATED_BUT_ITEM_3 | {"madrs_1": 9},  # out of range: not a "not rated" record
        {},  # nothing rated at all
    ],
    ids=["out-of-range", "nothing-rated"],
)
def test_other_faults_are_still_refused_and_nothing_is_stored(
    session: Session, world: World, answers: dict[str, int]
) -> None:
    before = (_count(session, Assessment), _count(session, SafetyAlert))
    with pytest.raises(InvalidInput):
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            instrument="madrs",
            answers=answers,
            keep_incomplete=True,
        )
    assert (_count(session, Assessment), _count(session, SafetyAlert)) == before


def test_without_asking_an_incomplete_record_is_refused(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id or 0,
            instrument="madrs",
            answers=RATED_BUT_ITEM_3,
        )
    assert "madrs_item10_positive" in refused.value.flags
