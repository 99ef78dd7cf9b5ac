"""Measurement schedules and planned infusions in the records (issue 14, spec §4)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.audit import Action, stored_action
from data.checkin import submit_checkin
from data.errors import InvalidInput
from data.infusions import record_infusion
from data.models import AuditEvent, PatientState, TreatmentCourse, utcnow
from data.notify.models import PlannedInfusion
from data.schedule import (
    cancel_planned_infusion,
    due_checkins,
    patient_schedule,
    plan_infusion,
    protocol_schedules,
    save_schedule,
)
from outcomes.schedule import DEFAULT_SCHEDULE, schedule_json
from tests.conftest import World
from tests.test_data.test_infusions import GOOD

ZEROS = {f"phq9_{i}": 0 for i in range(1, 10)}
GAD_ZEROS = {f"gad7_{i}": 0 for i in range(1, 8)}


def _audits(session: Session, action: Action) -> int:
    query = select(func.count()).where(AuditEvent.action == stored_action(action))
    return int(session.scalar(query.select_from(AuditEvent)) or 0)


def _next_due(session: Session, patient_id: int) -> dt.date | None:
    return session.scalar(
        select(PatientState.next_due).where(PatientState.patient_id == patient_id)
    )


def _checkin(
    session: Session, world: World, *, days_ago: int = 0, instrument: str = "phq9"
) -> None:
    me = world.patient_a1
    submit_checkin(
        session,
        actor=me,
        patient_id=me.patient_id or 0,
        instrument=instrument,
        answers=ZEROS if instrument == "phq9" else GAD_ZEROS,
        administered_at=utcnow() - dt.timedelta(days=days_ago),
    )


def test_a_schedule_is_checked_saved_and_audited(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        save_schedule(
            session,
            actor=world.admin_a,
            protocol="standard",
            induction_infusions=0,
            points=[{"kind": "maintenance", "instruments": ["phq9"], "every_days": 3}],
        )
    assert list(refused.value.problems) == [
        "induction infusions must be a whole number from 1 to 20",
        "point 1 (maintenance): every_days must be a whole number from 7 to 365",
    ]
    saved = save_schedule(
        session,
        actor=world.admin_a,
        protocol="standard",
        induction_infusions=4,
        points=schedule_json(DEFAULT_SCHEDULE),
    )
    assert saved.induction_infusions == 4
    listed = protocol_schedules(session, actor=world.admin_a)
    assert listed.stored == {"standard": saved}
    assert "standard" in listed.protocols
    assert _audits(session, Action.SAVE_SCHEDULE) == 1


def test_a_booking_moves_next_due_and_its_cancellation_moves_it_back(
    session: Session, world: World
) -> None:
    patient = world.patient_a1.patient_id or 0
    _checkin(session, world, days_ago=30)
    assert _next_due(session, patient) is None  # no infusion given or booked: nothing due
    when = utcnow() + dt.timedelta(days=10)
    booking = plan_infusion(session, actor=world.clinician_a, patient_id=patient, planned_at=when)
    due = _next_due(session, patient)
    assert due is not None and abs((due - when.date()).days) <= 1  # the baseline, on the day
    with pytest.raises(InvalidInput, match="already planned"):
        plan_infusion(
            session,
            actor=world.clinician_a,
            patient_id=patient,
            planned_at=when + dt.timedelta(minutes=5),
        )
    with pytest.raises(InvalidInput, match="in the future"):
        plan_infusion(
            session,
            actor=world.clinician_a,
            patient_id=patient,
            planned_at=utcnow() - dt.timedelta(days=1),
        )
    assert cancel_planned_infusion(
        session, actor=world.clinician_a, patient_id=patient, planned_id=booking
    )
    assert not cancel_planned_infusion(
        session, actor=world.clinician_a, patient_id=patient, planned_id=booking
    )
    assert _next_due(session, patient) is None
    assert (
        _audits(session, Action.PLAN_INFUSION),
        _audits(session, Action.CANCEL_PLANNED_INFUSION),
    ) == (1, 1)


def test_recording_the_infusion_fulfils_the_booking_of_its_day(
    session: Session, world: World
) -> None:
    patient = world.patient_a1.patient_id or 0
    soon = utcnow() + dt.timedelta(hours=1)
    booking = plan_infusion(session, actor=world.clinician_a, patient_id=patient, planned_at=soon)
    given = record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=patient,
        infusion=replace(GOOD, administered_at=utcnow() - dt.timedelta(minutes=1)),
    )
    row = session.get(PlannedInfusion, booking)
    assert row is not None
    session.refresh(row)
    assert row.infusion_id == given
    shown = patient_schedule(
        session, actor=world.clinician_a, patient_id=patient, today=dt.date.today()
    )
    assert shown.planned == ()


def test_the_check_in_writer_follows_the_schedule(session: Session, world: World) -> None:
    patient = world.patient_a1.patient_id or 0
    today = utcnow().date()

    def opens(days: int) -> str:
        return f"opens on {today + dt.timedelta(days=days):%A %d %B}"

    # No infusion given or booked: the weekly cadence from the first check-in meanwhile.
    _checkin(session, world, days_ago=7)
    _checkin(session, world)
    with pytest.raises(InvalidInput, match=opens(6)):
        _checkin(session, world)
    # A booking in three days starts the schedule: today is in its baseline window (done),
    # and the next is the weekly point a week after that infusion, no longer the cadence's.
    plan_infusion(
        session,
        actor=world.clinician_a,
        patient_id=patient,
        planned_at=utcnow() + dt.timedelta(days=3),
    )
    with pytest.raises(InvalidInput, match=opens(9)):
        _checkin(session, world)


def test_a_protocol_schedule_applies_to_its_patients(session: Session, world: World) -> None:
    patient = world.patient_a1.patient_id or 0
    session.add(
        TreatmentCourse(
            clinic_id=world.clinic_a,
            patient_id=patient,
            indication="TRD",
            protocol="fast",
            started_on=dt.date.today(),
        )
    )
    save_schedule(
        session,
        actor=world.admin_a,
        protocol="fast",
        induction_infusions=2,
        points=[{"kind": "baseline", "instruments": ["phq9"], "days_before": 3}],
    )
    plan_infusion(
        session,
        actor=world.clinician_a,
        patient_id=patient,
        planned_at=utcnow() + dt.timedelta(days=5),
    )
    mine = patient_schedule(
        session, actor=world.patient_a1, patient_id=patient, today=dt.date.today()
    )
    assert [(w.kind, w.instruments) for w in mine.windows] == [("baseline", ("phq9",))]
    assert mine.windows[0].days.opens == mine.windows[0].days.due - dt.timedelta(days=3)
    other = patient_schedule(
        session,
        actor=world.clinician_a,
        patient_id=world.patient_a2.patient_id or 0,
        today=dt.date.today(),
    )
    assert other.windows == ()


def test_due_checkins_lists_open_windows_until_each_questionnaire_is_done(
    session: Session, world: World
) -> None:
    patient = world.patient_a1.patient_id or 0
    plan_infusion(
        session,
        actor=world.clinician_a,
        patient_id=patient,
        planned_at=utcnow() + dt.timedelta(days=2),
    )
    due = due_checkins(session, actor=world.system_a, at=utcnow())
    assert [(d.patient_id, d.window.kind, d.missing) for d in due] == [
        (patient, "baseline", ("phq9", "gad7"))
    ]
    _checkin(session, world)
    due = due_checkins(session, actor=world.system_a, at=utcnow())
    assert [(d.patient_id, d.missing) for d in due] == [(patient, ("gad7",))]
    _checkin(session, world, instrument="gad7")
    assert due_checkins(session, actor=world.system_a, at=utcnow()) == []
    # Other clinics' patients are never listed.
    assert due_checkins(session, actor=world.clinician_b, at=utcnow()) == []
    # Read once an hour for the audit trail, however often the worker asks.
    assert _audits(session, Action.VIEW_DUE_CHECKINS) == 2  # clinic A's worker, clinician B


def test_the_clinic_default_applies_to_a_patient_without_a_course(
    session: Session, world: World
) -> None:
    """A patient with no treatment course (or of a protocol without a schedule) follows the
    clinic's own default (the ``""`` row), not the spec's."""
    patient = world.patient_a1.patient_id or 0
    save_schedule(
        session,
        actor=world.admin_a,
        protocol="",
        induction_infusions=1,
        points=[{"kind": "maintenance", "instruments": ["phq9"], "every_days": 7}],
    )
    record_infusion(
        session,
        actor=world.clinician_a,
        patient_id=patient,
        infusion=replace(GOOD, administered_at=utcnow() - dt.timedelta(days=70)),
    )
    mine = patient_schedule(
        session, actor=world.clinician_a, patient_id=patient, today=dt.date.today()
    )
    kinds = {w.kind for w in mine.windows}
    assert kinds == {"maintenance"}
    dues = [w.days.due for w in mine.windows]
    assert all((later - earlier).days == 7 for earlier, later in itertools.pairwise(dues))
    # Weekly forms are one per window: the writer follows the clinic's default too.
    for weeks in (2, 1, 0):
        _checkin(session, world, days_ago=7 * weeks)
