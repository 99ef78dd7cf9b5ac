"""The rows a patient's measurement schedule is computed from, for code that acts for nobody.

A patient's schedule (:mod:`outcomes.schedule`) is their protocol's (the protocol of their
latest treatment course; the clinic's ``""`` row for a protocol without one; no row at all:
:data:`outcomes.schedule.DEFAULT_SCHEDULE`) over their recorded infusions and the planned
ones not yet given or cancelled. The course state's refresh, the check-in writer and the
reminders step read them here; the functions that act for a person (and check and audit)
are in :mod:`data.schedule`.

A planned infusion whose day has passed without an infusion still counts until the care team
cancels it [D]: the schedule stays a function of the records, not of the clock, so the stored
"next due" is right whenever it was computed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from data.models import Infusion, TreatmentCourse, UTCDateTime
from data.notify.models import MeasurementSchedule, PlannedInfusion
from outcomes.checkin_windows import clinic_date
from outcomes.rules import Rules
from outcomes.schedule import (
    DEFAULT_SCHEDULE,
    MeasurementWindow,
    Schedule,
    measurement_windows,
    parse_schedule,
    windows_through,
)

__all__ = [
    "PatientWindows",
    "ScheduleInputs",
    "clinic_schedules",
    "forget_clinic_schedules",
    "fulfil_planned_infusion",
    "patient_windows",
    "schedule_inputs",
    "schedule_of",
]


# Statements built once, values bound at each call: the check-in writer and the course
# state's refresh read one patient's schedule on every check-in (issue 13's lesson: building
# a statement per call cost a third of the window check).
_SCHEDULES = select(
    MeasurementSchedule.protocol,
    MeasurementSchedule.induction_infusions,
    MeasurementSchedule.points,
).where(MeasurementSchedule.clinic_id == bindparam("clinic_id"))
# One patient's infusion times: recorded (0) and booked (1).
# One patient's rows in one statement, ``(kind, moment, name, number, text)``: recorded
# infusions (0), bookings (1), the protocol of their latest treatment course (2) and, unless
# this transaction has read them already, the clinic's schedules (3: protocol, induction
# infusions, points as JSON text).
_NO_TIME, _NO_TEXT, _NO_NUMBER = (
    cast(null(), UTCDateTime()),
    cast(null(), String),
    cast(null(), Integer),
)
_RECORDED = select(literal(0), Infusion.administered_at, _NO_TEXT, _NO_NUMBER, _NO_TEXT).where(
    Infusion.patient_id == bindparam("patient_id"), Infusion.entered_in_error_at.is_(None)
)
_PLANNED = select(literal(1), PlannedInfusion.planned_at, _NO_TEXT, _NO_NUMBER, _NO_TEXT).where(
    PlannedInfusion.patient_id == bindparam("patient_id"),
    PlannedInfusion.infusion_id.is_(None),
    PlannedInfusion.cancelled_at.is_(None),
)
_PROTOCOL = select(
    literal(2),
    _NO_TIME,
    select(TreatmentCourse.protocol)
    .where(TreatmentCourse.patient_id == bindparam("patient_id"))
    .order_by(TreatmentCourse.started_on.desc(), TreatmentCourse.id.desc())
    .limit(1)
    .scalar_subquery(),
    _NO_NUMBER,
    _NO_TEXT,
)
_SCHEDULE_ROWS = select(
    literal(3),
    _NO_TIME,
    MeasurementSchedule.protocol,
    MeasurementSchedule.induction_infusions,
    cast(MeasurementSchedule.points, Text),
).where(MeasurementSchedule.clinic_id == bindparam("clinic_id"))
# (with the recorded infusions, with the clinic's schedules) -> the statement
_ONE_PATIENT = {
    (recorded, schedules): union_all(
        *((_RECORDED,) if recorded else ()),
        _PLANNED,
        _PROTOCOL,
        *((_SCHEDULE_ROWS,) if schedules else ()),
    )
    for recorded in (True, False)
    for schedules in (True, False)
}


@functools.lru_cache(maxsize=256)
def _parsed(points: str, induction_infusions: int) -> Schedule:
    # Saved through data.schedule.save_schedule, which checked them; parsed once per text.
    return parse_schedule(json.loads(points), induction_infusions=induction_infusions)


_CACHE = "clinic_schedules"


def clinic_schedules(session: Session, *, clinic_id: int) -> dict[str, Schedule]:
    """The clinic's stored schedules by protocol (``""``: its default).

    Read once per transaction (a check-in's window check and its course-state refresh both
    need them); :func:`forget_clinic_schedules` after a change in the same transaction.
    """
    cached = _cached(session)
    if clinic_id not in cached:
        rows = session.execute(_SCHEDULES, {"clinic_id": clinic_id}).all()
        cached[clinic_id] = {
            protocol: _parsed(json.dumps(points), induction) for protocol, induction, points in rows
        }
    return cached[clinic_id]


def _cached(session: Session) -> dict[int, dict[str, Schedule]]:
    found: dict[int, dict[str, Schedule]] = session.info.setdefault(_CACHE, {})
    return found


def forget_clinic_schedules(session: Session) -> None:
    """Drop the transaction's copy of the clinic's schedules (one was saved)."""
    session.info.pop(_CACHE, None)


def schedule_of(schedules: Mapping[str, Schedule], protocol: str | None) -> Schedule:
    """The schedule of ``protocol``: its own, else the clinic's default, else the spec's."""
    return schedules.get(protocol or "") or schedules.get("") or DEFAULT_SCHEDULE


@dataclass(frozen=True)
class ScheduleInputs:
    """Some patients' schedules and the infusions that place them (recorded and planned)."""

    schedules: dict[int, Schedule]
    infusions: dict[int, list[dt.datetime]]
    # A patient without a treatment course (or of a protocol without a schedule of its
    # own): the clinic's default, else the spec's.
    default: Schedule = DEFAULT_SCHEDULE

    def schedule(self, patient_id: int) -> Schedule:
        return self.schedules.get(patient_id, self.default)

    def times(self, patient_id: int) -> list[dt.datetime]:
        return self.infusions.get(patient_id, [])


