"""Each patient's course state, kept current on write (DESIGN.md, "Derived state kept current
on write").

Item answers stay the source of truth. What every page reads per patient is kept in two
tables: ``patient_state`` (infusions, last check-in, next due, open alerts) and
``course_state`` (per instrument: :func:`outcomes.course.course_facts`, the response
episodes, and what the outcomes page aggregates). Every write that changes a course (a
check-in or its correction, an infusion or its retraction, an import, a rescore, an alert
raised or acknowledged, a rule change) calls :func:`refresh_patients` in its own transaction:
the patients it touched are recomputed from their own records, with the same
:mod:`outcomes` functions a full recomputation uses, so the cost grows with one patient's
history and never with the clinic. Each refresh also bumps the clinic's ``data_version``, the
stamp cached clinic-wide aggregates are keyed on.

:func:`drift` recomputes a whole clinic from its records and compares it with what is stored
(``outcomes verify``); :func:`build_missing` fills the tables for clinics whose state was
never built (a database upgraded to migration 0009).

These functions act for nobody: the writers that call them have checked their actor already,
and the readers that return stored state to a person check and audit there
(``data.records``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from typing import cast as typed

import numpy as np
import pandas as pd
from sqlalchemy import (
    Engine,
    Integer,
    String,
    Table,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data.clinic import ClinicConfig, clinic_config
from data.models import (
    Assessment,
    ClinicDataVersion,
    CourseState,
    Infusion,
    Patient,
    PatientState,
    SafetyAlert,
    TreatmentCourse,
    utcnow,
)
from data.notify.models import PlannedInfusion
from data.records.assessments import counted
from data.schedule_store import ScheduleInputs, one_patient_inputs, schedule_inputs
from outcomes.checkin_windows import clinic_date
from outcomes.completeness import checkin_days
from outcomes.course import FACT_COLUMNS, course_facts
from outcomes.episodes import episodes
from outcomes.instruments import course_instruments
from outcomes.patient_course import patient_course
from outcomes.rules import Rules
from outcomes.schedule import measurement_windows, next_window_after, windows_through
from outcomes.stored_timepoints import patient_timepoints

__all__ = [
    "PATIENT_STATE_COLUMNS",
    "StateDrift",
    "build_clinic",
    "build_missing",
    "bump_data_version",
    "data_version",
    "drift",
    "refresh_patients",
    "stored_course_facts",
    "stored_patient_states",
]

PATIENT_STATE_COLUMNS = (
    "infusions",
    "first_infusion_date",
    "last_infusion_date",
    "last_checkin_at",
    "next_due",
    "open_alerts",
    "oldest_open_alert_at",
)
"""The derived columns of ``patient_state``, as :func:`stored_patient_states` returns them."""

_COURSE_COLUMNS = (*FACT_COLUMNS, "last_administered_at", "episodes", "timepoints", "scored_days")

_EPOCH = dt.date(1970, 1, 1)

# A clinic is recomputed this many patients at a time: one read of their records each, so a
# full build or verify holds one chunk's history in memory, never a large clinic's.
_CHUNK = 2_000


@dataclass(frozen=True)
class _Rows:
    """The records a course is computed from, for some patients of one clinic, as read."""

    # (patient_id, instrument, administered_at, total or None for an invalid form), in
    # patient and time order
    assessments: list[tuple[int, str, dt.datetime, int | None]]
    infusions: list[tuple[int, dt.datetime]]  # (patient_id, administered_at)
    alerts: list[tuple[int, dt.datetime]]  # (patient_id, created_at) of the open ones
    # Each patient's measurement schedule and open bookings, and the clinic's time zone: what
    # "next due" is computed from (outcomes.schedule).
    schedule: ScheduleInputs = field(default_factory=lambda: ScheduleInputs({}, {}))
    time_zone: str = "UTC"


@dataclass(frozen=True)
class _Records:
    """:class:`_Rows` as the frames of :mod:`outcomes.course` (the vectorised path)."""

    assessments: pd.DataFrame  # patient_id, instrument, administered_at, total (NA: invalid)
    infusions: pd.DataFrame  # patient_id, administered_at
    alerts: pd.DataFrame  # patient_id, created_at (open ones)


def _reads(one: bool) -> Any:
    """The one read of :func:`_read_rows` (built once, for one patient or a list): the
    patients' counted scores, infusions and open alerts as one ``UNION ALL``, so a write's
    refresh costs one round trip, each row tagged with its kind (0, 1, 2). For one patient,
    also what their measurement schedule needs (issue 14): open bookings (3) and the protocol
    of their latest treatment course (4, in the instrument column)."""
    clinic: Any = bindparam("clinic_id")

    def only(column: Any) -> Any:
        # One patient (a write's refresh) as an equality; a list as an expanding IN.
        return (
            column == bindparam("patient_id")
            if one
            else column.in_(bindparam("patient_ids", expanding=True))
        )

    nothing = (cast(null(), String(40)), cast(null(), Integer))
    scores = select(
        literal_column("0").label("kind"),
        Assessment.patient_id,
        Assessment.instrument,
        Assessment.administered_at.label("at"),
        # An invalid form counts for nothing but is still a check-in (outcomes: None).
        case((Assessment.valid.is_(True), Assessment.total), else_=None),
        Assessment.id.label("seq"),
    ).where(
        # "+ 0": the clinic's term is checked but not used to pick an index. SQLite has no
        # statistics to tell the patient's index from the clinic's and took the clinic's,
        # reading a 1,000,000-assessment clinic's whole index for one patient (150 ms of a
        # check-in, profiled); PostgreSQL takes the patient's index either way.
        Assessment.clinic_id + 0 == clinic,
        only(Assessment.patient_id),
        counted(),
    )
    given: Any = select(
        literal_column("1"),
        Infusion.patient_id,
        nothing[0],
        Infusion.administered_at,
        nothing[1],
        Infusion.id,
    ).where(
        Infusion.clinic_id == clinic,
        only(Infusion.patient_id),
        Infusion.entered_in_error_at.is_(None),
    )
    open_alerts: Any = select(
        literal_column("2"),
        SafetyAlert.patient_id,
        nothing[0],
        SafetyAlert.created_at,
        nothing[1],
        SafetyAlert.id,
    ).where(
        SafetyAlert.clinic_id == clinic,
        only(SafetyAlert.patient_id),
        SafetyAlert.acknowledged_at.is_(None),
    )
    parts = [scores, given, open_alerts]
    if one:
        parts.append(
            select(
                literal_column("3"),
                PlannedInfusion.patient_id,
                nothing[0],
                PlannedInfusion.planned_at,
                nothing[1],
                PlannedInfusion.id,
            ).where(
                only(PlannedInfusion.patient_id),
                PlannedInfusion.infusion_id.is_(None),
                PlannedInfusion.cancelled_at.is_(None),
            )
        )
        parts.append(
            select(
                literal_column("4"),
                bindparam("patient_id", type_=Integer),
                select(TreatmentCourse.protocol)
                .where(only(TreatmentCourse.patient_id))
                .order_by(TreatmentCourse.started_on.desc(), TreatmentCourse.id.desc())
                .limit(1)
                .scalar_subquery(),
                cast(null(), Assessment.administered_at.type),
                nothing[1],
                nothing[1],
            )
        )
    # The order a same-day repeat is read in decides the latest score (outcomes' rule): the
    # same order on every path (patient, time, id).
    return union_all(*parts).order_by(
        literal_column("kind"),
        literal_column("patient_id"),
        literal_column("at"),
        literal_column("seq"),
    )


# Built once, values bound at each refresh: building the statements per call cost more than
# SQLite's work for one patient's rows (measured: a check-in's refresh, profiled).
_READ_ONE, _READ_MANY = _reads(True), _reads(False)


def _read_rows(
    session: Session, clinic_id: int, patient_ids: Sequence[int], time_zone: str | None = None
) -> _Rows:
    # The writer's own changes first (an acknowledged alert is still an ORM object); then
    # the read goes to the connection as a Core statement, past the ORM's execution path.
    session.flush()
    values: dict[str, Any] = {"clinic_id": clinic_id}
    if len(patient_ids) == 1:
        statement, values["patient_id"] = _READ_ONE, patient_ids[0]
    else:
        statement, values["patient_ids"] = _READ_MANY, list(patient_ids)
    found: tuple[list[Any], ...] = ([], [], [], [], [])
    for row in session.connection().execute(statement, values):
        found[row[0]].append(row)
    scores, given, open_alerts, planned, protocol = found
    return _Rows(
        [(int(p), str(i), when, total) for _, p, i, when, total, _ in scores],
        [(int(p), when) for _, p, _, when, _, _ in given],
        [(int(p), when) for _, p, _, when, _, _ in open_alerts],
        (
            one_patient_inputs(
                session,
                clinic_id=clinic_id,
                patient_id=patient_ids[0],
                planned=[when for _, _, _, when, _, _ in planned],
                protocol=next((name for _, _, name, _, _, _ in protocol), None),
            )
            if len(patient_ids) == 1
            else schedule_inputs(
                session, clinic_id=clinic_id, patient_ids=patient_ids, planned_only=True
            )
        ),
        time_zone or clinic_config(session, clinic_id).time_zone,
    )


def _frames(rows: _Rows) -> _Records:
    assessments = pd.DataFrame(
        rows.assessments, columns=["patient_id", "instrument", "administered_at", "total"]
    )
    assessments["total"] = pd.array(assessments["total"].tolist(), dtype="Int64")
    assessments["administered_at"] = pd.to_datetime(assessments["administered_at"], utc=True)
    infusions = pd.DataFrame(rows.infusions, columns=["patient_id", "administered_at"])
    infusions["administered_at"] = pd.to_datetime(infusions["administered_at"], utc=True)
    alerts = pd.DataFrame(rows.alerts, columns=["patient_id", "created_at"])
    return _Records(assessments, infusions, alerts)


def _episode_dates(
    instrument: str, facts: pd.DataFrame, scores: pd.DataFrame, rules: Rules
) -> dict[int, list[list[str | None]]]:
    """Every response episode of the patients who responded, as ISO dates."""
    found: dict[int, list[list[str | None]]] = {}
    responded = facts.index[facts["response_date"].notna()]
    if not len(responded):
        return found
    valid = scores[scores["total"].notna() & scores["patient_id"].isin(responded)]
    days = valid["administered_at"].dt.date
    first_infusion: dict[Any, dt.date] = facts["first_infusion_date"].to_dict()
    for patient_id, rows in valid.groupby("patient_id", sort=False).groups.items():
        pairs = zip(days[rows], valid["total"][rows].astype(int), strict=True)
        found[int(str(patient_id))] = [
            [
                episode.response_date.isoformat(),
                episode.relapse_date.isoformat() if episode.relapse_date else None,
            ]
            for episode in episodes(
                instrument,
                baseline_date=first_infusion[patient_id],
                assessments=list(pairs),
                rules=rules,
            )
        ]
    return found


def _python(value: Any) -> Any:
    """A frame's value as the database driver takes it (None for every kind of missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _patient_row(
    patient_id: int,
    *,
    infusions: int,
    first: dt.date | None,
    last: dt.date | None,
    last_checkin_at: dt.datetime | None,
    open_alerts: int,
    oldest_open_alert_at: dt.datetime | None,
    rules: Rules,
    rows: _Rows,
    given: Sequence[dt.datetime],
) -> dict[str, Any]:
    """One ``patient_state`` row. The next check-in is due by the patient's measurement
    schedule (course-and-reporting §4) over their recorded infusions (``given``) and open
    bookings: the first window after the one of their latest check-in, a missed one staying
    due (None with no infusion given or booked: a baseline may be taken at any time)."""
    zone = rows.time_zone
    times = [*given, *rows.schedule.times(patient_id)]
    checked = None if last_checkin_at is None else clinic_date(last_checkin_at, zone)
    # Far enough past the latest check-in and the latest infusion to hold the next window.
    latest = max(
        [clinic_date(t, zone) for t in times] + ([checked] if checked else []), default=_EPOCH
    )
    schedule = rows.schedule.schedule(patient_id)
    windows = measurement_windows(
        schedule,
        infusions=times,
        time_zone=zone,
        through=windows_through(latest, schedule),
        # Only the windows from the latest check-in's on decide what is next.
        since=checked,
        rules=rules,
    )
    upcoming = next_window_after(windows, last_checkin=checked)
    return {
        "patient_id": patient_id,
        "infusions": infusions,
        "first_infusion_date": first,
        "last_infusion_date": last,
        "last_checkin_at": last_checkin_at,
        "next_due": None if upcoming is None else upcoming.due,
        "next_due_closes": None if upcoming is None else upcoming.closes,
        "open_alerts": open_alerts,
        "oldest_open_alert_at": oldest_open_alert_at,
    }


