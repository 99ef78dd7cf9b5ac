"""Every read of patient data, scoped to who is asking and recorded in the audit trail.

Functions are keyword-only and take the acting user (``actor``); they decide access
themselves (:mod:`data.access`), add an audit event to the caller's session, and never
commit. Reads of one patient are indexed on ``(patient_id, ...)``: their cost grows with the
patient's own history, not with the clinic's size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import (
    Date,
    Executable,
    Integer,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from data import audit
from data.access import Actor, ensure_can_view_patient, ensure_can_write_patient, ensure_role
from data.errors import AccessDenied, InvalidInput
from data.models import (
    Assessment,
    Infusion,
    Patient,
    SafetyAlert,
    TreatmentCourse,
    User,
    utcnow,
)
from data.patients import patient_id_problem, patient_name_problem
from data.records.patients import NewPatient, register_patients
from outcomes.stats import mean_interval

ASSESSMENT_COLUMNS = (
    "assessment_id",
    "patient_id",
    "instrument",
    "administered_at",
    "source",
    "total",
    "severity",
    "valid",
    "flags",
    "answers",
)
INFUSION_COLUMNS = (
    "infusion_id",
    "patient_id",
    "administered_at",
    "route",
    "dose_mg_per_kg",
    "dose_mg",
    "duration_minutes",
    "systolic_before",
    "diastolic_before",
    "heart_rate_before",
    "systolic_40min",
    "diastolic_40min",
    "heart_rate_40min",
    "systolic_discharge",
    "diastolic_discharge",
    "heart_rate_discharge",
    "spo2_min",
    "dissociation_cadss6",
    "sedation_moaas",
    "side_effects",
    "side_effects_note",
)


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


@dataclass(frozen=True)
class PatientRecord:
    """Who a patient is, for the header of their page."""

    patient_id: int
    external_id: str
    name: str
    date_of_birth: dt.date | None
    assigned_clinician: str | None
    protocol: str | None


def _frame(session: Session, query: Executable, columns: tuple[str, ...]) -> pd.DataFrame:
    rows = session.execute(query).all()
    return pd.DataFrame.from_records(rows, columns=list(columns))


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


def _with_nullable_ints(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = frame[column].astype("Int64")
    return frame


def patient_record(session: Session, *, actor: Actor, patient_id: int) -> PatientRecord:
    """The patient's identity and care team (the patient themself or their clinic's staff)."""
    patient = ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    clinician = (
        session.get(User, patient.assigned_clinician_id) if patient.assigned_clinician_id else None
    )
    protocol = session.scalar(
        select(TreatmentCourse.protocol)
        .where(TreatmentCourse.patient_id == patient.id)
        .order_by(TreatmentCourse.started_on.desc())
        .limit(1)
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_PATIENT, patient_id=patient.id)
    return PatientRecord(
        patient_id=patient.id,
        external_id=patient.external_id,
        name=patient.name,
        date_of_birth=patient.date_of_birth,
        assigned_clinician=clinician.display_name if clinician else None,
        protocol=protocol,
    )


def patient_assessments(
    session: Session, *, actor: Actor, patient_id: int, instrument: str | None = None
) -> pd.DataFrame:
    """The patient's questionnaires, oldest first (columns: :data:`ASSESSMENT_COLUMNS`)."""
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    query = select(
        Assessment.id,
        Assessment.patient_id,
        Assessment.instrument,
        Assessment.administered_at,
        Assessment.source,
        Assessment.total,
        Assessment.severity,
        Assessment.valid,
        Assessment.flags,
        Assessment.answers,
    ).where(Assessment.patient_id == patient_id)
    if instrument is not None:
        query = query.where(Assessment.instrument == instrument)
    query = query.order_by(Assessment.instrument, Assessment.administered_at)
    frame = _frame(session, query, ASSESSMENT_COLUMNS)
    audit.record(session, actor=actor, action=audit.Action.VIEW_ASSESSMENTS, patient_id=patient_id)
    return _with_nullable_ints(frame, "total").sort_values("administered_at", kind="stable")


def patient_infusions(session: Session, *, actor: Actor, patient_id: int) -> pd.DataFrame:
    """The patient's infusions, oldest first (columns: :data:`INFUSION_COLUMNS`)."""
    ensure_can_view_patient(session, actor=actor, patient_id=patient_id)
    query = (
        select(
            Infusion.id,
            *(getattr(Infusion, name) for name in INFUSION_COLUMNS[1:]),
        )
        .where(Infusion.patient_id == patient_id)
        .order_by(Infusion.administered_at)
    )
    frame = _frame(session, query, INFUSION_COLUMNS)
    audit.record(session, actor=actor, action=audit.Action.VIEW_INFUSIONS, patient_id=patient_id)
    return _with_nullable_ints(
        frame,
        *(c for c in INFUSION_COLUMNS[6:19] if c not in ("dose_mg_per_kg", "dose_mg")),
    )


