"""The clinic's records as SQLAlchemy 2.0 tables.

Every row belongs to a clinic (``clinic_id``), so that access can always be decided by
clinic. Item answers are the source of truth of an assessment; its total, severity, flags
and validity are derived by :mod:`outcomes`, stored for fast queries, and stamped with the
scoring version so that ``outcomes rescore`` can recompute them after a rule change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# The infusion vocabulary is clinical and lives in outcomes; named here too for the modules
# that check stored rows against it.
from outcomes.infusion_terms import ROUTE_LABELS as ROUTE_LABELS
from outcomes.infusion_terms import ROUTES as ROUTES
from outcomes.infusion_terms import SIDE_EFFECTS as SIDE_EFFECTS

# Named constraints make Alembic migrations reproducible on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")

ROLES = ("patient", "clinician", "administrator")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A moment in time, stored in UTC and always read back time-zone aware.

    SQLite keeps no time zone, so without this a value would come back naive there and
    aware on PostgreSQL; naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a time without a time zone cannot be stored; give it in UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JsonType,
        list[str]: JsonType,
        dt.datetime: UTCDateTime(),
    }


class Clinic(Base):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # A demo clinic holds synthetic records only; the app labels it so everywhere.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClinicDataVersion(Base):
    """A clinic's data version, as counters a write bumps one of (migration 0011).

    Every write that changes a patient's course bumps one slot (its patient's id modulo
    ``data.course_state.VERSION_SLOTS``); the version is their sum, which grows with every
    committed write and is read in one statement. One row per clinic made every check-in of a
    clinic wait for the one before to commit on PostgreSQL (the row's lock is held through
    the commit): the load benchmark's p95 went from 22 to 130 ms.
    """

    __tablename__ = "clinic_data_version"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ClinicSettings(Base):
    __tablename__ = "clinic_settings"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), primary_key=True)
    checkin_instruments: Mapped[list[str]] = mapped_column(default=lambda: ["phq9", "gad7"])
    checkin_cadence_days: Mapped[int] = mapped_column(Integer, default=7)
    crisis_text: Mapped[str | None] = mapped_column(Text, default=None)
    # Overrides of outcomes.rules.Rules, e.g. {"gad7": {"max_missing": 2}}.
    rule_overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The IANA name of the clinic's own time zone: the infusion form's times are entered in it
    # (migration 0006; clinics from before it are "UTC" until an administrator sets theirs).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The crisis panel's numbers and the hours the care team reads alerts (migration 0008;
    # None means data.clinic's defaults: 988 to call or text, 911 in an emergency).
    crisis_call_number: Mapped[str | None] = mapped_column(String(20))
    crisis_text_number: Mapped[str | None] = mapped_column(String(20))
    emergency_number: Mapped[str | None] = mapped_column(String(20))
    clinic_hours: Mapped[str | None] = mapped_column(Text)
    # Messages (issue 14, migration 0010), in the clinic's time zone: no reminder in quiet
    # hours; a safety alert escalates after escalation_minutes unacknowledged when the clinic
    # is open (clinic_days: 0 = Monday, opens to closes), and the crisis text says when not.
    quiet_hours_start: Mapped[str] = mapped_column(
        String(5), default="21:00", server_default="21:00"
    )
    quiet_hours_end: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    clinic_opens: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    clinic_closes: Mapped[str] = mapped_column(String(5), default="18:00", server_default="18:00")
    clinic_days: Mapped[str] = mapped_column(
        String(20), default="0,1,2,3,4", server_default="0,1,2,3,4"
    )
    escalation_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    max_reminders: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # When the clinic switched reminders on (None: off); completeness is compared before/after.
    reminders_on_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    __tablename__ = "app_user"
    # Usernames are unique whatever their case: single sign-on looks them up that way, so
    # "Demo-Admin" and "demo-admin" must be one account (migration 0005). The database's own
    # lower() on both sides of every lookup keeps lookups and this index in agreement.
    __table_args__ = (Index("uq_app_user_username_lower", text("lower(username)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sessions signed in before this moment are over ("sign out everywhere").
    sessions_valid_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Where a staff member is told of a safety alert about their patient (issue 14); a
    # patient's own contact details are on their patient record.
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("clinic_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    # A contact phone as typed (data.patients' rule: digits, spaces and + - ( ) . only).
    phone: Mapped[str | None] = mapped_column(String(40))
    # For reminders (migration 0008): an email address and a BCP 47 language tag ("en", "es").
    email: Mapped[str | None] = mapped_column(String(254))
    preferred_language: Mapped[str | None] = mapped_column(String(35))
    assigned_clinician_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TreatmentCourse(Base):
    __tablename__ = "treatment_course"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    indication: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)


class Infusion(Base):
    __tablename__ = "infusion"
    __table_args__ = (
        Index("ix_infusion_patient_time", "patient_id", "administered_at"),
        # Each patient's first infusion across a clinic, read from the index alone.
        Index("ix_infusion_clinic_patient_time", "clinic_id", "patient_id", "administered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_course.id"))
    administered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    route: Mapped[str] = mapped_column(String(40))
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    systolic_before: Mapped[int | None] = mapped_column(Integer)
    diastolic_before: Mapped[int | None] = mapped_column(Integer)
    heart_rate_before: Mapped[int | None] = mapped_column(Integer)
    systolic_40min: Mapped[int | None] = mapped_column(Integer)
    diastolic_40min: Mapped[int | None] = mapped_column(Integer)
    heart_rate_40min: Mapped[int | None] = mapped_column(Integer)
    systolic_discharge: Mapped[int | None] = mapped_column(Integer)
    diastolic_discharge: Mapped[int | None] = mapped_column(Integer)
    heart_rate_discharge: Mapped[int | None] = mapped_column(Integer)
    spo2_min: Mapped[int | None] = mapped_column(Integer)
    dissociation_cadss6: Mapped[int | None] = mapped_column(Integer)
    # Modified Observer's Assessment of Alertness/Sedation (MOAA/S), 5 = awake.
    sedation_moaas: Mapped[int | None] = mapped_column(Integer)
    side_effects: Mapped[list[str]] = mapped_column(default=list)
    side_effects_note: Mapped[str | None] = mapped_column(Text)
    # The weight the dose was given for, so mg/kg is computed from what was measured
    # (migration 0006).
    weight_kg: Mapped[float | None] = mapped_column(Float)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Entered in error: the row is kept (and audited) but no longer counted anywhere; who
    # marked it, when and why (migration 0006).
    entered_in_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    entered_in_error_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entered_in_error_reason: Mapped[str | None] = mapped_column(Text)


class Assessment(Base):
    __tablename__ = "assessment"
    __table_args__ = (
        # A form key is used once per clinic. Partial: imported records have none, and
        # indexing their NULLs only slowed bulk imports (NULLs never collide anyway).
        Index(
            "uq_assessment_clinic_idempotency_key",
            "clinic_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index(
            "ix_assessment_patient_instrument_time", "patient_id", "instrument", "administered_at"
        ),
        # Covers the clinic-wide reads (cohort totals, weekly aggregates): index-only scans
        # in patient and time order, never touching the rows' answers.
        Index(
            "ix_assessment_clinic_instrument_patient_time",
            "clinic_id",
            "instrument",
            "patient_id",
            "administered_at",
            "valid",
            "total",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    instrument: Mapped[str] = mapped_column(String(40))
    administered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(20))
    # The source of truth: item key -> answer (None when unanswered).
    answers: Mapped[dict[str, Any]] = mapped_column()
    total: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(40))
    flags: Mapped[list[str]] = mapped_column(default=list)
    valid: Mapped[bool] = mapped_column(Boolean)
    scoring_version: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A patient's correction of their own answers (spec section 3): the new row names the one
    # it corrects, and that one is marked superseded; both are kept, outcomes use the latest.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SafetyAlert(Base):
    __tablename__ = "safety_alert"
    __table_args__ = (Index("ix_safety_alert_clinic_open", "clinic_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"))
    kind: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_clinic_at", "clinic_id", "at"),
        Index("ix_audit_event_patient_at", "patient_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_name: Mapped[str] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(80))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What the action was done to, in words that hold no patient data ("account demo-admin",
    # "alert 12"): the patient, where there is one, is patient_id (migration 0008).
    subject: Mapped[str | None] = mapped_column(String(200))


class UserSession(Base):
    """A browser's signed-in session, kept so a reload (or another replica) finds it again.

    The browser holds a token in an HttpOnly cookie; only its SHA-256 is stored here, so a
    copy of the database signs nobody in. A session ends when it idles past its clinic's
    limit, reaches ``expires_at``, is revoked (sign out, "sign out everywhere"), or its user
    is disabled.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A one-time ticket the signed-in page exchanges for the cookie (None once used).
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PatientState(Base):
    """What every page reads of one patient, kept current on write (migration 0009).

    Derived from the patient's answers, infusions and alerts by ``data.course_state`` in the
    same transaction as each write that changes them; ``outcomes verify`` recomputes it all
    and reports any drift. Never the source of truth.
    """

    __tablename__ = "patient_state"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    infusions: Mapped[int] = mapped_column(Integer, default=0)
    first_infusion_date: Mapped[dt.date | None] = mapped_column(Date)
    last_infusion_date: Mapped[dt.date | None] = mapped_column(Date)
    # The latest counted check-in of any instrument (a corrected one counts once).
    last_checkin_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The next scheduled check-in after the last one (None before the first infusion: a
    # baseline is due at once).
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    # The last clinic day of that check-in's window (migration 0012): "overdue" after it.
    next_due_closes: Mapped[dt.date | None] = mapped_column(Date)
    open_alerts: Mapped[int] = mapped_column(Integer, default=0)
    oldest_open_alert_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CourseState(Base):
    """One patient's course on one instrument, kept current on write (migration 0009).

    The columns of :func:`outcomes.course.course_facts` (what does not change with the day
    it is seen; :func:`outcomes.course.courses_at` adds the status of any day), the response
    episodes, and the facts the outcomes page aggregates (time points, days with a score).
    """

    __tablename__ = "course_state"
    __table_args__ = (Index("ix_course_state_clinic_instrument", "clinic_id", "instrument"),)

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(40), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    first_infusion_date: Mapped[dt.date | None] = mapped_column(Date)
    last_infusion_date: Mapped[dt.date | None] = mapped_column(Date)
    infusions: Mapped[int] = mapped_column(Integer, default=0)
    completed_induction: Mapped[bool] = mapped_column(Boolean, default=False)
    baseline_date: Mapped[dt.date | None] = mapped_column(Date)
    baseline_total: Mapped[int | None] = mapped_column(Integer)
    latest_date: Mapped[dt.date | None] = mapped_column(Date)
    latest_total: Mapped[int | None] = mapped_column(Integer)
    # The latest counted administration of this instrument, valid or not.
    last_administered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    response_date: Mapped[dt.date | None] = mapped_column(Date)
    days_to_response: Mapped[int | None] = mapped_column(Integer)
    infusions_to_response: Mapped[int | None] = mapped_column(Integer)
    remission_date: Mapped[dt.date | None] = mapped_column(Date)
    days_to_remission: Mapped[int | None] = mapped_column(Integer)
    relapse_date: Mapped[dt.date | None] = mapped_column(Date)
    durable_response_days: Mapped[int | None] = mapped_column(Integer)
    censored: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_days: Mapped[int | None] = mapped_column(Integer)
    standing_status: Mapped[str] = mapped_column(String(32))
    # [[response date, relapse date or null], ...] as ISO dates, oldest first.
    episodes: Mapped[list[list[str | None]]] = mapped_column(JsonType, default=list)
    # Per time point of the outcomes page: outcomes.stored_timepoints.patient_timepoints.
    timepoints: Mapped[dict[str, Any] | None] = mapped_column()
    # Days 1-89 after the first infusion that have a valid score, for check-in completeness
    # (outcomes.completeness.checkin_days).
    scored_days: Mapped[list[int] | None] = mapped_column(JsonType)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The tables of messages that leave the building live in their own module; imported here so
# that Base.metadata (migrations, create_all) always holds them.
from data.notify import models as _notify_models  # noqa: E402, F401