def _expected(
    rows: _Rows,
    patient_ids: Iterable[int],
    *,
    rules: Rules,
    cadence_days: int,
    instruments: Collection[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``patient_state`` and ``course_state`` rows the records give, as column dicts
    (``course_state`` for ``instruments`` only, when given), vectorised over patients."""
    records = _frames(rows)
    scores = records.assessments
    patient_rows: list[dict[str, Any]] = []
    course_rows: list[dict[str, Any]] = []
    infusion_days = records.infusions.assign(day=records.infusions["administered_at"].dt.date)
    by_patient = infusion_days.groupby("patient_id")["day"]
    # Plain dicts: a Series' get() of an int treats it as a position on an empty index.
    first_day, last_day = by_patient.min().to_dict(), by_patient.max().to_dict()
    count = by_patient.size().to_dict()
    last_checkin = scores.groupby("patient_id")["administered_at"].max().to_dict()
    alerts = records.alerts.groupby("patient_id")["created_at"]
    open_count, oldest_alert = alerts.size().to_dict(), alerts.min().to_dict()
    given_at: dict[int, list[dt.datetime]] = {}
    for who, when in rows.infusions:
        given_at.setdefault(who, []).append(when)
    for patient_id in patient_ids:
        first = first_day.get(patient_id)
        patient_rows.append(
            _patient_row(
                patient_id,
                infusions=int(count.get(patient_id, 0)),
                first=first,
                last=last_day.get(patient_id),
                last_checkin_at=_python(last_checkin.get(patient_id)),
                open_alerts=int(open_count.get(patient_id, 0)),
                oldest_open_alert_at=_python(oldest_alert.get(patient_id)),
                rules=rules,
                rows=rows,
                given=given_at.get(patient_id, []),
            )
        )
    for definition in course_instruments():
        if instruments is not None and definition.id not in instruments:
            continue
        mine = scores[scores["instrument"] == definition.id]
        facts = course_facts(definition, mine, records.infusions, rules=rules)
        if facts.empty:
            continue
        found = _episode_dates(definition.id, facts, mine, rules)
        last_at = mine.groupby("patient_id")["administered_at"].max().to_dict()
        # Filled in by the outcomes page's own facts (outcomes.timepoints) where they exist.
        # ---- timepoint facts: begin ----
        # The outcomes page's facts (outcomes.timepoints, outcomes.completeness) with the very
        # functions _expected_few calls, patient by patient over the rows as read: the same
        # JSON on both paths by construction, at some 0.1 ms a patient.
        dated: dict[int, list[tuple[dt.date, int | None]]] = {}
        for who, name, when, total in rows.assessments:
            if name == definition.id:
                dated.setdefault(who, []).append((when.date(), total))
        given_on: dict[int, list[dt.date]] = {}
        for who, when in rows.infusions:
            given_on.setdefault(who, []).append(when.date())
        timepoints: dict[Any, Any] = {}
        scored_days: dict[Any, Any] = {}
        for patient_id, first in zip(facts.index, facts["first_infusion_date"], strict=True):
            scored = dated.get(int(patient_id), [])
            timepoints[patient_id] = patient_timepoints(
                given_on.get(int(patient_id), []), scored, rules=rules
            )
            # The days after the first infusion with a valid score (stored as scored_days).
            scored_days[patient_id] = checkin_days(
                first, [day for day, total in scored if total is not None]
            )
        # ---- timepoint facts: end ----
        for patient_id, row in zip(facts.index, facts.itertuples(index=False), strict=True):
            values = {
                column: _python(value) for column, value in zip(FACT_COLUMNS, row, strict=True)
            }
            course_rows.append(
                {
                    "patient_id": int(patient_id),
                    "instrument": definition.id,
                    **values,
                    "last_administered_at": _python(last_at.get(patient_id)),
                    "episodes": found.get(int(patient_id), []),
                    "timepoints": timepoints.get(patient_id),
                    "scored_days": scored_days.get(patient_id),
                }
            )
    return patient_rows, course_rows


def _expected_few(
    rows: _Rows,
    patient_ids: Iterable[int],
    *,
    rules: Rules,
    cadence_days: int,
    instruments: Collection[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`_expected` for a few patients, one at a time in plain Python.

    The readable one-patient rules (:func:`outcomes.patient_course.patient_course`), which
    the vectorised :func:`outcomes.course.course_facts` is tested against: a write's refresh
    costs about a millisecond instead of the fixed cost of the clinic-wide frames.
    """
    patient_rows: list[dict[str, Any]] = []
    course_rows: list[dict[str, Any]] = []
    wanted = [
        definition.id
        for definition in course_instruments()
        if instruments is None or definition.id in instruments
    ]
    for patient_id in patient_ids:
        given_at = [when for who, when in rows.infusions if who == patient_id]
        given = sorted(when.date() for when in given_at)
        taken = [
            (name, when, total) for who, name, when, total in rows.assessments if who == patient_id
        ]
        alerts = [when for who, when in rows.alerts if who == patient_id]
        last_at = max((when for _, when, _ in taken), default=None)
        first = given[0] if given else None
        patient_rows.append(
            _patient_row(
                patient_id,
                infusions=len(given),
                first=first,
                last=given[-1] if given else None,
                last_checkin_at=last_at,
                open_alerts=len(alerts),
                oldest_open_alert_at=min(alerts, default=None),
                rules=rules,
                rows=rows,
                given=given_at,
            )
        )
        for instrument in wanted:
            dated = [(when.date(), total) for name, when, total in taken if name == instrument]
            if not dated and not given:
                continue
            latest = max((day for day, total in dated if total is not None), default=None)
            # The status on the day of the latest score: neither course_ended nor
            # lost_to_follow_up can apply yet (outcomes.course.course_facts' standing status).
            course = patient_course(
                instrument,
                infusion_dates=given,
                assessments=dated,
                rules=rules,
                today=latest or first or dt.date(1970, 1, 1),
            )
            values = dataclasses.asdict(course)
            del values["status"], values["losing_response"]
            found = (
                episodes(instrument, baseline_date=first, assessments=dated, rules=rules)
                if first is not None and course.response_date is not None
                else ()
            )
            course_rows.append(
                {
                    "patient_id": patient_id,
                    "instrument": instrument,
                    **values,
                    "standing_status": course.status,
                    "last_administered_at": max(
                        (when for name, when, _ in taken if name == instrument), default=None
                    ),
                    "episodes": [
                        [
                            episode.response_date.isoformat(),
                            episode.relapse_date.isoformat() if episode.relapse_date else None,
                        ]
                        for episode in found
                    ],
                    # ---- timepoint facts (one patient): begin ----
                    "timepoints": patient_timepoints(given, dated, rules=rules),
                    "scored_days": checkin_days(
                        first, [day for day, total in dated if total is not None]
                    ),
                    # ---- timepoint facts (one patient): end ----
                }
            )
    return patient_rows, course_rows


# Up to this many patients a refresh computes them one by one (a write's refresh); more go
# through the vectorised frames (imports, rescores, builds).
_FEW = 20


def _clinic_rules(session: Session, clinic_id: int) -> tuple[Rules, int]:
    config = clinic_config(session, clinic_id)
    return config.rules, config.checkin_cadence_days


def refresh_patients(
    session: Session,
    *,
    clinic_id: int,
    patient_ids: Collection[int],
    instruments: Collection[str] | None = None,
    config: ClinicConfig | None = None,
) -> None:
    """Recompute the course state of ``patient_ids`` (of ``clinic_id``) from their records.

    Called in the transaction of every write that changes a course, after the write (last,
    just before the commit: the data version's row is then locked for the commit only). The
    rows are replaced, so a refresh is right whatever it follows. ``instruments`` narrows the
    courses recomputed to those a write touched (a check-in: its instruments; an infusion
    changes every course, so none is given); ``patient_state`` is always recomputed. Bumps
    the clinic's data version. Cost: the patients' own records, never the clinic's.
    ``config`` is the clinic's :func:`data.clinic.clinic_config` when the caller has read it
    already (a check-in has): it is not read again.
    """
    ids = sorted({int(p) for p in patient_ids})
    if not ids:
        return
    if config is None or config.clinic_id != clinic_id:
        config = clinic_config(session, clinic_id)
    rules, cadence = config.rules, config.checkin_cadence_days
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        compute = _expected_few if len(chunk) <= _FEW else _expected
        patient_rows, course_rows = compute(
            _read_rows(session, clinic_id, chunk, config.time_zone),
            chunk,
            rules=rules,
            cadence_days=cadence,
            instruments=instruments,
        )
        bumped = _replace(session, clinic_id, chunk, patient_rows, course_rows, instruments)
    if not bumped:
        bump_data_version(session, clinic_id=clinic_id, slot=ids[0])


def _upsert(table: Table, key: tuple[str, ...]) -> dict[str, Any]:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of every other column, per dialect."""
    statements: dict[str, Any] = {}
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        statement = dialect_insert(table)
        statements[name] = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in key},
        )
    return statements


# Built once per database, values bound at each refresh (as data.records.assessments'
# check-in insert): a write's refresh replaces its rows in place, one statement per table.
_PATIENTS = typed(Table, PatientState.__table__)
_COURSES = typed(Table, CourseState.__table__)
_UPSERT_PATIENT = _upsert(_PATIENTS, ("patient_id",))
_UPSERT_COURSE = _upsert(_COURSES, ("patient_id", "instrument"))


def _replace(
    session: Session,
    clinic_id: int,
    patient_ids: Sequence[int],
    patient_rows: list[dict[str, Any]],
    course_rows: list[dict[str, Any]],
    instruments: Collection[str] | None,
) -> bool:
    """Write the rows; True when the clinic's data version was bumped with them (one
    PostgreSQL round trip for a check-in's refresh)."""
    now = utcnow()
    connection = session.connection()
    patients, courses = _PATIENTS, _COURSES
    patient_values = [{**row, "clinic_id": clinic_id, "updated_at": now} for row in patient_rows]
    course_values = [{**row, "clinic_id": clinic_id, "updated_at": now} for row in course_rows]
    if len(patient_ids) == 1:
        # A write's refresh: its rows updated in place, and a course row deleted only where
        # the patient no longer has that course (an infusion entered in error, say). A
        # check-in's own course always has a row again: no delete at all.
        dialect = connection.dialect.name
        kept = {row["instrument"] for row in course_rows}
        gone = (
            None
            if instruments is None
            else {d.id for d in course_instruments() if d.id in instruments} - kept
        )
        if dialect == "postgresql" and gone == set() and len(course_values) == 1:
            # A check-in's refresh: both rows and the data version in one statement (each
            # round trip to the server cost about 0.3 ms of a check-in's 6, profiled).
            values = {f"p_{key}": value for key, value in patient_values[0].items()}
            values.update({f"c_{key}": value for key, value in course_values[0].items()})
            values.update(v_clinic_id=clinic_id, v_slot=patient_ids[0] % VERSION_SLOTS)
            connection.execute(_WRITE_ONE_COURSE, values)
            return True
        if patient_values:
            connection.execute(_UPSERT_PATIENT[dialect], patient_values)
        if course_values:
            connection.execute(_UPSERT_COURSE[dialect], course_values)
        mine = courses.c.patient_id == patient_ids[0]
        if gone is None:
            connection.execute(delete(courses).where(mine, courses.c.instrument.not_in(kept)))
        elif gone:
            connection.execute(delete(courses).where(mine, courses.c.instrument.in_(gone)))
        return False
    for table in (courses, patients):
        statement = delete(table).where(table.c.patient_id.in_(patient_ids))
        if table is courses and instruments is not None:
            statement = statement.where(courses.c.instrument.in_(sorted(instruments)))
        connection.execute(statement)
    if patient_values:
        connection.execute(insert(patients), patient_values)
    if course_values:
        connection.execute(insert(courses), course_values)
    return False


def _clinic_patient_ids(session: Session, clinic_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Patient.id).where(Patient.clinic_id == clinic_id).order_by(Patient.id)
        )
    )


