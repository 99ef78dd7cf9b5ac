"""Measurement schedules and planned infusions (course-and-reporting §4, issue 14).

An administrator edits each protocol's schedule (:func:`save_schedule`; the ``""`` protocol
is the clinic's default); the care team books infusions ahead (:func:`plan_infusion`,
:func:`cancel_planned_infusion`), which move the patient's schedule as recorded ones do. The
patient's windows (:func:`patient_schedule`) feed the check-in page, and
:func:`due_checkins` lists every patient whose window is open at a moment, for reminders.
Each writer refreshes the course state of the patients whose "next due" it moves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_view_patient, ensure_can_write_patient, ensure_role
from data.clinic import clinic_config
from data.course_state import refresh_patients
from data.errors import InvalidInput
from data.models import (
    Assessment,
    Patient,
    TreatmentCourse,
    utcnow,
)
from data.notify.models import MeasurementSchedule, PlannedInfusion
from data.schedule_store import clinic_schedules, forget_clinic_schedules, schedule_inputs
from outcomes.checkin_windows import clinic_date
from outcomes.schedule import (
    MeasurementWindow,
    Schedule,
    ScheduleError,
    measurement_windows,
    parse_schedule,
    schedule_json,
    windows_through,
)

__all__ = [
    "DueCheckin",
    "PatientSchedule",
    "ProtocolSchedules",
    "cancel_planned_infusion",
    "due_checkins",
    "patient_schedule",
    "plan_infusion",
    "protocol_schedules",
    "save_schedule",
]

PROTOCOL_MAX: int = MeasurementSchedule.__table__.c.protocol.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ProtocolSchedules:
    """The clinic's schedules by protocol (``""``: its default) and the protocols in use."""

    stored: dict[str, Schedule]
    protocols: list[str]


def protocol_schedules(session: Session, *, actor: Actor) -> ProtocolSchedules:
    """What the administrator's schedule page edits (no patient data)."""
    ensure_role(session, actor, "administrator", "system")
    in_use = session.scalars(
        select(TreatmentCourse.protocol)
        .where(TreatmentCourse.clinic_id == actor.clinic_id)
        .distinct()
        .order_by(TreatmentCourse.protocol)
    ).all()
    stored = clinic_schedules(session, clinic_id=actor.clinic_id)
    protocols = sorted({p for p in in_use if p} | {p for p in stored if p})
    return ProtocolSchedules(stored=stored, protocols=protocols)


def save_schedule(
    session: Session,
    *,
    actor: Actor,
    protocol: str,
    induction_infusions: object,
    points: object,
) -> Schedule:
    """Store ``protocol``'s schedule (``""``: the clinic's default), checked first.

    Every patient it applies to gets their "next due" recomputed in this transaction.

    Raises
    ------
    InvalidInput
        The schedule's problems (:func:`outcomes.schedule.parse_schedule`), or a protocol
        name too long.
    """
    ensure_role(session, actor, "administrator", "system")
    protocol = protocol.strip()
    if len(protocol) > PROTOCOL_MAX:
        raise InvalidInput([f"a protocol name has at most {PROTOCOL_MAX} characters"])
    try:
        schedule = parse_schedule(points, induction_infusions=induction_infusions)
    except ScheduleError as error:
        raise InvalidInput(str(error).split("; ")) from error
    row = session.scalar(
        select(MeasurementSchedule).where(
            MeasurementSchedule.clinic_id == actor.clinic_id,
            MeasurementSchedule.protocol == protocol,
        )
    )
    if row is None:
        row = MeasurementSchedule(clinic_id=actor.clinic_id, protocol=protocol)
        session.add(row)
    row.induction_infusions = schedule.induction_infusions
    row.points = schedule_json(schedule)
    row.updated_at = utcnow()
    row.updated_by_id = actor.user_id
    session.flush()
    forget_clinic_schedules(session)
    audit.record(
        session,
        actor=actor,
        action=audit.Action.SAVE_SCHEDULE,
        subject=f"protocol {protocol}" if protocol else "the clinic's default",
    )
    # The patients whose schedule this is: a clinic-wide refresh for the default (rare, an
    # administrator's change; the vectorised path).
    patients = select(Patient.id).where(Patient.clinic_id == actor.clinic_id)
    if protocol:
        patients = patients.where(
            Patient.id.in_(
                select(TreatmentCourse.patient_id).where(
                    TreatmentCourse.clinic_id == actor.clinic_id,
                    TreatmentCourse.protocol == protocol,
                )
            )
        )
    refresh_patients(
        session, clinic_id=actor.clinic_id, patient_ids=session.scalars(patients).all()
    )
    return schedule


def plan_infusion(
    session: Session, *, actor: Actor, patient_id: int, planned_at: dt.datetime
) -> int:
    """Book an infusion ahead for a patient of the clinic; the booking's id.

    Raises
    ------
    InvalidInput
        A time without a time zone, in the past, or on a day already booked.
    """
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    if planned_at.tzinfo is None:
        raise InvalidInput(["a planned infusion's time needs a time zone"])
    if planned_at < utcnow():
        raise InvalidInput(
            ["a planned infusion must be in the future; record an infusion that was given"]
        )
    zone = clinic_config(session, actor.clinic_id).time_zone
    day = clinic_date(planned_at, zone)
    booked = session.scalars(
        select(PlannedInfusion.planned_at).where(
            PlannedInfusion.patient_id == patient_id,
            PlannedInfusion.infusion_id.is_(None),
            PlannedInfusion.cancelled_at.is_(None),
        )
    ).all()
    if any(clinic_date(at, zone) == day for at in booked):
        raise InvalidInput([f"an infusion is already planned on {day:%A %d %B %Y}"])
    planned = PlannedInfusion(
        clinic_id=actor.clinic_id,
        patient_id=patient_id,
        planned_at=planned_at.astimezone(dt.UTC),
        created_by_id=actor.user_id,
    )
    session.add(planned)
    session.flush()
    audit.record(session, actor=actor, action=audit.Action.PLAN_INFUSION, patient_id=patient_id)
    # A booking moves the schedule (a check-in is due before it): next due moves.
    refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=(patient_id,))
    return int(planned.id)


