"""What the check-in page offers to correct is what the writer accepts (issue 13).

The page walked correction chains itself and judged "the patient's" check-in by its source,
while the writer judged by who entered it: a check-in the care team entered as the patient's
answers was offered for correction and then refused. Both now ask one data function,
:func:`data.checkin.correctable_checkins`, built on the writer's own rule.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from data.access import Actor
from data.checkin import correctable_checkins, submit_checkin
from data.errors import AccessDenied, InvalidInput
from data.models import Assessment
from tests.conftest import World

MILD = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
ZEROS = {f"phq9_{i}": 0 for i in range(1, 10)}


def _store(
    session: Session, actor: Actor, patient: Actor, *, corrects: int | None = None, **extra: object
) -> int:
    return submit_checkin(
        session,
        actor=actor,
        patient_id=patient.patient_id or 0,
        instrument="phq9",
        answers=ZEROS if corrects else MILD,
        corrects=corrects,
        **extra,  # type: ignore[arg-type]
    ).assessment_id


def _writer_accepts(session: Session, patient: Actor, assessment_id: int) -> bool:
    """Whether the writer stores a correction of ``assessment_id`` now (then undone)."""
    attempt = session.begin_nested()
    try:
        _store(session, patient, patient, corrects=assessment_id)
    except (InvalidInput, AccessDenied):
        return False
    finally:
        attempt.rollback()
    return True


def _offered(session: Session, actor: Actor, patient: Actor) -> dict[str, int]:
    return correctable_checkins(session, actor=actor, patient_id=patient.patient_id or 0)


def _agree(session: Session, patient: Actor, candidates: list[int]) -> dict[str, int]:
    """What the page offers, checked against the writer for every candidate."""
    offered = _offered(session, patient, patient)
    for assessment_id in candidates:
        assert (assessment_id in offered.values()) == _writer_accepts(
            session, patient, assessment_id
        ), assessment_id
    return offered


def test_page_and_writer_agree_along_a_correction_chain(session: Session, world: World) -> None:
    me = world.patient_a1
    assert _offered(session, me, me) == {}
    first = _store(session, me, me)
    assert _agree(session, me, [first]) == {"phq9": first}
    second = _store(session, me, me, corrects=first)
    # Only the latest of the chain; the first is superseded.
    assert _agree(session, me, [first, second]) == {"phq9": second}
    # The time is counted from the chain's first answers, not from the correction.
    session.execute(
        update(Assessment)
        .where(Assessment.id == first)
        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
    )
    session.expire_all()
    assert _agree(session, me, [first, second]) == {}


def test_a_check_in_the_care_team_entered_is_not_offered(session: Session, world: World) -> None:
    """Entered by the clinician as the patient's own answers (source "patient"): the writer
    refuses a correction by the patient, so the page does not offer one."""
    me = world.patient_a1
    entered = _store(session, world.clinician_a, me, source="patient")
    assert _agree(session, me, [entered]) == {}


def test_the_offer_is_judged_at_the_time_given(session: Session, world: World) -> None:
    me = world.patient_a1
    first = _store(session, me, me)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert correctable_checkins(session, actor=me, patient_id=me.patient_id or 0, now=later) == {}
    assert _offered(session, me, me) == {"phq9": first}


@pytest.mark.parametrize("who", ["clinician_a", "patient_a2"])
def test_nobody_else_is_offered_a_correction(session: Session, world: World, who: str) -> None:
    """Only the patient corrects: their care team is told of nothing to correct; another
    patient may not ask at all."""
    me = world.patient_a1
    _store(session, me, me)
    actor: Actor = getattr(world, who)
    if actor.role == "patient":
        with pytest.raises(AccessDenied):
            _offered(session, actor, me)
    else:
        assert _offered(session, actor, me) == {}
