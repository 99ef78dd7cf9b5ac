"""A clinician's rating is stored at the time it was done, never at a time still to come."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.models import Assessment
from tests.conftest import World

MADRS = {f"madrs_{i}": 2 for i in range(1, 10)} | {"madrs_10": 0}


def test_a_rating_is_stored_at_the_time_the_clinician_entered(
    session: Session, world: World
) -> None:
    done_at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=2)
    stored = submit_checkin(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id,
        instrument="madrs",
        answers=MADRS,
        administered_at=done_at,
    )
    row = session.get(Assessment, stored.assessment_id)
    assert row is not None
    assert (row.administered_at, row.source, row.total) == (done_at, "clinician", 18)


def test_a_rating_dated_in_the_future_is_refused_and_nothing_stored(
    session: Session, world: World
) -> None:
    with pytest.raises(InvalidInput, match="in the future"):
        submit_checkin(
            session,
            actor=world.clinician_a,
            patient_id=world.patient_a1.patient_id,
            instrument="madrs",
            answers=MADRS,
            administered_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
    assert session.scalar(select(func.count()).select_from(Assessment)) == 0
