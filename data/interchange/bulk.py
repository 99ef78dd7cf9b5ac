"""The fast paths of a large import, in one place, each with the measured reason beside it.

A clinic moving to the app imports years of records at once (200,000 rows is an ordinary
file); the README states >= 100,000 rows/s on SQLite for the whole import (read, validate,
score, write, commit; ``bench/data.py``). What got it there is here, away from the code a
reader meets first: the pipeline (:mod:`data.interchange.pipeline`) and the one writer of
assessments (:mod:`data.records.assessments`) call these helpers and read as plain steps.

Every trick keeps the stored values exactly what the plain path stores (the same JSON text as
``json.dumps``, the same time text as SQLAlchemy's ``DateTime``, ids from the same sequence):
``tests/test_data/test_import_assessments.py`` and ``test_import_staged.py`` check them.

Figures marked "fast-paths" are medians of five on 100,000 PHQ-9 rows, SQLite, measured with
``.venv/bin/python bench/data.py --fast-paths`` on the shared 2-core development machine (so
read them as ratios); the others cite the commit or document that measured them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, literal, text
from sqlalchemy.orm import Session

__all__ = [
    "IN_CHUNK",
    "STAGING_CACHE_KIB",
    "WRITE_CHUNK",
    "answers_json",
    "chunks",
    "driver_of",
    "flags_json",
    "new_ids",
    "patient_order",
    "sqlite_literals",
    "stage_rows",
    "time_text",
    "time_texts",
]

_T = TypeVar("_T")

# Rows per executemany, COPY batch or INSERT of infusions, and so per progress report: small
# enough that a progress bar moves every few tenths of a second, large enough that the batches'
# own cost vanishes (tests/test_reliability/test_faults.py patches it to kill an import
# between two batches; read it as ``bulk.WRITE_CHUNK`` so that the patch is seen).
WRITE_CHUNK = 20_000

# Values per ``IN (...)`` list when the checks look patients and stored records up: one
# statement per thousand patients keeps each statement's parameter list short on both
# databases (SQLite allows 32,766 bound parameters since 3.32).
IN_CHUNK = 1_000

# SQLAlchemy's SQLite DateTime stores "YYYY-MM-DD HH:MM:SS.ffffff" (naive UTC here, see
# data.models.UTCDateTime); the bulk paths write the same text so that comparisons in SQL stay
# exact between imported rows and rows written through the ORM.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def driver_of(connection: Connection) -> Any:
    """The DB-API connection under ``connection`` (sqlite3 or psycopg).

    The bulk writes go through the driver (``executemany`` on SQLite, ``COPY`` on PostgreSQL):
    the ORM spends most of its time converting each value. fast-paths: 100,000 rows written in
    0.41 s through the driver against 3.3 s through the ORM (a list of dicts to ``insert()``).
    """
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a live connection always has its driver's
        raise RuntimeError("the database connection is closed")
    return driver


def time_text(moment: dt.datetime, dialect: str) -> str:
    """One time-zone aware time as the text the database stores (see :func:`time_texts`)."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime(_SQLITE_TIME) if dialect == "sqlite" else utc.isoformat()


def time_texts(at: Sequence[int], dialect: str) -> list[str]:
    """Times (microseconds since 1970, UTC) as the text the database stores.

    Hand-built text instead of ``datetime`` objects: the driver then binds a string, with no
    conversion per row in SQLAlchemy or sqlite3. Imported times repeat (a date alone is noon
    UTC), so each distinct time is formatted once, in numpy. fast-paths: 0.007 s for 100,000
    times against 0.26 s formatting a ``datetime`` per row.
    """
    distinct, which = np.unique(np.asarray(at, dtype=np.int64), return_inverse=True)
    iso = np.datetime_as_string(distinct.astype("datetime64[us]"), unit="us")
    if dialect == "sqlite":
        formatted = np.char.replace(iso, "T", " ")  # _SQLITE_TIME's text
    else:
        formatted = np.char.add(iso, "+00:00")
    texts: list[str] = formatted.astype(object)[which].tolist()
    return texts


def new_ids(session: Session, table: str, count: int) -> list[int]:
    """Ids for ``count`` new rows of ``table``, known before the bulk write.

    Not a speed trick but what the driver paths need: ``COPY`` and the driver's
    ``executemany`` return no ids, and the rows' safety alerts must name them. PostgreSQL hands
    them out from the column's own sequence, so concurrent writers never collide. SQLite has
    no sequence: the ids follow the largest one (``max(id) + 1``), and the write transaction
    that holds SQLite's lock (``BEGIN IMMEDIATE``, as the command line takes it) keeps anyone
    else from inserting meanwhile; in a deferred transaction a concurrent writer makes this
    import fail, never overwrite.
    """
    if count == 0:
        return []
    if session.connection().dialect.name == "postgresql":
        sequence = f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
        return list(
            session.scalars(text(sequence + "FROM generate_series(1, :count)"), {"count": count})
        )
    largest = session.scalar(text(f"SELECT max(id) FROM {table}")) or 0
    return list(range(largest + 1, largest + count + 1))


def sqlite_literals(connection: Connection, values: Mapping[str, object]) -> list[str]:
    """``values`` as SQL literals, quoted by the dialect.

    Values the same in every row (clinic, source, scoring version, who entered them, when) go
    into the statement once instead of being bound for every row: a fifth of the write time
    (commit 62eb002).
    """
    return [
        str(literal(value).compile(connection, compile_kwargs={"literal_binds": True}))
        for value in values.values()
    ]


