"""Assessments: the one place that writes them.

An assessment is one administration of a questionnaire, scored. Three paths store them, all
through here, in the caller's transaction:

* a check-in stores one (:func:`insert_unless_stored`: one ``INSERT ... ON CONFLICT DO
  NOTHING`` on the form's key, so a double submit stores it once), a patient's correction
  too (with ``corrects_id``; :func:`data.checkin.submit_checkin` marks the corrected one
  superseded, and readers keep only :func:`counted` rows);
* an import stores many (:func:`write_assessments`, or :func:`copy_staged_assessments` after
  the rows were staged on SQLite), already scored, through the database driver (the fast paths
  and their measured reasons are in :mod:`data.interchange.bulk`);
* the demo clinic stores its synthetic check-ins (:func:`write_assessments`, each record
  dated when it was answered, as a real check-in is).

Bulk rows are stored valid (a record that could not be scored is refused before it gets
here); a check-in's row says whether it is (a clinician's rating with items explicitly not
rated is kept, unscored: :func:`data.checkin.submit_checkin`'s ``keep_incomplete``). All carry
the current :data:`data.clinic.SCORING_VERSION`.

These functions decide nothing about access: their callers have checked the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data.clinic import SCORING_VERSION
from data.interchange import bulk
from data.interchange.pipeline import ProgressCallback, report_progress
from data.models import Assessment

__all__ = [
    "AssessmentRows",
    "copy_staged_assessments",
    "counted",
    "insert_unless_stored",
    "write_assessments",
]

_TABLE = Assessment.__tablename__


def counted() -> ColumnElement[bool]:
    """The condition every read that feeds outcomes adds: the latest of a correction chain.

    A patient's correction (course-and-reporting §3) is a new record naming the one it
    corrects, which is marked superseded; both are kept for the care team, and only rows
    without ``superseded_at`` count for scores, courses and aggregates.
    """
    return Assessment.superseded_at.is_(None)


@dataclass(frozen=True)
class AssessmentRows:
    """Scored assessments to store, column by column (the same length each).

    Attributes
    ----------
    patient_id : sequence of int
        Our id of each record's patient.
    instrument : sequence of str
        Instrument ids.
    administered_at : sequence of int
        When each was answered, in microseconds since 1970 (UTC).
    answers : sequence of str
        The answered items as JSON text: ``json.dumps`` of the dict of answered items in item
        order (:func:`data.interchange.bulk.answers_json` builds the same text in bulk).
    total : sequence of int or None
        Totals (None where the instrument has none).
    severity : sequence of str or None
        Severity bands.
    flags : sequence of str
        The flags raised, as a JSON list (:func:`data.interchange.bulk.flags_json`).
    """

    patient_id: Sequence[int]
    instrument: Sequence[str]
    administered_at: Sequence[int]
    answers: Sequence[str]
    total: Sequence[int | None]
    severity: Sequence[str | None]
    flags: Sequence[str]


def _same_in_every_row(
    *,
    clinic_id: int,
    source: str,
    entered_by_id: int | None,
    created_at: dt.datetime | None,
    dialect: str,
) -> dict[str, object]:
    """The columns whose value is the same in every row of one write (``created_at`` only
    when one time is given for all)."""
    same: dict[str, object] = {
        "clinic_id": clinic_id,
        "source": source,
        "valid": True,
        "scoring_version": SCORING_VERSION,
        "entered_by_id": entered_by_id,
    }
    if created_at is not None:
        same["created_at"] = bulk.time_text(created_at, dialect)
    return same


def write_assessments(
    session: Session,
    rows: AssessmentRows,
    *,
    clinic_id: int,
    source: str,
    entered_by_id: int | None,
    created_at: dt.datetime | None,
    progress: ProgressCallback | None = None,
) -> list[int]:
    """Store scored assessments in bulk, in the caller's transaction; their ids, in order.

    Parameters
    ----------
    session : Session
        The caller's session (a write transaction); nothing is committed here.
    rows : AssessmentRows
        The records, scored and valid.
    clinic_id : int
        The clinic of every record.
    source : str
        ``"import"``, ``"patient"`` or ``"clinician"``: how the answers arrived.
    entered_by_id : int, optional
        The user who entered them (None for the system).
    created_at : datetime or None
        When they are stored (time-zone aware); None stores each when it was answered
        (its ``administered_at``), as for records made at the time they describe.
    progress : callable, optional
        ``progress(rows_written, rows_to_write)`` after each chunk.

    Returns
    -------
    list of int
        The new records' ids, known before the write (:func:`data.interchange.bulk.new_ids`)
        so that their safety alerts can refer to them.

    Notes
    -----
    Written through the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL; the values
    the same in every row are written once (:mod:`data.interchange.bulk`).
    """
    ids = bulk.new_ids(session, _TABLE, len(rows.patient_id))
    total = len(ids)
    if not total:
        return ids
    session.flush()  # the ORM's pending rows (new patients) before the driver's
    connection = session.connection()
    dialect = connection.dialect.name
    same = _same_in_every_row(
        clinic_id=clinic_id,
        source=source,
        entered_by_id=entered_by_id,
        created_at=created_at,
        dialect=dialect,
    )
    answered = bulk.time_texts(rows.administered_at, dialect)
    varying: tuple[Sequence[object], ...] = (
        ids,
        rows.patient_id,
        rows.instrument,
        answered,
        rows.answers,
        rows.total,
        rows.severity,
        rows.flags,
    )
    varying_columns = ["id", "patient_id", "instrument", "administered_at", "answers"]
    varying_columns += ["total", "severity", "flags"]
    if created_at is None:
        varying += (answered,)
        varying_columns.append("created_at")
    columns = ", ".join([*varying_columns, *same])
    driver = bulk.driver_of(connection)
    done = 0
    if dialect == "postgresql":
        values = list(zip(*varying, *map(repeat, same.values()), strict=False))
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {_TABLE} ({columns}) FROM STDIN") as copy,
        ):
            for chunk in bulk.chunks(values, bulk.WRITE_CHUNK):
                for row in chunk:
                    copy.write_row(row)
                done += len(chunk)
                report_progress(progress, done, total)
    elif dialect == "sqlite":
        marks = ", ".join(["?"] * len(varying) + bulk.sqlite_literals(connection, same))
        values = list(zip(*varying, strict=True))
        cursor = driver.cursor()
        try:
            for chunk in bulk.chunks(values, bulk.WRITE_CHUNK):
                cursor.executemany(f"INSERT INTO {_TABLE} ({columns}) VALUES ({marks})", chunk)
                done += len(chunk)
                report_progress(progress, done, total)
        finally:
            cursor.close()
    else:  # pragma: no cover - a configuration error, not a missing feature
        raise RuntimeError(f"only SQLite and PostgreSQL databases are supported, not {dialect}")
    return ids


def copy_staged_assessments(
    session: Session,
    *,
    staged: str,
    slots: str,
    count: int,
    clinic_id: int,
    source: str,
    entered_by_id: int | None,
    created_at: dt.datetime,
) -> list[int]:
    """Store the ``count`` rows staged in ``temp.<staged>`` (SQLite); their ids, in order.

    ``staged`` holds the rows :func:`data.interchange.bulk.stage_rows` wrote (in the order
    of its ``seq``); ``slots`` maps each row's ``slot`` to its patient's id. One ``INSERT ...
    SELECT``: the write lock is held for SQLite's own work only.
    """
    connection = session.connection()
    first = bulk.new_ids(session, _TABLE, 1)[0]
    same = _same_in_every_row(
        clinic_id=clinic_id,
        source=source,
        entered_by_id=entered_by_id,
        created_at=created_at,
        dialect="sqlite",
    )
    copied = ("instrument", "administered_at", "answers", "total", "severity", "flags")
    columns = ", ".join(["id", "patient_id", *copied, *same])
    selected = ", ".join(
        [
            f"{first} + s.seq",
            f"(SELECT m.patient_id FROM temp.{slots} m WHERE m.slot = s.slot)",
            *(f"s.{column}" for column in copied),
            *bulk.sqlite_literals(connection, same),
        ]
    )
    connection.exec_driver_sql(
        f"INSERT INTO {_TABLE} ({columns}) SELECT {selected} FROM temp.{staged} s ORDER BY s.seq"
    )
    return list(range(first, first + count))


# Built once per database, values bound at each check-in: building the statement per call
# cost as much as sending it.
_INSERT_UNLESS_STORED = {
    name: dialect_insert(Assessment)
    .on_conflict_do_nothing(
        index_elements=[Assessment.clinic_id, Assessment.idempotency_key],
        index_where=Assessment.idempotency_key.is_not(None),
    )
    .returning(Assessment.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def insert_unless_stored(session: Session, **values: object) -> int | None:
    """Insert one assessment (``values`` by column) and return its id, or None if its form
    key (``idempotency_key``) is stored already.

    One statement (``INSERT ... ON CONFLICT DO NOTHING``): a concurrent submission of the
    same form waits for the other to commit and then stores nothing, without the lookup
    and savepoint a plain insert needed to survive the race.
    """
    statement = _INSERT_UNLESS_STORED[session.get_bind().dialect.name]
    assessment_id: int | None = session.execute(statement, values).scalar()
    return assessment_id
