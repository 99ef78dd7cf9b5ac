"""Reads across the clinic's patients for aggregates: totals, infusions, weekly means in SQL.

No names and no answers. Clinicians (worklist) get patient ids; administrators (outcomes) get
pseudonyms in their place, so an aggregate never leads back to a patient. Clinic-wide reads
fetch hundreds of thousands of rows: times come as numbers computed by the database and rows
straight from the driver's cursor (each trick's reason beside it).

The outcomes page reads none of the clinic's history: :func:`cohort_courses` gives the course
state kept on write (``data.course_state``), one row per patient of the cohort, and
:func:`outcomes_view` checks and records each view before the page takes its cached
aggregates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

import pandas as pd
from sqlalchemy import Date, Integer, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.course_state import data_version
from data.models import (
    Assessment,
    CourseState,
    Infusion,
    Patient,
    PatientState,
    TreatmentCourse,
)
from data.records.frames import frame_of, with_nullable_ints
from outcomes.course import FACT_COLUMNS
from outcomes.stats import mean_interval
from outcomes.stored_timepoints import timepoint_columns

# Administrators see aggregates keyed by pseudonyms, never by patient id: otherwise the audit
# log's patient ids could be joined to per-patient totals. The key lives only in this process,
# so pseudonyms agree between calls of one server but cannot be turned back into ids.
_PSEUDONYM_KEY = secrets.token_bytes(32)


def _pseudonymise(frame: pd.DataFrame, actor: Actor) -> pd.DataFrame:
    if actor.role != "administrator" or frame.empty:
        return frame
    pseudonyms = {
        patient_id: int.from_bytes(
            hmac.new(_PSEUDONYM_KEY, str(patient_id).encode(), hashlib.sha256).digest()[:7],
            "big",
        )
        for patient_id in frame["patient_id"].unique()
    }
    return frame.assign(patient_id=frame["patient_id"].map(pseudonyms))


def _epoch_seconds(session: Session, column: Any) -> Any:
    """A stored time as seconds since 1970 (UTC), computed by the database.

    Clinic-wide reads fetch hundreds of thousands of times; parsing them one by one in Python
    (SQLite keeps them as text) cost seconds, converting numbers in pandas costs milliseconds.
    """
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def _bulk_frame(session: Session, query: Any, columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows of a large read as a DataFrame, straight from the driver's cursor.

    The same connection and transaction as the session; SQLAlchemy compiles the query but
    does not build a Row object per result row (which cost as much as the query itself).
    """
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    params: Any = compiled.params
    if compiled.positiontup is not None:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame.from_records(rows, columns=list(columns))


