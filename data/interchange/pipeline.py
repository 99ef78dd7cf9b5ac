"""The one import pipeline: read -> table -> validate -> store, for every format.

Each format has a reader that builds a table of its records (CSV assessments:
:mod:`data.interchange.csv_assessments`; FHIR: :mod:`data.interchange.fhir_read`, both an
:class:`AdministrationTable`; CSV infusions: :mod:`data.interchange.csv_infusions`). The table
is validated against the clinic (:mod:`data.interchange.checks`, :mod:`data.interchange.stored`,
scoring in :mod:`data.interchange.scoring`) by ``prepare_*``, which returns a
:class:`PreparedImport`; its :meth:`PreparedImport.write` stores the records
(assessments through :mod:`data.records.assessments`, the fast paths in
:mod:`data.interchange.bulk`). Every importer keeps the rules below.

Two kinds of CSV file, one row per event (FHIR Bundles: :mod:`data.interchange.fhir_read`):

* **assessments** — one administration of a questionnaire per row: ``patient_id`` (the
  clinic's own patient id, :attr:`data.models.Patient.external_id`), ``instrument``
  (``phq9``, ``gad7``, ... or the instrument's name, ``PHQ-9``), ``administered_at``, then
  the instrument's item columns by our item keys (``phq9_1`` ... ``phq9_10``); an optional
  ``total`` column is the sender's total, checked against the recomputed one (a difference
  is a warning: the answers are the source of truth).
* **infusions** — one infusion per row: ``patient_id``, ``administered_at``, ``route`` and
  any of the measurements of :class:`data.infusions.InfusionInput` by their field names;
  ``side_effects`` is a ``;``-separated list.

``docs/records.md`` describes the columns with examples; the rules that matter to a clinic:

* **All or nothing.** A file with any bad row writes nothing. Bad rows are reported with their
  number and every reason (:class:`~data.errors.InvalidInput`; the first
  :data:`~data.interchange.csv_read.MAX_LISTED_PROBLEMS`, then counts by kind), so the file can
  be corrected in one pass. Rows are numbered as a spreadsheet shows them: the header is row 1
  and the first record row 2 (blank rows keep their number and are ignored). Refusals say where
  and what is wrong, never what the file holds (a patient id, an answer, a date, a stray line).
* **Check first, then write.** ``prepare_*`` reads, checks and scores the whole file without
  writing (a read transaction is enough); :meth:`PreparedImport.write` then writes it in one
  write transaction, so that the write lock is held for the writing only. On SQLite,
  :meth:`PreparedImport.stage` (``outcomes import`` calls it) first copies the assessment rows
  into a ``TEMP`` table of the import's own connection, which takes no lock on the clinic's file
  and is seen by nobody; the write transaction then re-checks, registers the patients and copies
  the staged rows with one ``INSERT ... SELECT``, so the lock is held for SQLite's own work only
  (200,000 rows: about 0.75 s instead of 1.3 s). Files beyond the stated limits
  (:mod:`data.interchange.csv_read`: ``MAX_FILE_BYTES``, ``MAX_RECORDS``, ``MAX_LINE_BYTES``,
  ``MAX_COLUMNS``; NUL characters) are refused in one linear pass before parsing.
* **Patients.** Patient ids follow :mod:`data.patients`; a record dated before its patient's
  date of birth is refused.
* **Times.** ISO 8601. A date-time without a zone is UTC; a date alone (``2024-03-01``) means
  12:00 UTC on that day, which is the same calendar day in every time zone from UTC-11 to
  UTC+11, so the day a clinic sees never shifts.
* **Re-importing is safe.** A row whose patient, instrument (for infusions: patient) and time
  are already stored with the same answers is skipped and counted; with *different* answers it
  is refused, because a stored record is never silently replaced or doubled. The same key twice
  within one file is refused too.
* **Scoring.** Answers are validated and scored with the clinic's own rules
  (:func:`outcomes.score_frame`, vectorised per instrument); a record that could not be stored
  by a check-in (out-of-range or non-numeric answer, too many items missing) is refused with
  scoring's own readable reason.
* **Safety.** A positive safety item creates a safety alert, as a check-in would. Answers given
  more than :data:`~data.records.alerts.HISTORICAL_ALERT_AGE` (14 days) before the import are
  history, not an emergency: their alerts are created already acknowledged, with the note
  :data:`~data.records.alerts.HISTORICAL_ALERT_NOTE`, so the record shows them but the worklist
  is not flooded; recent ones stay open for a clinician to act on.
* **Audit.** One event per patient whose records were imported (``import_assessments``,
  ``import_infusions``); exports (:mod:`data.interchange.csv_export`) audit their own.
* **Spreadsheet safety.** Exported text cells that a spreadsheet would run as a formula get a
  leading apostrophe (:func:`data.spreadsheet.guard_cell`, the project's one guard: ``=``,
  ``+``, ``-``, ``@``, tab or carriage return, their full-width forms, also after leading spaces
  of any kind); the importer removes exactly that apostrophe again
  (:func:`data.spreadsheet.restore_cell`), so an export re-imports unchanged.

References
----------
.. [1] OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

from data.access import Actor, ensure_role
from data.interchange.checks import Patients, create_patients, refuse_if

__all__ = [
    "AdministrationTable",
    "ImportResult",
    "PreparedImport",
    "ProgressCallback",
    "RecordCheck",
    "report_progress",
]

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(rows_written, rows_to_write)`` while an import writes."""