def _latest_protocols(
    session: Session, clinic_id: int, patient_ids: Collection[int] | None
) -> dict[int, str]:
    """Each patient's latest treatment course's protocol (by start date, then id)."""
    ranked = select(
        TreatmentCourse.patient_id,
        TreatmentCourse.protocol,
        func.row_number()
        .over(
            partition_by=TreatmentCourse.patient_id,
            order_by=(TreatmentCourse.started_on.desc(), TreatmentCourse.id.desc()),
        )
        .label("rank"),
    ).where(TreatmentCourse.clinic_id == clinic_id)
    if patient_ids is not None:
        ranked = ranked.where(TreatmentCourse.patient_id.in_(list(patient_ids)))
    sub = ranked.subquery()
    return {
        int(p): str(protocol or "")
        for p, protocol in session.execute(
            select(sub.c.patient_id, sub.c.protocol).where(sub.c.rank == 1)
        )
    }


def schedule_inputs(
    session: Session,
    *,
    clinic_id: int,
    patient_ids: Collection[int] | None,
    planned_only: bool = False,
) -> ScheduleInputs:
    """The schedules of ``patient_ids`` (every patient of the clinic for None) and their
    infusion times: recorded ones that count (not entered in error) and open planned ones.

    Three queries whatever the number of patients (protocols, infusions, planned); two for
    one patient of a clinic without schedules of its own. With ``planned_only`` the
    recorded infusions are left out (a caller that has read them).
    """
    if patient_ids is not None and len(patient_ids) == 1:
        return _one_patient(session, clinic_id, next(iter(patient_ids)), planned_only)
    schedules = clinic_schedules(session, clinic_id=clinic_id)
    protocols = _latest_protocols(session, clinic_id, patient_ids) if schedules else {}
    times: dict[int, list[dt.datetime]] = {}
    queries = [
        select(PlannedInfusion.patient_id, PlannedInfusion.planned_at).where(
            PlannedInfusion.clinic_id == clinic_id,
            PlannedInfusion.infusion_id.is_(None),
            PlannedInfusion.cancelled_at.is_(None),
        )
    ]
    if not planned_only:
        queries.append(
            select(Infusion.patient_id, Infusion.administered_at).where(
                Infusion.clinic_id == clinic_id, Infusion.entered_in_error_at.is_(None)
            )
        )
    for query in queries:
        if patient_ids is not None:
            query = query.where(query.selected_columns[0].in_(list(patient_ids)))
        for patient_id, moment in session.execute(query):
            times.setdefault(int(patient_id), []).append(moment)
    return ScheduleInputs(
        schedules={p: schedule_of(schedules, protocol) for p, protocol in protocols.items()},
        infusions=times,
        default=schedule_of(schedules, ""),
    )