def patient_alerts(session: Session, *, actor: Actor, patient_id: int) -> pd.DataFrame:
    """The patient's safety alerts, newest first (care team only)."""
    ensure_can_write_patient(session, actor=actor, patient_id=patient_id, clinician_only=True)
    acknowledger = aliased(User)
    query = (
        select(
            SafetyAlert.id,
            SafetyAlert.kind,
            SafetyAlert.created_at,
            SafetyAlert.acknowledged_at,
            acknowledger.display_name,
            SafetyAlert.note,
        )
        .outerjoin(acknowledger, acknowledger.id == SafetyAlert.acknowledged_by_id)
        .where(SafetyAlert.patient_id == patient_id)
        .order_by(SafetyAlert.created_at.desc())
    )
    frame = _frame(
        session,
        query,
        ("alert_id", "kind", "created_at", "acknowledged_at", "acknowledged_by", "note"),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_ALERTS, patient_id=patient_id)
    return frame


def clinic_patients(session: Session, *, actor: Actor) -> pd.DataFrame:
    """The clinic's patients with their care team (clinicians; for the worklist)."""
    ensure_role(session, actor, "clinician", "system")
    clinician = aliased(User)
    query = (
        select(
            Patient.id,
            Patient.external_id,
            Patient.name,
            clinician.display_name,
            Patient.created_at,
        )
        .outerjoin(clinician, clinician.id == Patient.assigned_clinician_id)
        .where(Patient.clinic_id == actor.clinic_id)
        .order_by(Patient.name)
    )
    frame = _frame(
        session,
        query,
        ("patient_id", "external_id", "name", "assigned_clinician", "created_at"),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_PATIENT_LIST)
    return frame


def find_patients(
    session: Session, *, actor: Actor, query: str = "", limit: int = 25
) -> pd.DataFrame:
    """The clinic's patients whose name or clinic id (MRN) contains ``query`` (clinicians).

    At most ``limit`` rows, by name: the patient view's search, whose cost must not grow with
    the size of the clinic. An empty query lists the first patients by name.
    """
    ensure_role(session, actor, "clinician", "system")
    wanted = f"%{(query or '').strip().lower()}%"
    statement = (
        select(Patient.id, Patient.external_id, Patient.name)
        .where(Patient.clinic_id == actor.clinic_id)
        .where(func.lower(Patient.name).like(wanted) | func.lower(Patient.external_id).like(wanted))
        .order_by(Patient.name, Patient.id)
        .limit(max(1, min(int(limit), 200)))
    )
    frame = _frame(session, statement, ("patient_id", "external_id", "name"))
    audit.record(session, actor=actor, action=audit.Action.SEARCH_PATIENTS)
    return frame