def report_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Tell ``progress``, if given, how many of ``total`` rows are written."""
    if progress is not None:
        progress(done, total)


@dataclass(frozen=True)
class ImportResult:
    """What an import stored.

    Attributes
    ----------
    kind : str
        ``"assessments"`` or ``"infusions"``.
    rows : int
        Records read from the file (blank rows are not counted).
    imported : int
        Records written.
    skipped : int
        Records already stored with the same values, left as they were.
    patients : int
        Patients with at least one record written (one audit event each).
    patients_created : int
        Patients registered by this import (``create_patients=True``).
    alerts_created : int
        Safety alerts created for imported answers.
    alerts_acknowledged : int
        Of those, alerts created already acknowledged as history (answers older than
        :data:`~data.records.alerts.HISTORICAL_ALERT_AGE`).
    warnings : tuple of str
        Questionable but importable input, e.g. a reported total that differs from the
        recomputed one. No patient identifiers, only row numbers.
    """

    kind: str
    rows: int
    imported: int
    skipped: int
    patients: int
    patients_created: int = 0
    alerts_created: int = 0
    alerts_acknowledged: int = 0
    warnings: tuple[str, ...] = ()


@dataclass
class AdministrationTable:
    """Questionnaire administrations read from a file, before the clinic's checks.

    The readers of CSV (:mod:`data.interchange.csv_assessments`) and FHIR
    (:mod:`data.interchange.fhir_read`) both build one and hand it to
    :func:`data.interchange.administrations.prepare_administrations`. Every Series has the
    positions ``0 .. n-1`` as index.

    Attributes
    ----------
    labels : sequence of str
        How to name each record in a problem: ``"row 5"``, ``"Bundle entry[2]"``.
    patient : Series of str
        The clinic's patient id, as written.
    instrument : Series of str
        Instrument id or name, as written.
    administered_at : Series of datetime64[ns, UTC]
        NaT where unreadable; ``problems`` then says why.
    date_only : Series of bool, optional
        Where the time was a date alone (stored at noon UTC).
    items : dict of str to Series
        Item key to answers as numbers (``Int64`` or ``float64``); NA where blank or text.
    item_text : dict of str to Series
        Item key to the cells that are not numbers (``""`` elsewhere); only for columns that
        have such cells, so that scoring can name the text it refuses.
    reported_total : Series, optional
        The sender's totals (NA where none given).
    problems : dict of int to list of str
        Problems found while reading, by position.
    warnings : list of str
        Warnings found while reading.
    unreadable : list of str
        Problems of records that could not be read at all (so have no position); reported
        before the others.
    """

    labels: Sequence[str]
    patient: pd.Series
    instrument: pd.Series
    administered_at: pd.Series
    items: dict[str, pd.Series]
    date_only: pd.Series | None = None
    item_text: dict[str, pd.Series] = field(default_factory=dict)
    reported_total: pd.Series | None = None
    problems: dict[int, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordCheck:
    """What the stored records say about a file's rows."""

    patients: Patients
    skip: npt.NDArray[np.bool_]  # rows stored already with the same values