def _one_patient(
    session: Session, clinic_id: int, patient_id: int, planned_only: bool
) -> ScheduleInputs:
    """:func:`schedule_inputs` of one patient: one statement, built once."""
    cached = _cached(session)
    statement = _ONE_PATIENT[(not planned_only, clinic_id not in cached)]
    times: list[dt.datetime] = []
    protocol: str | None = None
    stored: dict[str, Schedule] = {}
    values = {"patient_id": patient_id, "clinic_id": clinic_id}
    for kind, moment, name, number, text in session.execute(statement, values):
        if kind == 2:
            protocol = name
        elif kind == 3:
            stored[name] = _parsed(text, number)
        else:
            times.append(moment)
    schedules = cached.setdefault(clinic_id, stored)
    return ScheduleInputs(
        schedules={patient_id: schedule_of(schedules, protocol)} if protocol else {},
        infusions={patient_id: times} if times else {},
        default=schedule_of(schedules, ""),
    )


@dataclass(frozen=True)
class PatientWindows:
    """One patient's windows around a day, and whether any infusion is given or booked
    (without one there is no schedule yet: :func:`outcomes.schedule.schedule_status`)."""

    windows: tuple[MeasurementWindow, ...]
    infused: bool


def patient_windows(
    session: Session,
    *,
    clinic_id: int,
    patient_id: int,
    time_zone: str,
    rules: Rules,
    today: dt.date,
) -> PatientWindows:
    """One patient's windows around ``today`` (from two months before it to past the next
    one): what the check-in writer judges a check-in by, in one small statement."""
    inputs = schedule_inputs(session, clinic_id=clinic_id, patient_ids=(patient_id,))
    schedule = inputs.schedule(patient_id)
    times = inputs.times(patient_id)
    return PatientWindows(
        windows=measurement_windows(
            schedule,
            infusions=times,
            time_zone=time_zone,
            through=windows_through(today, schedule),
            since=today,
            rules=rules,
        ),
        infused=bool(times),
    )


def fulfil_planned_infusion(
    session: Session,
    *,
    patient_id: int,
    infusion_id: int,
    administered_at: dt.datetime,
    time_zone: str,
) -> int | None:
    """Link the patient's open planned infusion of the same clinic day to the infusion just
    recorded (the booking is then given, no longer planned); its id, or None without one.

    Called by the infusion writer in its transaction, before it refreshes the course state.
    """
    day = clinic_date(administered_at, time_zone)
    window = (administered_at - dt.timedelta(days=2), administered_at + dt.timedelta(days=2))
    candidates = session.execute(
        select(PlannedInfusion.id, PlannedInfusion.planned_at)
        .where(
            PlannedInfusion.patient_id == patient_id,
            PlannedInfusion.infusion_id.is_(None),
            PlannedInfusion.cancelled_at.is_(None),
            PlannedInfusion.planned_at.between(*window),
        )
        .order_by(PlannedInfusion.planned_at)
    ).all()
    found = next((i for i, at in candidates if clinic_date(at, time_zone) == day), None)
    if found is not None:
        session.execute(
            update(PlannedInfusion)
            .where(PlannedInfusion.id == found)
            .values(infusion_id=infusion_id)
        )
    return found
