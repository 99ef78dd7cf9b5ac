"""Importing assessments from a CSV file: one administration of a questionnaire per row.

Columns: ``patient_id`` (the clinic's own patient id, :attr:`data.models.Patient.external_id`),
``instrument`` (``phq9``, ``gad7``, ... or the instrument's name, ``PHQ-9``),
``administered_at``, then the instrument's item columns by our item keys (``phq9_1`` ...
``phq9_10``); an optional ``total`` column is the sender's total, checked against the
recomputed one (a difference is a warning: the answers are the source of truth). The file is
read (:mod:`data.interchange.csv_read`) into an
:class:`~data.interchange.pipeline.AdministrationTable` and goes through the one pipeline
(:mod:`data.interchange.administrations`); ``docs/records.md`` describes the columns.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from data.access import Actor, ensure_role
from data.interchange.administrations import prepare_administrations
from data.interchange.checks import restore_formulas
from data.interchange.csv_format import ASSESSMENT_COLUMNS, ITEM_KEYS, REPORTED_TOTAL
from data.interchange.csv_read import Source, add_problem, parse_numbers, parse_times, read_csv
from data.interchange.pipeline import (
    AdministrationTable,
    ImportResult,
    PreparedImport,
    ProgressCallback,
)
from data.records.alerts import HISTORICAL_ALERT_AGE

__all__ = ["import_assessments_csv", "prepare_assessments_csv"]


def _assessment_table(source: Source) -> AdministrationTable:
    read = read_csv(
        source,
        required=ASSESSMENT_COLUMNS,
        allowed=(*ASSESSMENT_COLUMNS, *ITEM_KEYS, REPORTED_TOTAL),
        what="assessments",
    )
    cells = read.cells
    problems: dict[int, list[str]] = {}
    when, date_only = parse_times(
        read.distinct["administered_at"], cells.index, problems, column="administered_at"
    )
    items: dict[str, pd.Series] = {}
    item_text: dict[str, pd.Series] = {}
    for key in ITEM_KEYS:
        if key in cells.columns:
            items[key], text = parse_numbers(read.distinct[key], cells.index)
            if text is not None:
                item_text[key] = text
    reported = None
    if REPORTED_TOTAL in cells.columns:
        reported, text = parse_numbers(read.distinct[REPORTED_TOTAL], cells.index)
        if text is not None:
            add_problem(
                problems,
                np.flatnonzero((text != "").to_numpy()),
                "total is not a number; leave it blank or give the total the sender computed",
            )
    return AdministrationTable(
        labels=read.labels,
        patient=restore_formulas(cells["patient_id"]),
        instrument=cells["instrument"],
        administered_at=when,
        date_only=date_only,
        items=items,
        item_text=item_text,
        reported_total=reported,
        problems=problems,
    )


def import_assessments_csv(
    session: Session,
    *,
    actor: Actor,
    source: Source,
    create_patients: bool = False,
    progress: ProgressCallback | None = None,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> ImportResult:
    """Import past questionnaire administrations from a CSV file, all or nothing.

    Parameters
    ----------
    session : Session
        The caller's session (one transaction); nothing is committed here.
    actor : Actor
        A clinician of the clinic, or the system actor (command line).
    source : path or text stream
        The CSV file: UTF-8 (a byte-order mark is fine), a header row, one administration
        per row. Columns: ``patient_id``, ``instrument``, ``administered_at``, item columns
        by item key, optional ``total`` (checked, never stored).
    create_patients : bool, default False
        Register unknown patient ids as new patients instead of refusing their rows.
    progress : callable, optional
        ``progress(rows_written, rows_to_write)`` while writing.
    now : datetime, optional
        The time of the import; now by default.
    historical_after : timedelta, default 14 days
        Safety answers older than this get an alert that is already acknowledged.

    Returns
    -------
    ImportResult

    Raises
    ------
    InvalidInput
        If any row is bad: ``problems`` has one entry per bad row, ``"row N: reason; ..."``,
        numbered as in a spreadsheet (the header is row 1). Problems of the header are
        reported alone. Nothing is written.
    AccessDenied
        If the actor is neither a clinician nor the system.

    Notes
    -----
    Validation is vectorised (:func:`outcomes.score_frame` once per instrument) and the
    write is a bulk insert (``executemany`` on SQLite, ``COPY`` on PostgreSQL): a file of
    100,000 rows imports in two to three seconds (measurements in ``docs/records.md``).
    Times, duplicates and safety alerts follow the rules of :mod:`data.interchange.pipeline`.
    """
    prepared = prepare_assessments_csv(
        session,
        actor=actor,
        source=source,
        create_patients=create_patients,
        now=now,
        historical_after=historical_after,
    )
    return prepared.write(session, progress=progress)


def prepare_assessments_csv(
    session: Session,
    *,
    actor: Actor,
    source: Source,
    create_patients: bool = False,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> PreparedImport:
    """Read and check an assessments file, ready to be written (:class:`PreparedImport`).

    As :func:`import_assessments_csv`, but ``session`` only reads (a read transaction is
    enough): ``outcomes import`` checks the file first and takes the write lock only for
    :meth:`PreparedImport.write`.
    """
    ensure_role(session, actor, "clinician", "system")
    return prepare_administrations(
        session,
        actor=actor,
        table=_assessment_table(source),
        create_patients=create_patients,
        now=now,
        historical_after=historical_after,
    )
