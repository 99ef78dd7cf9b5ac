"""The clinic's patient lists carry what tells patients of one name apart (MRN, birth date)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.orm import Session

from data.models import Patient
from data.records.patient_lists import clinic_patients, find_patients
from tests.conftest import World

CASEYS = (
    ("00123", dt.date(1980, 2, 3)),
    ("00456", dt.date(1991, 7, 8)),
    ("00789", None),
)


def _add_caseys(session: Session, world: World) -> None:
    session.add_all(
        Patient(
            clinic_id=world.clinic_a,
            external_id=mrn,
            name="Casey Example",
            date_of_birth=born,
        )
        for mrn, born in CASEYS
    )
    session.flush()


def _identities(frame: pd.DataFrame) -> set[tuple[str, str, dt.date | None]]:
    caseys = frame[frame["name"] == "Casey Example"]
    return {
        (row.name, row.external_id, None if pd.isna(row.date_of_birth) else row.date_of_birth)
        for row in caseys.itertuples(index=False)
    }


def test_the_worklist_roster_tells_three_caseys_apart(session: Session, world: World) -> None:
    _add_caseys(session, world)
    roster = clinic_patients(session, actor=world.clinician_a)
    assert _identities(roster) == {("Casey Example", mrn, born) for mrn, born in CASEYS}


def test_the_search_tells_three_caseys_apart(session: Session, world: World) -> None:
    _add_caseys(session, world)
    found = find_patients(session, actor=world.clinician_a, query="casey")
    assert len(found) == 3
    assert _identities(found) == {("Casey Example", mrn, born) for mrn, born in CASEYS}


def test_the_roster_of_some_patients_is_theirs_only_and_never_another_clinics(
    session: Session, world: World
) -> None:
    """The worklist names only the rows it shows (issue 13); an id of another clinic is not
    a way into it."""
    wanted = [world.patient_a2.patient_id or 0, world.patient_b1.patient_id or 0]
    roster = clinic_patients(session, actor=world.clinician_a, patient_ids=wanted)
    assert list(roster["patient_id"]) == [world.patient_a2.patient_id]
    assert clinic_patients(session, actor=world.clinician_a, patient_ids=[]).empty
