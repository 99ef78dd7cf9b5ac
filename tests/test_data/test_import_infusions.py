"""CSV import of infusions: measurements, times and plausibility, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.interchange.csv_assessments import import_assessments_csv
from data.interchange.csv_infusions import import_infusions_csv
from data.models import AuditEvent, Infusion
from tests.conftest import World
from tests.test_data.builders import NOW, PHQ9_HEADER, _count, _csv, _mrn, _stored

INFUSION_HEADER = (
    "patient_id,administered_at,route,dose_mg_per_kg,duration_minutes,systolic_before,"
    "diastolic_before,heart_rate_before,spo2_min,side_effects,side_effects_note"
)


def test_infusions_import_with_their_measurements(session: Session, world: World) -> None:
    a1 = _mrn(world, world.patient_a1)
    result = import_infusions_csv(
        session,
        actor=world.system_a,
        source=_csv(
            INFUSION_HEADER,
            f"{a1},2025-01-06T15:00Z,IV,0.5,40,128,82,76,96,nausea; Dizziness,felt floaty",
            f"{a1},2025-01-08T15:00Z,iv,0.5,40,,,,,,",
        ),
        now=NOW,
    )
    assert (result.imported, result.patients) == (2, 1)
    first = session.scalars(select(Infusion).order_by(Infusion.administered_at)).first()
    assert first is not None
    assert (first.route, first.dose_mg_per_kg, first.duration_minutes, first.systolic_before) == (
        "iv",
        0.5,
        40,
        128,
    )
    assert first.side_effects == ["nausea", "dizziness"]
    assert first.side_effects_note == "felt floaty"
    assert _count(session, AuditEvent, action="import_infusions") == 1


def test_a_time_without_a_zone_is_utc_whatever_row_comes_before_it(
    session: Session, world: World
) -> None:
    """pandas gave naive times and dates the offset of a zoned time earlier in the file."""
    a1, a2 = _mrn(world, world.patient_a1), _mrn(world, world.patient_a2)
    import_assessments_csv(
        session,
        actor=world.system_a,
        source=_csv(
            PHQ9_HEADER,
            f"{a2},phq9,2025-01-07T09:00:00-05:00,1,1,1,1,1,1,1,1,0,",
            f"{a1},phq9,2025-01-13T10:30,1,1,1,1,1,1,1,1,0,",
            f"{a1},phq9,2025-01-20,1,1,1,1,1,1,1,1,0,",
            f"{a2},phq9,2025-01-21T08:00+01:00,1,1,1,1,1,1,1,1,0,",
        ),
        now=NOW,
    )
    assert [a.administered_at for a in _stored(session, world.clinic_a)] == [
        dt.datetime(2025, 1, 7, 14, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 13, 10, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 20, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 21, 7, 0, tzinfo=dt.UTC),
    ]
    import_infusions_csv(
        session,
        actor=world.system_a,
        source=_csv(
            INFUSION_HEADER,
            f"{a1},2025-02-03T15:00-05:00,iv,0.5,40,,,,,,",
            f"{a1},2025-02-05T15:00,iv,0.5,40,,,,,,",
        ),
        now=NOW,
    )
    times = session.scalars(select(Infusion.administered_at).order_by(Infusion.administered_at))
    assert list(times) == [
        dt.datetime(2025, 2, 3, 20, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 2, 5, 15, 0, tzinfo=dt.UTC),
    ]


def test_implausible_infusions_are_refused_with_every_reason(
    session: Session, world: World
) -> None:
    a1 = _mrn(world, world.patient_a1)
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(
            session,
            actor=world.system_a,
            source=_csv(
                INFUSION_HEADER,
                f"{a1},2025-01-06T15:00Z,iv,0.5,40,128,82,76,96,,",  # row 2: fine
                f"{a1},2025-01-07T15:00Z,iv,5,40,12,82,76,96,,",  # row 3: mg/kg typo, BP digit
                f"{a1},2025-01-08T15:00Z,iv,0.5,forty,128,82,76,96,hiccups,",  # row 4
                f"{a1},2025-01-09T15:00Z,iv drip,0.5,40,128,82,76,96,,",  # row 5: route
                f"{a1},2025-01-06T15:00Z,iv,0.5,40,128,82,76,96,,",  # row 6: repeats row 2
            ),
            now=NOW,
        )
    reasons = dict(p.split(": ", 1) for p in refused.value.problems)
    assert list(reasons) == ["row 3", "row 4", "row 5", "row 6"]
    assert "dose per kg is outside the plausible range 0.05–2 mg/kg" in reasons["row 3"]
    assert "systolic pressure before is outside the plausible range" in reasons["row 3"]
    assert "duration_minutes (duration) is not a number" in reasons["row 4"]
    assert "side_effects names 1 unknown side effect(s)" in reasons["row 4"]
    assert "route is not one of" in reasons["row 5"]
    # The refusal names columns, not what the file holds (issue 9, item 10).
    for echoed in ("of 5 ", "of 12 ", "forty", "hiccups", "iv drip"):
        assert not [p for p in refused.value.problems if echoed in p], echoed
    assert "repeats row 2" in reasons["row 6"]
    assert _count(session, Infusion) == 0


def test_an_infusion_entered_in_error_is_not_brought_back_by_importing_it_again(
    session: Session, world: World
) -> None:
    """docs/records.md: the marked row is already stored; the file's copy is skipped."""
    from data.infusions import mark_infusion_entered_in_error

    a1 = _mrn(world, world.patient_a1)
    source = (INFUSION_HEADER, f"{a1},2025-01-06T15:00Z,iv,0.5,40,,,,,,")
    import_infusions_csv(session, actor=world.system_a, source=_csv(*source), now=NOW)
    stored = session.scalars(select(Infusion)).one()
    mark_infusion_entered_in_error(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a1.patient_id or 0,
        infusion_id=stored.id,
        reason="another patient's chart",
    )
    again = import_infusions_csv(session, actor=world.system_a, source=_csv(*source), now=NOW)
    assert again.imported == 0
    rows = session.scalars(select(Infusion)).all()
    assert len(rows) == 1 and rows[0].entered_in_error_at is not None