def patient_order(
    patient_id: Sequence[int], instrument: Sequence[str], at: Sequence[int]
) -> list[int] | None:
    """The order that writes the rows patient by patient, or None if they are in it already.

    Written patient by patient, the (patient, instrument, time) index grows at a few places
    instead of everywhere at once: a quarter faster on SQLite.
    """
    order = np.lexsort((at, instrument, patient_id))
    if np.array_equal(order, np.arange(len(order))):
        return None  # files usually come patient by patient already
    listed: list[int] = order.tolist()
    return listed


def answers_json(items: Mapping[str, pd.Series], count: int, low: int, high: int) -> list[str]:
    """``count`` rows of answers as JSON objects: the text ``json.dumps`` gives for the dict of
    answered items in item order (``items``: item key to a Series of whole numbers from ``low``
    to ``high``, NA where unanswered).

    ``json.dumps`` per row, then joining nine pieces per row, were the largest Python cost left
    in a bulk import (commit d30a164). Rows with every item answered in single digits (nearly
    all of them) are one byte template with the digits written in; the others are joined from
    a lookup table per column. fast-paths: 0.058 s for 100,000 PHQ-9 rows from the template,
    0.30 s with ``json.dumps`` per row. The join by column alone now measures the same (0.057 s;
    nine interleaved runs: medians 0.10 s each on a loaded machine), so today the template
    gains nothing measurable over it; it is kept until that is confirmed on the README's
    benchmark machine.
    """
    keys = list(items)
    if not keys:
        return ["{}"] * count
    answers: npt.NDArray[np.float64] = np.column_stack(
        [column.to_numpy(dtype=np.float64, na_value=np.nan) for column in items.values()]
    )
    texts = np.empty(count, dtype=object)
    single_digits = 0 <= low <= high <= 9
    complete = np.logical_not(np.isnan(answers).any(axis=1)) & single_digits
    if complete.any():
        template = "{" + ", ".join(f'"{key}": 0' for key in keys) + "}"
        # Where each key's digit sits in the template: after its '"key": ', then ", ".
        digit_at = np.cumsum([len(f'"{key}": ') + (2 if i else 1) for i, key in enumerate(keys)])
        digit_at += np.arange(len(keys))  # the digits before it
        rows = np.tile(np.frombuffer(template.encode("ascii"), dtype=np.uint8), (complete.sum(), 1))
        rows[:, digit_at] = answers[complete].astype(np.uint8) + ord("0")
        texts[complete] = rows.view(f"S{len(template)}").ravel().astype(str)
    if not complete.all():
        texts[~complete] = _answers_json_by_column(answers[~complete], keys, low, high)
    listed: list[str] = texts.tolist()
    return listed


def _answers_json_by_column(
    answers: npt.NDArray[np.float64], keys: Sequence[str], low: int, high: int
) -> list[str]:
    columns = []
    for column, key in enumerate(keys):
        values = answers[:, column]
        index = np.where(np.isnan(values), high - low + 1, values - low).astype(np.int64)
        lookup = np.array(
            [f'"{key}": {value}, ' for value in range(low, high + 1)] + [""], dtype=object
        )
        pieces: list[str] = lookup[index].tolist()
        columns.append(pieces)
    return ["{" + "".join(parts)[:-2] + "}" for parts in zip(*columns, strict=True)]


def flags_json(raised: Mapping[str, npt.NDArray[np.bool_]], count: int) -> list[str]:
    """The flags each row raised, as JSON lists of names in ``raised``'s order.

    Most records raise no flag: only the others are written out (one shared ``"[]"``).
    """
    flags = ["[]"] * count
    names = list(raised)
    for row in np.flatnonzero(np.logical_or.reduce([*raised.values(), np.zeros(count)])):
        flags[row] = json.dumps([name for name in names if raised[name][row]])
    return flags


# Staging (see data.interchange.pipeline.PreparedImport.stage). The temporary database has its
# own page cache: large enough that the staged rows stay in memory for the copy instead of going
# through a temporary file. Negative: KiB, as SQLite's PRAGMA cache_size takes it; an upper
# bound, allocated as used.
STAGING_CACHE_KIB = -256 * 1024


def stage_rows(session: Session, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Copy assessment rows to a new ``TEMP`` table of ``session``'s connection (SQLite).

    ``rows`` are (slot, instrument, time text, answers, total, severity, flags). SQLite keeps a
    TEMP table in a separate temporary database of its connection: filling it takes no lock on
    the clinic's file, so the write transaction then holds the lock only for one
    ``INSERT ... SELECT`` (:func:`data.records.assessments.copy_staged_assessments`): 200,000
    rows held it about 0.75 s instead of 1.3 s (commit f1fb0c4; README, "Reliability").
    """
    driver = driver_of(session.connection())
    driver.execute(f"PRAGMA temp.cache_size = {STAGING_CACHE_KIB}")
    driver.execute(
        f"CREATE TEMP TABLE {table} (seq INTEGER PRIMARY KEY, slot INTEGER NOT NULL, "
        "instrument TEXT NOT NULL, administered_at TEXT NOT NULL, answers TEXT NOT NULL, "
        "total INTEGER, severity TEXT, flags TEXT NOT NULL)"
    )
    numbered = [(seq, *row) for seq, row in enumerate(rows)]
    marks = ", ".join("?" * 8)
    for chunk in chunks(numbered, WRITE_CHUNK):
        driver.executemany(f"INSERT INTO temp.{table} VALUES ({marks})", chunk)