class PreparedImport(ABC):
    """A file read and checked, ready to be written: the two halves of an import.

    Reading, checking and scoring a large file takes seconds; none of it needs the write
    lock. ``prepare_*`` does all of it (in a read transaction, or none), :meth:`stage`
    optionally copies the rows to write where the write can take them in one statement, and
    :meth:`write` then stores the records inside the caller's one write transaction, so
    that check-ins wait only for the writing (``outcomes import`` works this way). What
    the check read from the records (which patients exist, what is stored already) is read
    again in the write transaction when it is another one, and refused if it now conflicts.
    """

    def __init__(
        self,
        *,
        actor: Actor,
        checked_in: Session,
        now: dt.datetime,
        labels: Sequence[str],
        check: RecordCheck,
    ) -> None:
        self.actor = actor
        self.now = now
        self.labels = labels
        self.check = check
        self._checked_in = checked_in.get_transaction()

    def _same_transaction(self, session: Session) -> bool:
        return self._checked_in is not None and session.get_transaction() is self._checked_in

    def stage(self, session: Session) -> None:
        """Copy the rows to write, ready for :meth:`write`, without taking the write lock.

        Optional, SQLite only (elsewhere, and for records that are few, nothing happens). The
        rows go to a ``TEMP`` table of ``session``'s connection: SQLite keeps it in a separate
        temporary database of that connection alone, so writing it takes no lock on the
        clinic's file, nobody else sees it, and it vanishes with the connection (a killed
        import leaves nothing behind). :meth:`write` on the same connection then copies the
        staged rows with one ``INSERT ... SELECT`` instead of binding every value while it
        holds the lock; on another connection, or when the records changed since the check,
        it writes the rows directly, as without staging.
        """
        return  # by default nothing is staged: write() writes the rows directly

    def release(self, session: Session) -> None:
        """Drop what :meth:`stage` left on ``session``'s connection (nothing if none)."""
        return

    def write(self, session: Session, *, progress: ProgressCallback | None = None) -> ImportResult:
        """Store the records, all or none, in ``session``'s (write) transaction.

        The last step of every import: the actor may still import, the check is repeated if
        this is another transaction than the one that checked, the new patients are
        registered, and the records are stored (:meth:`_store`).

        Raises
        ------
        InvalidInput
            Records stored or patients registered since the file was checked now conflict
            with it (nothing is written).
        AccessDenied
            The actor may no longer import records.
        """
        ensure_role(session, self.actor, "clinician", "system")
        check = self.check if self._same_transaction(session) else self._check_again(session)
        created = create_patients(session, self.actor, check.patients.new)
        return self._store(session, check, created, progress)

    def _check_again(self, session: Session) -> RecordCheck:
        """The checks against the stored records, again, refusing what now conflicts."""
        problems: dict[int, list[str]] = {}
        check = self._check(session, problems)
        refuse_if(problems, self.labels)
        return check

    @abstractmethod
    def _check(self, session: Session, problems: dict[int, list[str]]) -> RecordCheck:
        """Check the rows against the patients and records stored now, adding ``problems``."""

    @abstractmethod
    def _store(
        self,
        session: Session,
        check: RecordCheck,
        created: dict[str, int],
        progress: ProgressCallback | None,
    ) -> ImportResult:
        """Write the rows ``check`` does not skip; ``created`` are the patients registered."""