def build_clinic(session: Session, *, clinic_id: int) -> int:
    """Recompute the course state of every patient of ``clinic_id``; how many patients.

    For a clinic whose state was never built, and after a change of the clinic's rules or
    check-in cadence (every course may change). Chunked: one chunk's records in memory.
    """
    ids = _clinic_patient_ids(session, clinic_id)
    refresh_patients(session, clinic_id=clinic_id, patient_ids=ids)
    if not ids:
        bump_data_version(session, clinic_id=clinic_id)
    return len(ids)


def build_missing(engine: Engine) -> list[int]:
    """Build the course state of every clinic that has patients without one; their ids.

    Run by ``data.schema.upgrade`` after migrating, so a database from before migration 0009
    (or restored from a dump without these tables' rows) is complete before any page reads it.
    Cheap when nothing is missing: two counts per clinic.
    """
    built: list[int] = []
    with Session(engine) as session, session.begin():
        patients = dict(
            session.execute(
                select(Patient.clinic_id, func.count()).group_by(Patient.clinic_id)
            ).all()
        )
        states = dict(
            session.execute(
                select(PatientState.clinic_id, func.count()).group_by(PatientState.clinic_id)
            ).all()
        )
        for clinic_id, count in patients.items():
            if states.get(clinic_id, 0) != count:
                build_clinic(session, clinic_id=clinic_id)
                built.append(int(clinic_id))
    return built