def _times_from_epoch(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    seconds = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame[column] = pd.to_datetime((seconds * 1e6).round(), unit="us", utc=True)
    return frame


def cohort_assessments(session: Session, *, actor: Actor, instrument: str) -> pd.DataFrame:
    """Valid totals of every patient of the clinic for one instrument, for aggregates.

    A corrected administration is left out: only the latest of a correction chain counts.

    No names, no answers: ``patient_id``, ``administered_at``, ``total``. Clinicians
    (worklist) get patient ids; administrators (outcomes) get pseudonyms in their place,
    the same in :func:`cohort_infusions`, so an aggregate never leads back to a patient.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    query = (
        select(
            Assessment.patient_id,
            _epoch_seconds(session, Assessment.administered_at),
            Assessment.total,
        )
        .where(
            Assessment.clinic_id == actor.clinic_id,
            Assessment.instrument == instrument,
            Assessment.valid.is_(True),
            # Only the latest of a correction chain counts (course-and-reporting §3).
            Assessment.superseded_at.is_(None),
        )
        .order_by(Assessment.patient_id, Assessment.administered_at)
    )
    frame = _times_from_epoch(
        _bulk_frame(session, query, ("patient_id", "administered_at", "total")), "administered_at"
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT, instrument=instrument)
    return _pseudonymise(with_nullable_ints(frame, "total"), actor)


def _day_number(session: Session, column: Any) -> Any:
    """A stored time's UTC calendar day as a whole number, in the database's own dialect.

    Subtracting two day numbers gives whole calendar days between the times, the way
    :mod:`outcomes` counts them. On SQLite a Julian day starts at noon, so half a day earlier
    is the civil day; one parse per row (``date()`` first would parse each time twice, a third
    of the weekly aggregates' cost on a 1M-assessment clinic).
    """
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(column) - 0.5, Integer)
    # A timestamptz becomes a date in the session's time zone: take it in UTC explicitly.
    day = cast(func.timezone("UTC", column), Date) - literal(dt.date(1970, 1, 1), Date)
    return cast(day, Integer)


def _protocols_ranked(*infusions: Any) -> Any:
    """Each of the ``infusions`` with a treatment course, with its course's protocol and its
    rank in its patient's infusions (by time, then as recorded): rank 1 is the patient's
    first protocol, as :func:`outcomes.reporting.per_patient` takes it."""
    return (
        select(
            Infusion.patient_id.label("patient_id"),
            TreatmentCourse.protocol.label("protocol"),
            func.row_number()
            .over(
                partition_by=Infusion.patient_id,
                order_by=(Infusion.administered_at, Infusion.id),
            )
            .label("rank"),
        )
        .join(TreatmentCourse, TreatmentCourse.id == Infusion.course_id)
        .where(*infusions)
        .subquery()
    )


def _first_protocol_is(actor: Actor, protocol: str) -> Any:
    """The clinic's patients whose earliest infusion with a treatment course is ``protocol``.

    :func:`outcomes.reporting.per_patient` takes the first protocol that is not missing, in
    the order of :func:`cohort_infusions` (by time); infusions at the same moment are taken in
    the order they were recorded.
    """
    ranked = _protocols_ranked(
        Infusion.clinic_id == actor.clinic_id, Infusion.entered_in_error_at.is_(None)
    )
    return select(ranked.c.patient_id).where(ranked.c.rank == 1, ranked.c.protocol == protocol)


# The Julian day number of 1970-01-01, the day number SQLite gives a time on that day.
_SQLITE_DAY_OF_1970 = 2_440_587


def _day_number_of(session: Session, day: dt.date) -> int:
    """A calendar day as the whole number :func:`_day_number` gives a time on that day."""
    days_since_1970 = (day - dt.date(1970, 1, 1)).days
    if session.get_bind().dialect.name == "sqlite":
        return days_since_1970 + _SQLITE_DAY_OF_1970
    return days_since_1970


def weekly_aggregates(
    session: Session,
    *,
    actor: Actor,
    instrument: str,
    first_between: tuple[dt.date, dt.date] | None = None,
    clinician_id: int | None = None,
    protocol: str | None = None,
    min_patients: int = 1,
) -> pd.DataFrame:
    """Mean total by week since the first infusion, aggregated in SQL (no rows to Python).

    The same definition as :func:`outcomes.cohort.mean_score_by_week`: week 0 is the baseline
    (the latest valid score on or before the first infusion), week *w* holds days
    ``7*(w-1)+1`` to ``7*w``, and each patient counts once per week with their latest score.
    The cohort is the one :func:`outcomes.reporting.select_cohort` picks from
    :func:`cohort_infusions` with the same filters, so the outcomes page's table is the
    library's on the filtered cohort.

    Parameters
    ----------
    first_between : (date, date), optional
        Patients whose first infusion falls on or between these days (UTC).
    clinician_id : int, optional
        Patients assigned to this clinician.
    protocol : str, optional
        Patients whose earliest infusion with a treatment course is of this protocol.
    min_patients : int
        Weeks with fewer patients are left out (the small-cell rule,
        :data:`outcomes.privacy.MIN_GROUP` on the outcomes page): they never leave the
        database.

    Returns
    -------
    DataFrame
        ``week``, ``n`` (patients), ``mean``, ``sd``, ``ci_lower``, ``ci_upper`` (95% t).
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    first_day = _day_number(session, func.min(Infusion.administered_at))
    cohort = (
        select(Infusion.patient_id.label("patient_id"), first_day.label("first_day"))
        # An infusion entered in error never was: it sets no first day.
        .where(Infusion.clinic_id == actor.clinic_id, Infusion.entered_in_error_at.is_(None))
        .group_by(Infusion.patient_id)
    )
    if first_between is not None:
        # Whole UTC days: on or after the first day's midnight, before the day after the last.
        start, end = (_day_number_of(session, day) for day in first_between)
        cohort = cohort.having(first_day.between(start, end))
    if clinician_id is not None:
        # The page's selectbox hands over numpy integers, which the drivers cannot bind.
        assigned = select(Patient.id).where(
            Patient.clinic_id == actor.clinic_id,
            Patient.assigned_clinician_id == int(clinician_id),
        )
        cohort = cohort.where(Infusion.patient_id.in_(assigned))
    if protocol is not None:
        cohort = cohort.where(Infusion.patient_id.in_(_first_protocol_is(actor, str(protocol))))
    first = cohort.subquery()
    days = _day_number(session, Assessment.administered_at) - first.c.first_day
    # Week 0 for every day up to the first infusion's, else days 7*(w-1)+1 .. 7*w. Written
    # with one mention of the day so the database works it out once per row; "//" rather
    # than "/", which is true division (NUMERIC on PostgreSQL, rounding when cast back).
    greatest = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
    week = greatest(0, (days + 6) // 7)
    weekly = (
        select(
            Assessment.patient_id.label("patient_id"),
            Assessment.administered_at.label("administered_at"),
            Assessment.total.label("total"),
            week.label("week"),
        )
        .join(first, first.c.patient_id == Assessment.patient_id)
        .where(
            Assessment.clinic_id == actor.clinic_id,
            Assessment.instrument == instrument,
            Assessment.valid.is_(True),
            # Only the latest of a correction chain counts (course-and-reporting §3).
            Assessment.superseded_at.is_(None),
        )
        .subquery()
    )
    # A score is its patient's latest of the week when their next score falls in a later week
    # (or there is none). Partitioned by patient alone in the index's order, the window needs
    # no sort, unlike numbering rows per patient-week.
    with_next = select(
        weekly.c.week,
        weekly.c.total,
        func.lead(weekly.c.week)
        .over(partition_by=weekly.c.patient_id, order_by=weekly.c.administered_at)
        .label("next_week"),
    ).subquery()
    query = (
        select(
            with_next.c.week,
            func.count(),
            func.avg(with_next.c.total),
            func.sum(with_next.c.total * with_next.c.total),
        )
        .where(or_(with_next.c.next_week.is_(None), with_next.c.next_week != with_next.c.week))
        .group_by(with_next.c.week)
        .having(func.count() >= min_patients)
        .order_by(with_next.c.week)
    )
    frame = frame_of(session, query, ("week", "n", "mean", "sum_of_squares"))
    audit.record(session, actor=actor, action=audit.Action.VIEW_WEEKLY, instrument=instrument)
    frame["week"] = frame["week"].astype("int64")
    frame["n"] = frame["n"].astype("int64")
    frame["mean"] = frame["mean"].astype(float)
    interval = mean_interval(frame["n"], frame["mean"], frame["sum_of_squares"])
    return pd.concat([frame[["week", "n", "mean"]], interval], axis=1)


def cohort_infusions(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Infusion dates and routes of every patient of the clinic, with protocol and clinician.

    Infusions marked entered in error are left out (they count nowhere).

    Columns: ``patient_id``, ``administered_at``, ``route``, ``protocol``, ``clinician_id``.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    query = (
        select(
            Infusion.patient_id,
            _epoch_seconds(session, Infusion.administered_at),
            Infusion.route,
            TreatmentCourse.protocol,
            Patient.assigned_clinician_id,
        )
        .join(Patient, Patient.id == Infusion.patient_id)
        .outerjoin(TreatmentCourse, TreatmentCourse.id == Infusion.course_id)
        .where(Infusion.clinic_id == actor.clinic_id, Infusion.entered_in_error_at.is_(None))
        .order_by(Infusion.patient_id, Infusion.administered_at)
    )
    frame = _times_from_epoch(
        _bulk_frame(
            session, query, ("patient_id", "administered_at", "route", "protocol", "clinician_id")
        ),
        "administered_at",
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT_INFUSIONS)
    return _pseudonymise(with_nullable_ints(frame, "clinician_id"), actor)


# --- The outcomes page: stored course state, never the clinic's history (issue 13) -----------

_TIMEPOINTS = timepoint_columns()

COHORT_COURSE_COLUMNS = (
    *FACT_COLUMNS,
    *(column for column, _, _ in _TIMEPOINTS),
    "checkin_days",
    "clinician_id",
    "protocol",
)
"""The columns of :func:`cohort_courses`."""

_INTEGER_FACTS = tuple(
    column
    for column in FACT_COLUMNS
    if column
    in (
        "infusions",
        "baseline_total",
        "latest_total",
        "days_to_response",
        "infusions_to_response",
        "days_to_remission",
        "durable_response_days",
        "followup_days",
    )
)


def outcomes_view(session: Session, *, actor: Actor, instrument: str) -> int:
    """Check that ``actor`` may see the clinic's aggregates, record the view, and return the
    clinic's data version.

    The outcomes page calls this on every run *before* it takes any aggregate from the
    shared cache, so the access check and the audit trail never depend on whether the numbers
    were cached; the version (bumped by every write, :mod:`data.course_state`) is part of the
    cache key, so no cached aggregate outlives a change of the records.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT, instrument=instrument)
    return data_version(session, clinic_id=actor.clinic_id)


def _first_protocols(
    session: Session, actor: Actor, first_between: tuple[dt.date, dt.date] | None
) -> dict[int, str]:
    """Each patient's first protocol: the protocol of their earliest infusion with a
    treatment course (:func:`outcomes.reporting.per_patient` over :func:`cohort_infusions`).

    A query of its own: SQLite evaluated the window per row when it was outer-joined to the
    course state (two minutes at 10,000 patients, against a quarter of a second). Only the
    infusions of patients who started ``first_between`` are ranked, when it is given.
    """
    infusions = [Infusion.clinic_id == actor.clinic_id, Infusion.entered_in_error_at.is_(None)]
    if first_between is not None:
        started = select(PatientState.patient_id).where(
            PatientState.clinic_id == actor.clinic_id,
            PatientState.first_infusion_date.between(*first_between),
        )
        infusions.append(Infusion.patient_id.in_(started))
    ranked = _protocols_ranked(*infusions)
    rows = session.execute(
        select(ranked.c.patient_id, ranked.c.protocol).where(ranked.c.rank == 1)
    ).all()
    return {int(patient_id): str(protocol) for patient_id, protocol in rows}


def cohort_courses(
    session: Session,
    *,
    actor: Actor,
    instrument: str,
    first_between: tuple[dt.date, dt.date] | None = None,
    clinician_id: int | None = None,
    protocol: str | None = None,
    checkin_days_from: dt.date | None = None,
) -> pd.DataFrame:
    """The stored course facts of the patients an outcomes report covers, one row each.

    The cohort is :func:`outcomes.reporting.select_cohort`'s (every patient with an infusion,
    narrowed by the same filters, here in SQL); the rows are the ``course_state`` kept on
    write, so the cost grows with the number of patients, never with their history.

    Parameters
    ----------
    instrument : str
        The instrument whose courses to read.
    first_between, clinician_id, protocol : optional
        As :func:`weekly_aggregates`.
    checkin_days_from : date, optional
        Give ``checkin_days`` only of patients whose first infusion is on or after this day
        (None for the others): completeness looks at recent weeks only
        (:func:`outcomes.completeness.first_expected_from`), and the lists cost most to read.

    Returns
    -------
    DataFrame
        Indexed by patient (a pseudonym for an administrator, as :func:`cohort_assessments`),
        :data:`COHORT_COURSE_COLUMNS`: :data:`outcomes.course.FACT_COLUMNS` in the dtypes of
        :func:`outcomes.course.course_facts`, the stored time points' facts as
        :func:`outcomes.timepoints.timepoint_columns` (taken out of the JSON by the
        database: decoding it per patient in Python cost most of the read), ``checkin_days``
        (:func:`outcomes.completeness.checkin_days`), the assigned ``clinician_id`` and the
        first ``protocol`` (None when none is recorded). No names, no answers.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    facts = [getattr(CourseState, column) for column in FACT_COLUMNS]
    timepoints = [
        (
            CourseState.timepoints[(name, key)].as_boolean()
            if key == "qualifies"
            else CourseState.timepoints[(name, key)].as_integer()
        )
        for _, name, key in _TIMEPOINTS
    ]
    checkin_days: Any = CourseState.scored_days
    if checkin_days_from is not None:
        checkin_days = case(
            (CourseState.first_infusion_date >= checkin_days_from, CourseState.scored_days),
            else_=None,
        )
    query = (
        select(
            CourseState.patient_id,
            *facts,
            *timepoints,
            checkin_days,
            Patient.assigned_clinician_id,
        )
        .join(Patient, Patient.id == CourseState.patient_id)
        .where(
            CourseState.clinic_id == actor.clinic_id,
            CourseState.instrument == instrument,
            # Every patient with an infusion, and nobody else (select_cohort).
            CourseState.first_infusion_date.is_not(None),
        )
        .order_by(CourseState.patient_id)
    )
    if first_between is not None:
        query = query.where(CourseState.first_infusion_date.between(*first_between))
    if clinician_id is not None:
        # The page's selectbox hands over numpy integers, which the drivers cannot bind.
        query = query.where(Patient.assigned_clinician_id == int(clinician_id))
    if protocol is not None:
        query = query.where(CourseState.patient_id.in_(_first_protocol_is(actor, str(protocol))))
    frame = frame_of(session, query, ("patient_id", *COHORT_COURSE_COLUMNS[:-1]))
    protocols = _first_protocols(session, actor, first_between)
    frame["protocol"] = pd.Series(
        [protocols.get(int(patient_id)) for patient_id in frame["patient_id"]],
        index=frame.index,
        dtype=object,
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT, instrument=instrument)
    for column in _INTEGER_FACTS:
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in ("completed_induction", "censored"):
        frame[column] = frame[column].astype(bool)
    frame = with_nullable_ints(frame, "clinician_id")
    return _pseudonymise(frame, actor).set_index("patient_id")


def cohort_protocols(session: Session, *, actor: Actor) -> list[str]:
    """The protocols of the clinic's infusions (entered in error or not given: left out),
    sorted: the choices of the outcomes page's protocol filter."""
    ensure_role(session, actor, "clinician", "administrator", "system")
    query = (
        select(TreatmentCourse.protocol)
        .join(Infusion, Infusion.course_id == TreatmentCourse.id)
        .where(Infusion.clinic_id == actor.clinic_id, Infusion.entered_in_error_at.is_(None))
        .distinct()
    )
    return sorted(str(protocol) for protocol in session.scalars(query) if protocol is not None)