def cancel_planned_infusion(
    session: Session, *, actor: Actor, patient_id: int, planned_id: int
) -> bool:
    """Cancel one of the patient's open bookings (kept, with the time it was cancelled).

    False when there is no such open booking (given, cancelled already, or another
    patient's): nothing changes, as for a second click on "Cancel".
    """
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    done = session.execute(
        update(PlannedInfusion)
        .where(
            PlannedInfusion.id == planned_id,
            PlannedInfusion.patient_id == patient_id,
            PlannedInfusion.clinic_id == actor.clinic_id,
            PlannedInfusion.infusion_id.is_(None),
            PlannedInfusion.cancelled_at.is_(None),
        )
        .values(cancelled_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.record(
        session, actor=actor, action=audit.Action.CANCEL_PLANNED_INFUSION, patient_id=patient_id
    )
    refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=(patient_id,))
    return True


@dataclass(frozen=True)
class PatientSchedule:
    """One patient's measurement windows and open bookings (``(id, planned_at)``);
    ``infused``: an infusion is given or booked (else no schedule yet)."""

    windows: tuple[MeasurementWindow, ...]
    planned: tuple[tuple[int, dt.datetime], ...]
    time_zone: str
    infused: bool


def patient_schedule(
    session: Session, *, actor: Actor, patient_id: int, today: dt.date
) -> PatientSchedule:
    """A patient's windows up to well past ``today`` and their open bookings (the check-in
    page, the clinician's patient page). Audited once per visit."""
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    config = clinic_config(session, actor.clinic_id)
    inputs = schedule_inputs(session, clinic_id=actor.clinic_id, patient_ids=(patient_id,))
    planned = session.execute(
        select(PlannedInfusion.id, PlannedInfusion.planned_at)
        .where(
            PlannedInfusion.patient_id == patient_id,
            PlannedInfusion.infusion_id.is_(None),
            PlannedInfusion.cancelled_at.is_(None),
        )
        .order_by(PlannedInfusion.planned_at)
    ).all()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.VIEW_SCHEDULE,
        patient_id=patient_id,
        once_within=audit.VISIT,
    )
    schedule = inputs.schedule(patient_id)
    return PatientSchedule(
        windows=measurement_windows(
            schedule,
            infusions=inputs.times(patient_id),
            time_zone=config.time_zone,
            through=windows_through(today, schedule),
            rules=config.rules,
        ),
        planned=tuple((int(i), at) for i, at in planned),
        time_zone=config.time_zone,
        infused=bool(inputs.times(patient_id)),
    )


@dataclass(frozen=True)
class DueCheckin:
    """A patient's window open at a moment, with the questionnaires not yet done in it."""

    patient_id: int
    window: MeasurementWindow
    missing: tuple[str, ...]


def due_checkins(session: Session, *, actor: Actor, at: dt.datetime) -> list[DueCheckin]:
    """Every patient of the clinic whose measurement window is open at ``at`` and who has not
    done all of its questionnaires in it: what the reminders step sends to.

    A few queries for the whole clinic (schedules and protocols, infusions, bookings, each
    patient's latest check-in per questionnaire), then the windows patient by patient, built
    only around ``at``. Audited once an hour (the worker asks every pass).
    """
    ensure_role(session, actor, "clinician", "system")
    config = clinic_config(session, actor.clinic_id)
    inputs = schedule_inputs(session, clinic_id=actor.clinic_id, patient_ids=None)
    latest: dict[tuple[int, str], dt.datetime] = {
        (int(p), str(name)): moment
        for p, name, moment in session.execute(
            select(
                Assessment.patient_id, Assessment.instrument, func.max(Assessment.administered_at)
            )
            .where(Assessment.clinic_id == actor.clinic_id, Assessment.corrects_id.is_(None))
            .group_by(Assessment.patient_id, Assessment.instrument)
        )
    }
    audit.record(
        session,
        actor=actor,
        action=audit.Action.VIEW_DUE_CHECKINS,
        once_within=dt.timedelta(hours=1),
    )
    zone = config.time_zone
    today = clinic_date(at, zone)
    found: list[DueCheckin] = []
    # A weekly or maintenance window open today opens ``early_days`` before its due day at
    # the earliest, and one due later never cuts it (windows are placed in due order): the
    # periodic points are built up to there only, not a month ahead (bench/reminders.py).
    through = today + dt.timedelta(days=config.rules.early_days + 1)
    for patient_id, times in inputs.infusions.items():
        windows = measurement_windows(
            inputs.schedule(patient_id),
            infusions=times,
            time_zone=zone,
            through=through,
            since=today,
            rules=config.rules,
        )
        current = _open_at(windows, at)
        if current is None:
            continue
        missing = tuple(
            name
            for name in current.instruments
            if (taken := latest.get((patient_id, name))) is None
            or clinic_date(taken, zone) < current.days.opens
        )
        if missing:
            found.append(DueCheckin(patient_id=patient_id, window=current, missing=missing))
    return sorted(found, key=lambda d: d.patient_id)


def _open_at(windows: Sequence[MeasurementWindow], at: dt.datetime) -> MeasurementWindow | None:
    return next((w for w in windows if w.opens <= at < w.closes), None)