VERSION_SLOTS = 16
"""How many counters a clinic's data version is spread over: writes of different patients
bump different rows, so they do not wait for each other's commit (migration 0011)."""

_VERSIONS = typed(Table, ClinicDataVersion.__table__)
_BUMP = {
    name: dialect_insert(_VERSIONS)
    .values(clinic_id=bindparam("clinic_id"), slot=bindparam("slot"), version=1)
    .on_conflict_do_update(
        index_elements=["clinic_id", "slot"],
        set_={"version": _VERSIONS.c.version + 1},
    )
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_READ_VERSION = select(func.coalesce(func.sum(_VERSIONS.c.version), 0)).where(
    _VERSIONS.c.clinic_id == bindparam("clinic_id")
)


def _write_one_course() -> Any:
    """PostgreSQL: one patient's ``patient_state`` and one ``course_state`` upserted and the
    data version bumped, as data-modifying CTEs of one statement (values bound as ``p_*``,
    ``c_*`` and ``v_*``)."""

    def upserted(table: Table, key: tuple[str, ...], prefix: str, name: str) -> Any:
        statement = postgresql.insert(table).values(
            {c.name: bindparam(f"{prefix}{c.name}", type_=c.type) for c in table.columns}
        )
        return (
            statement.on_conflict_do_update(
                index_elements=list(key),
                set_={
                    c.name: statement.excluded[c.name] for c in table.columns if c.name not in key
                },
            )
            .returning(table.c.patient_id)
            .cte(name)
        )

    patient = upserted(_PATIENTS, ("patient_id",), "p_", "patient_written")
    course = upserted(_COURSES, ("patient_id", "instrument"), "c_", "course_written")
    bumped = (
        postgresql.insert(_VERSIONS)
        .values(clinic_id=bindparam("v_clinic_id"), slot=bindparam("v_slot"), version=1)
        .on_conflict_do_update(
            index_elements=["clinic_id", "slot"], set_={"version": _VERSIONS.c.version + 1}
        )
        .returning(_VERSIONS.c.version)
        .cte("version_bumped")
    )
    # One row each: joined on true, so the statement names no cartesian product.
    return select(patient.c.patient_id, course.c.patient_id, bumped.c.version).select_from(
        patient.join(course, true()).join(bumped, true())
    )


_WRITE_ONE_COURSE = _write_one_course()


def bump_data_version(session: Session, *, clinic_id: int, slot: int = 0) -> None:
    """Mark the clinic's data as changed: cached aggregates of it are stale from now on.

    ``slot`` spreads the clinic's writes over :data:`VERSION_SLOTS` rows (a patient's id
    modulo it): the version, their sum, grows with every committed write all the same.
    """
    connection = session.connection()
    connection.execute(
        _BUMP[connection.dialect.name],
        {"clinic_id": clinic_id, "slot": slot % VERSION_SLOTS},
    )


def data_version(session: Session, *, clinic_id: int) -> int:
    """The clinic's data version: it changes whenever any of its courses does.

    The sum of its counters, in one statement: every committed write adds to it, so two
    reads that see different data never see the same version."""
    return int(session.scalar(_READ_VERSION, {"clinic_id": clinic_id}) or 0)


def stored_course_facts(
    session: Session,
    *,
    clinic_id: int,
    instrument: str,
    patient_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """The stored ``course_state`` of one instrument, shaped like
    :func:`outcomes.course.course_facts` (index ``patient_id``, :data:`FACT_COLUMNS`), plus
    ``last_administered_at``, ``episodes``, ``timepoints`` and ``scored_days``.

    For :func:`outcomes.course.courses_at`. Reads no answers; access is the caller's.
    """
    columns = [getattr(CourseState, name) for name in _COURSE_COLUMNS]
    query = select(CourseState.patient_id, *columns).where(
        CourseState.clinic_id == clinic_id, CourseState.instrument == instrument
    )
    if patient_ids is not None:
        query = query.where(CourseState.patient_id.in_(list(patient_ids)))
    rows = session.execute(query.order_by(CourseState.patient_id)).all()
    frame = pd.DataFrame(rows, columns=["patient_id", *_COURSE_COLUMNS]).set_index("patient_id")
    return _as_course_frame(frame)


_INTEGER_COLUMNS = (
    "infusions",
    "baseline_total",
    "latest_total",
    "days_to_response",
    "infusions_to_response",
    "days_to_remission",
    "durable_response_days",
    "followup_days",
)
_DATE_COLUMNS = tuple(c for c in FACT_COLUMNS if c.endswith("_date"))


def _as_course_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored columns in the dtypes of :func:`outcomes.course.course_facts`."""
    for column in _INTEGER_COLUMNS:
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in ("completed_induction", "censored"):
        frame[column] = frame[column].astype(bool)
    for column in _DATE_COLUMNS:
        frame[column] = pd.Series(
            [None if day is None or day is pd.NaT else day for day in frame[column]],
            index=frame.index,
            dtype=object,
        )
    frame["standing_status"] = frame["standing_status"].astype(object)
    frame.index = frame.index.astype(object) if frame.empty else frame.index
    return frame


def stored_patient_states(
    session: Session, *, clinic_id: int, patient_ids: Collection[int] | None = None
) -> pd.DataFrame:
    """The stored ``patient_state`` rows (index ``patient_id``, :data:`PATIENT_STATE_COLUMNS`).

    Access is the caller's.
    """
    columns = [getattr(PatientState, name) for name in PATIENT_STATE_COLUMNS]
    query = select(PatientState.patient_id, *columns).where(PatientState.clinic_id == clinic_id)
    if patient_ids is not None:
        query = query.where(PatientState.patient_id.in_(list(patient_ids)))
    rows = session.execute(query.order_by(PatientState.patient_id)).all()
    return pd.DataFrame(rows, columns=["patient_id", *PATIENT_STATE_COLUMNS]).set_index(
        "patient_id"
    )


@dataclass(frozen=True)
class StateDrift:
    """One difference between the stored course state and a recomputation from the records.

    ``table`` is ``patient_state`` or ``course_state``; ``instrument`` is None for the former;
    ``column`` is the differing column, or ``"(row)"`` for a row missing on either side.
    """

    table: str
    patient_id: int
    instrument: str | None
    column: str
    stored: Any
    expected: Any


def _rows_by_key(
    rows: Iterable[dict[str, Any]], *key: str
) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[k] for k in key): row for row in rows}


def _same(stored: Any, expected: Any) -> bool:
    if isinstance(stored, dt.datetime) and isinstance(expected, dt.datetime):
        return stored.astimezone(dt.UTC) == expected.astimezone(dt.UTC)
    return bool(stored == expected)


def drift(session: Session, *, clinic_id: int, limit: int | None = None) -> list[StateDrift]:
    """Every difference between the stored course state of ``clinic_id`` and a full
    recomputation from its records (``outcomes verify``). Empty when the state is right.

    Recomputes in chunks of patients, with the functions every write uses, and compares
    column by column; stops after ``limit`` differences when given.
    """
    rules, cadence = _clinic_rules(session, clinic_id)
    ids = _clinic_patient_ids(session, clinic_id)
    found: list[StateDrift] = []
    patient_columns = [getattr(PatientState, name) for name in PATIENT_STATE_COLUMNS]
    course_columns = [getattr(CourseState, name) for name in _COURSE_COLUMNS]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        want_patients, want_courses = _expected(
            _read_rows(session, clinic_id, chunk), chunk, rules=rules, cadence_days=cadence
        )
        have_patients = [
            dict(row._mapping)
            for row in session.execute(
                select(PatientState.patient_id, *patient_columns).where(
                    PatientState.patient_id.in_(chunk)
                )
            )
        ]
        have_courses = [
            dict(row._mapping)
            for row in session.execute(
                select(CourseState.patient_id, CourseState.instrument, *course_columns).where(
                    CourseState.patient_id.in_(chunk)
                )
            )
        ]
        for table, have, want, key, compared in (
            ("patient_state", have_patients, want_patients, ("patient_id",), PATIENT_STATE_COLUMNS),
            (
                "course_state",
                have_courses,
                want_courses,
                ("patient_id", "instrument"),
                _COURSE_COLUMNS,
            ),
        ):
            stored, expected = _rows_by_key(have, *key), _rows_by_key(want, *key)
            for row_key in sorted(stored.keys() | expected.keys()):
                instrument = row_key[1] if len(row_key) > 1 else None
                if row_key not in stored or row_key not in expected:
                    found.append(
                        StateDrift(
                            table,
                            int(row_key[0]),
                            instrument,
                            "(row)",
                            "present" if row_key in stored else "missing",
                            "present" if row_key in expected else "missing",
                        )
                    )
                    continue
                for column in compared:
                    a, b = stored[row_key][column], expected[row_key][column]
                    if not _same(a, b):
                        found.append(StateDrift(table, int(row_key[0]), instrument, column, a, b))
                if limit is not None and len(found) >= limit:
                    return found[:limit]
    return found