def open_alerts(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Unacknowledged safety alerts of the clinic, oldest first (clinicians)."""
    ensure_role(session, actor, "clinician", "system")
    query = (
        select(
            SafetyAlert.id,
            SafetyAlert.patient_id,
            Patient.name,
            SafetyAlert.kind,
            SafetyAlert.created_at,
            Assessment.instrument,
            Assessment.total,
        )
        .join(Patient, Patient.id == SafetyAlert.patient_id)
        .join(Assessment, Assessment.id == SafetyAlert.assessment_id)
        .where(SafetyAlert.clinic_id == actor.clinic_id, SafetyAlert.acknowledged_at.is_(None))
        .order_by(SafetyAlert.created_at)
    )
    frame = _frame(
        session,
        query,
        ("alert_id", "patient_id", "name", "kind", "created_at", "instrument", "total"),
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_OPEN_ALERTS)
    return _with_nullable_ints(frame, "total")


def acknowledge_alert(session: Session, *, actor: Actor, alert_id: int, note: str) -> None:
    """Mark a safety alert seen, with what was done; records who and when."""
    ensure_role(session, actor, "clinician", "system")
    alert = session.get(SafetyAlert, alert_id) if isinstance(alert_id, int) else None
    if alert is None or alert.clinic_id != actor.clinic_id:
        raise AccessDenied("no such alert in your clinic")
    ensure_can_write_patient(session, actor=actor, patient_id=alert.patient_id, clinician_only=True)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(["say what was done (for example: called the patient, safety plan)"])
    if alert.acknowledged_at is not None:
        raise InvalidInput(["this alert was already acknowledged"])
    alert.acknowledged_by_id = actor.user_id
    alert.acknowledged_at = utcnow()
    alert.note = note
    audit.record(
        session, actor=actor, action=audit.Action.ACKNOWLEDGE_ALERT, patient_id=alert.patient_id
    )


def create_patient(
    session: Session,
    *,
    actor: Actor,
    external_id: str,
    name: str,
    date_of_birth: dt.date | None = None,
    assigned_clinician_id: int | None = None,
) -> int:
    """Register a patient in the actor's clinic (clinicians and the system).

    The id and the name follow :mod:`data.patients` (a narrow set of characters for the id,
    one line of text for the name); problems name the field, never the value.
    """
    ensure_role(session, actor, "clinician", "system")
    problems = []
    external_id = (external_id or "").strip()
    name = (name or "").strip()
    # One rule for every way a patient is created (data.patients); messages name the field,
    # never the value.
    id_problem = patient_id_problem(external_id, field="the clinic's patient id (MRN)")
    if id_problem is not None:
        problems.append(id_problem)
    elif session.scalar(
        select(Patient.id).where(
            Patient.clinic_id == actor.clinic_id, Patient.external_id == external_id
        )
    ):
        problems.append("a patient with this patient id (MRN) already exists in the clinic")
    name_problem = patient_name_problem(name, field="the patient's name")
    if name_problem is not None:
        problems.append(name_problem)
    if date_of_birth is not None and date_of_birth > dt.date.today():
        problems.append("the date of birth is in the future")
    if assigned_clinician_id is not None:
        clinician = session.get(User, assigned_clinician_id)
        if (
            clinician is None
            or clinician.clinic_id != actor.clinic_id
            or clinician.role != "clinician"
        ):
            problems.append("the assigned clinician is not a clinician of this clinic")
    if problems:
        raise InvalidInput(problems)
    new = NewPatient(external_id, name, date_of_birth, assigned_clinician_id)
    return register_patients(session, actor=actor, patients=[new])[external_id]


def cohort_assessments(session: Session, *, actor: Actor, instrument: str) -> pd.DataFrame:
    """Valid totals of every patient of the clinic for one instrument, for aggregates.

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
        )
        .order_by(Assessment.patient_id, Assessment.administered_at)
    )
    frame = _times_from_epoch(
        _bulk_frame(session, query, ("patient_id", "administered_at", "total")), "administered_at"
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT, instrument=instrument)
    return _pseudonymise(_with_nullable_ints(frame, "total"), actor)


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


def weekly_aggregates(session: Session, *, actor: Actor, instrument: str) -> pd.DataFrame:
    """Mean total by week since the first infusion, aggregated in SQL (no rows to Python).

    The same definition as :func:`outcomes.cohort.mean_score_by_week`: week 0 is the baseline
    (the latest valid score on or before the first infusion), week *w* holds days
    ``7*(w-1)+1`` to ``7*w``, and each patient counts once per week with their latest score.

    Returns
    -------
    DataFrame
        ``week``, ``n`` (patients), ``mean``, ``sd``, ``ci_lower``, ``ci_upper`` (95% t).
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    first = (
        select(
            Infusion.patient_id.label("patient_id"),
            _day_number(session, func.min(Infusion.administered_at)).label("first_day"),
        )
        .where(Infusion.clinic_id == actor.clinic_id)
        .group_by(Infusion.patient_id)
        .subquery()
    )
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
        .order_by(with_next.c.week)
    )
    frame = _frame(session, query, ("week", "n", "mean", "sum_of_squares"))
    audit.record(session, actor=actor, action=audit.Action.VIEW_WEEKLY, instrument=instrument)
    frame["week"] = frame["week"].astype("int64")
    frame["n"] = frame["n"].astype("int64")
    frame["mean"] = frame["mean"].astype(float)
    interval = mean_interval(frame["n"], frame["mean"], frame["sum_of_squares"])
    return pd.concat([frame[["week", "n", "mean"]], interval], axis=1)


def cohort_infusions(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Infusion dates and routes of every patient of the clinic, with protocol and clinician.

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
        .where(Infusion.clinic_id == actor.clinic_id)
        .order_by(Infusion.patient_id, Infusion.administered_at)
    )
    frame = _times_from_epoch(
        _bulk_frame(
            session, query, ("patient_id", "administered_at", "route", "protocol", "clinician_id")
        ),
        "administered_at",
    )
    audit.record(session, actor=actor, action=audit.Action.VIEW_COHORT_INFUSIONS)
    return _pseudonymise(_with_nullable_ints(frame, "clinician_id"), actor)
