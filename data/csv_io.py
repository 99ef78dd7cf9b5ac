"""Import past records from CSV files, and export a clinic's records in the same format.

Two kinds of file, one row per event:

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

* **All or nothing.** A file with any bad row writes nothing. Bad rows are reported with
  their number and every reason (:class:`~data.errors.InvalidInput`; the first
  :data:`MAX_LISTED_PROBLEMS`, then counts by kind), so the file can be corrected in one
  pass. Rows are numbered as a spreadsheet shows them: the header is row 1 and the first
  record row 2 (blank rows keep their number and are ignored). Refusals say where and what
  is wrong, never what the file holds (a patient id, an answer, a date, a stray line).
* **Check first, then write.** ``prepare_*`` reads, checks and scores the whole file without
  writing (a read transaction is enough); :meth:`PreparedImport.write` then writes it in
  one write transaction, so that the write lock is held for the writing only. On SQLite,
  :meth:`PreparedImport.stage` (``outcomes import`` calls it) first copies the assessment
  rows into a ``TEMP`` table of the import's own connection, which takes no lock on the
  clinic's file and is seen by nobody; the write transaction then re-checks, registers the
  patients and copies the staged rows with one ``INSERT ... SELECT``, so the lock is held
  for SQLite's own work only (200,000 rows: about 0.75 s instead of 1.3 s). Files beyond
  the stated limits (:data:`MAX_FILE_BYTES`, :data:`MAX_RECORDS`, :data:`MAX_LINE_BYTES`,
  :data:`MAX_COLUMNS`; NUL characters) are refused in one linear pass before parsing.
* **Patients.** Patient ids follow :mod:`data.patients`; a record dated before its
  patient's date of birth is refused.
* **Times.** ISO 8601. A date-time without a zone is UTC; a date alone
  (``2024-03-01``) means 12:00 UTC on that day, which is the same calendar day in every
  time zone from UTC-11 to UTC+11, so the day a clinic sees never shifts.
* **Re-importing is safe.** A row whose patient, instrument (for infusions: patient) and
  time are already stored with the same answers is skipped and counted; with *different*
  answers it is refused, because a stored record is never silently replaced or doubled.
  The same key twice within one file is refused too.
* **Scoring.** Answers are validated and scored with the clinic's own rules
  (:func:`outcomes.score_frame`, vectorised per instrument); a record that could not be
  stored by a check-in (out-of-range or non-numeric answer, too many items missing) is
  refused with scoring's own readable reason.
* **Safety.** A positive safety item creates a safety alert, as a check-in would. Answers
  given more than :data:`HISTORICAL_ALERT_AGE` (14 days) before the import are history, not
  an emergency: their alerts are created already acknowledged, with the note
  :data:`HISTORICAL_ALERT_NOTE`, so the record shows them but the worklist is not flooded;
  recent ones stay open for a clinician to act on.
* **Audit.** One event per patient whose records were imported (``import_assessments``,
  ``import_infusions``) or exported (``export_assessments``, ``export_infusions``).
* **Spreadsheet safety.** Exported text cells that a spreadsheet would run as a formula
  get a leading apostrophe (:func:`data.spreadsheet.guard_cell`, the project's one guard:
  ``=``, ``+``, ``-``, ``@``, tab or carriage return, their full-width forms, also after
  leading spaces of any kind); the importer removes exactly that apostrophe again
  (:func:`data.spreadsheet.restore_cell`), so an export re-imports unchanged.

References
----------
.. [1] OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress, repeat
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, func, insert, literal, select, text
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.clinic import SCORING_VERSION, clinic_config
from data.errors import InvalidInput
from data.infusions import LABELS as INFUSION_LABELS
from data.infusions import LIMITS as INFUSION_LIMITS
from data.infusions import InfusionInput, problems_with
from data.interchange.csv_format import (
    ASSESSMENT_COLUMNS,
    INFUSION_COLUMNS,
    INFUSION_NUMBERS,
    ITEM_KEYS,
    REPORTED_TOTAL,
)
from data.interchange.csv_read import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    MAX_LISTED_PROBLEMS,
    MAX_RECORDS,
    Source,
    add_problem,
    factorized,
    listed_problems,
    parse_numbers,
    parse_times,
    per_unique,
    read_csv,
    read_import_bytes,
)
from data.models import (
    ROUTE_LABELS,
    ROUTES,
    SIDE_EFFECTS,
    Assessment,
    Infusion,
    Patient,
    utcnow,
)
from data.patients import patient_id_problem
from data.records.alerts import (
    HISTORICAL_ALERT_AGE,
    HISTORICAL_ALERT_NOTE,
    alerts_for_answers,
    write_alerts,
)
from data.records.patients import NewPatient, register_patients
from data.spreadsheet import restore_cell
from outcomes import INSTRUMENTS, PRORATED, get_instrument, score_frame
from outcomes.instruments import Instrument
from outcomes.safety import safety_alert_kinds

__all__ = [
    "ASSESSMENT_COLUMNS",
    "HISTORICAL_ALERT_AGE",
    "HISTORICAL_ALERT_NOTE",
    "INFUSION_COLUMNS",
    "ITEM_KEYS",
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
    "MAX_LISTED_PROBLEMS",
    "MAX_RECORDS",
    "AdministrationTable",
    "ImportResult",
    "PreparedImport",
    "ProgressCallback",
    "import_assessments_csv",
    "import_infusions_csv",
    "listed_problems",
    "prepare_administrations",
    "prepare_assessments_csv",
    "prepare_infusions_csv",
    "read_import_bytes",
    "store_administrations",
]

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(rows_written, rows_to_write)`` while an import writes."""

_INFUSION_FLOATS = ("dose_mg_per_kg", "dose_mg")

FUTURE_TOLERANCE = dt.timedelta(minutes=5)

_WRITE_CHUNK = 20_000
_IN_CHUNK = 1_000
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

_INSTRUMENT_NAMES: dict[str, str] = {}
for _definition in INSTRUMENTS:
    _INSTRUMENT_NAMES[_definition.id] = _definition.id
    _INSTRUMENT_NAMES[_definition.name.lower()] = _definition.id
_KNOWN_INSTRUMENTS = ", ".join(i.id for i in INSTRUMENTS) + " (or their names, e.g. PHQ-9)"
_KNOWN_ROUTES = ", ".join(f"{code} ({ROUTE_LABELS[code]})" for code in ROUTES)
_ROUTE_NAMES = {code: code for code in ROUTES} | {
    label.lower(): code for code, label in ROUTE_LABELS.items()
}

_T = TypeVar("_T")


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
        :data:`HISTORICAL_ALERT_AGE`).
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

    The importers of CSV (here) and FHIR (:mod:`data.fhir_io`) both build one and hand it to
    :func:`store_administrations`. Every Series has the positions ``0 .. n-1`` as index.

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


def _restore_formulas(cells: pd.Series) -> pd.Series:
    return per_unique(cells, lambda values: values.map(restore_cell))


# --------------------------------------------------------------------------------------------
# Reading a CSV file
# --------------------------------------------------------------------------------------------


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
        patient=_restore_formulas(cells["patient_id"]),
        instrument=cells["instrument"],
        administered_at=when,
        date_only=date_only,
        items=items,
        item_text=item_text,
        reported_total=reported,
        problems=problems,
    )


# --------------------------------------------------------------------------------------------
# Checks against the clinic, shared by both kinds of file
# --------------------------------------------------------------------------------------------


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class _Patients:
    ids: pd.Series  # internal id per position (float; NaN where unknown, new or unusable)
    known: dict[str, int]
    new: list[str]


def _check_patient_ids(external: pd.Series, problems: dict[int, list[str]]) -> pd.Series:
    """Which rows have a patient id that may be stored (:mod:`data.patients`); the others get
    a problem that names the rule, never the id."""
    reasons = per_unique(external, lambda ids: ids.map(patient_id_problem))
    for reason, rows in reasons.groupby(reasons, sort=False).groups.items():
        add_problem(problems, rows, str(reason))  # the index is the positions 0 .. n-1
    return reasons.isna()


# The earliest time zone (Kiribati, UTC+14) starts a day 14 hours before UTC.
_DAY_BEGINS_EARLIEST = dt.timedelta(hours=14)


def _resolve_patients(
    session: Session,
    actor: Actor,
    external: pd.Series,
    usable: pd.Series,
    when: pd.Series,
    date_only: pd.Series | None,
    problems: dict[int, list[str]],
    *,
    create: bool,
) -> _Patients:
    """Map the clinic's patient ids to ours; unknown ones are new patients or a problem.

    A record dated before its patient's date of birth is refused: a date alone when it is an
    earlier date, a time when the day of birth had not begun anywhere on Earth yet, so that
    no time zone makes a correct record wrong.
    """
    wanted = sorted(set(external[usable.to_numpy(dtype=bool)]))
    known: dict[str, int] = {}
    born: dict[str, pd.Timestamp] = {}
    for chunk in _chunks(wanted, _IN_CHUNK):
        found = session.execute(
            select(Patient.external_id, Patient.id, Patient.date_of_birth).where(
                Patient.clinic_id == actor.clinic_id, Patient.external_id.in_(chunk)
            )
        )
        for external_id, patient_id, date_of_birth in found:
            known[external_id] = patient_id
            if date_of_birth is not None:
                start = dt.datetime.combine(date_of_birth, dt.time(), tzinfo=dt.UTC)
                born[external_id] = pd.Timestamp(start - _DAY_BEGINS_EARLIEST)
    new = [external_id for external_id in wanted if external_id not in known]
    if new and not create:
        # The id is not repeated in the message: row numbers are enough to find it, and
        # messages may end up in logs.
        add_problem(
            problems,
            np.flatnonzero(external.isin(new).to_numpy()),
            "no patient with this patient_id in the clinic; check the id, or import with "
            "create_patients (outcomes import --create-patients) to register new patients",
        )
    if born:
        birth = pd.to_datetime(external.map(born), utc=True)
        if date_only is not None:
            # A date alone is stored at noon UTC: compare it with noon UTC of the birthday.
            noon = birth + pd.Timedelta(_DAY_BEGINS_EARLIEST + dt.timedelta(hours=12))
            birth = birth.where(~date_only.to_numpy(dtype=bool), noon)
        before = (when.notna() & birth.notna() & (when < birth)).to_numpy(dtype=bool)
        add_problem(
            problems,
            np.flatnonzero(before),
            "administered_at is before the patient's date of birth; check the date (or the "
            "date of birth recorded for the patient)",
        )
    return _Patients(ids=external.map(known).astype("float64"), known=known, new=new)


def _sqlite_insert_many(
    connection: Connection,
    table: str,
    same: Mapping[str, object],
    varying: Sequence[str],
    values: Sequence[tuple[object, ...]],
) -> None:
    """Insert rows through SQLite's driver, the values the same in every row written once."""
    if not values:
        return
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a live connection always has its driver's
        raise RuntimeError("the database connection is closed")
    columns = ", ".join([*varying, *same])
    marks = ", ".join(["?"] * len(varying) + _sqlite_literals(connection, same))
    driver.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)


def _create_patients(session: Session, actor: Actor, external_ids: Sequence[str]) -> dict[str, int]:
    # The name is the clinic's id until someone records the real one: an import file carries
    # no names, and a made-up name would be worse than an obvious placeholder.
    return register_patients(
        session,
        actor=actor,
        patients=[NewPatient(external_id, external_id) for external_id in external_ids],
    )


def _first_of_repeats(
    keys: pd.DataFrame, labels: Sequence[str], problems: dict[int, list[str]], what: str
) -> None:
    """Refuse every row whose key repeats an earlier row of the same file."""
    if keys.empty:
        return
    columns = [c for c in keys.columns if c != "position"]
    first = keys.groupby(columns, sort=False)["position"].transform("first")
    repeated = keys["position"] != first
    for position, earlier in zip(keys.loc[repeated, "position"], first[repeated], strict=True):
        problems.setdefault(int(position), []).append(
            f"repeats {labels[int(earlier)]} (same {what}); each record may appear once"
        )


def _epoch_us(times: pd.Series) -> npt.NDArray[np.int64]:
    """Microseconds since 1970 (UTC) of a time-zone aware Series without NaT."""
    values: npt.NDArray[np.int64] = (
        times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    ).astype(np.int64)
    return values


def _from_epoch_us(value: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(value))


# The earliest time zone (Kiribati, UTC+14) starts a day 14 hours before UTC: noon UTC of a
# date alone is 26 hours after that day has begun somewhere.
_DAY_BEGUN_EARLIEST = dt.timedelta(hours=26)


def _after_today_everywhere(noon: dt.datetime, now: dt.datetime) -> bool:
    return noon - _DAY_BEGUN_EARLIEST > now + FUTURE_TOLERANCE


def _future(
    when: pd.Series, date_only: pd.Series | None, now: dt.datetime
) -> npt.NDArray[np.bool_]:
    """Times after ``now``. A date alone (stored at noon UTC) is in the future only when that
    day has not begun anywhere yet: a clinic at UTC+10 importing this morning's paper forms
    dated today must not be refused because noon UTC is still hours away."""
    limit = pd.Timestamp(now + FUTURE_TOLERANCE)
    future: npt.NDArray[np.bool_] = (when > limit).to_numpy(dtype=bool)
    if date_only is not None:
        begun = (when - pd.Timedelta(_DAY_BEGUN_EARLIEST) <= limit).to_numpy(dtype=bool)
        future &= ~(date_only.to_numpy(dtype=bool) & begun)
    return future


def _refuse_if(
    problems: Mapping[int, list[str]], labels: Sequence[str], unreadable: Sequence[str] = ()
) -> None:
    if problems or unreadable:
        # A record's reasons together are its kind in the summary.
        ordered = sorted(problems)
        kinds = [*(u.partition(": ")[2] or u for u in unreadable)]
        kinds += ["; ".join(problems[p]) for p in ordered]
        messages = [*unreadable, *(f"{labels[p]}: {'; '.join(problems[p])}" for p in ordered)]
        raise InvalidInput(listed_problems(messages, kinds=kinds))


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# --------------------------------------------------------------------------------------------
# Assessments: check, score and store
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """The rows of one instrument, scored."""

    instrument: Instrument
    positions: npt.NDArray[np.intp]
    scored: pd.DataFrame  # score_frame output, indexed by position


def _answers_as_given(
    table: AdministrationTable, key: str, rows: npt.NDArray[np.intp]
) -> pd.Series:
    """One item's cells for scoring's messages: numbers, the text itself, or None."""
    numbers = table.items[key].iloc[rows]
    text = table.item_text.get(key)
    cells: list[object] = []
    for offset, position in enumerate(rows):
        given = "" if text is None else str(text.iloc[position])
        if given:
            cells.append(given)
            continue
        value = numbers.iloc[offset]
        if pd.isna(value):
            cells.append(None)
        else:
            number = float(value)
            cells.append(int(number) if number.is_integer() else number)
    return pd.Series(cells, index=rows, dtype=object)


def _filled(
    table: AdministrationTable, key: str, rows: npt.NDArray[np.intp]
) -> npt.NDArray[np.bool_]:
    filled: npt.NDArray[np.bool_] = table.items[key].iloc[rows].notna().to_numpy(dtype=bool)
    if key in table.item_text:
        filled |= (table.item_text[key].iloc[rows] != "").to_numpy(dtype=bool)
    return filled


def _score_group(
    table: AdministrationTable,
    definition: Instrument,
    positions: npt.NDArray[np.intp],
    *,
    rules: Any,
    problems: dict[int, list[str]],
    warnings: list[str],
) -> _Group:
    keys = [key for key in definition.item_keys if key in table.items]
    frame = pd.DataFrame({key: table.items[key].iloc[positions] for key in keys}, index=positions)
    scored = score_frame(definition, frame, rules=rules, errors=True)
    errors = scored["errors"].to_numpy(dtype=object)
    valid = scored["valid"].to_numpy(dtype=bool).copy()

    # A text cell was read as blank above; score those few rows again with the text itself,
    # so that the reason is scoring's own ("'two' is text, not a number").
    text_rows = np.zeros(len(positions), dtype=bool)
    for key in keys:
        if key in table.item_text:
            text_rows |= (table.item_text[key].iloc[positions] != "").to_numpy(dtype=bool)
    if text_rows.any():
        rows = positions[text_rows]
        as_given = pd.DataFrame(
            {key: _answers_as_given(table, key, rows) for key in keys}, index=rows
        )
        again = score_frame(definition, as_given, rules=rules, errors=True)
        errors[text_rows] = again["errors"].to_numpy(dtype=object)
        valid[text_rows] = False
    for offset in np.flatnonzero(~valid):
        problems.setdefault(int(positions[offset]), []).extend(
            _without_answers(message, definition) for message in errors[offset]
        )

    low, high = definition.min_value, definition.max_value
    for item in definition.items:
        # Unscored items (PHQ-9 item 10) are not read by scoring, but are stored: same range.
        if item.scored or item.key not in keys:
            continue
        numbers = table.items[item.key].iloc[positions].astype("float64").to_numpy()
        wrong = ~np.isnan(numbers) & (
            (numbers < low) | (numbers > high) | (np.floor(numbers) != numbers)
        )
        if item.key in table.item_text:
            wrong |= (table.item_text[item.key].iloc[positions] != "").to_numpy(dtype=bool)
        add_problem(problems, positions[wrong], _not_an_answer(item.key, definition))

    own = set(definition.item_keys)
    for key in table.items:
        if key not in own:
            add_problem(
                problems,
                positions[_filled(table, key, positions)],
                f"{key} has an answer, but this row is a {definition.name} record; give each "
                "administration its own row",
            )

    if table.reported_total is not None:
        reported = table.reported_total.iloc[positions].astype("float64").to_numpy()
        total = scored["total"].astype("float64").to_numpy()
        differs = ~np.isnan(reported) & valid & ((reported != total) | np.isnan(total))
        for offset in np.flatnonzero(differs):
            warnings.append(
                f"{table.labels[positions[offset]]}: the total in the file differs from the "
                f"{definition.name} total recomputed from the answers; the recomputed total "
                "is stored"
            )
    return _Group(definition, positions, scored)


def _not_an_answer(key: str, definition: Instrument) -> str:
    return (
        f"{key} is not an answer; answers are whole numbers from {definition.min_value} to "
        f"{definition.max_value}"
    )


def _without_answers(message: str, definition: Instrument) -> str:
    """Scoring's reason without the answer it quotes (``"phq9_3: 'two' is text, ..."``): a
    refusal names the row and the column, never the file's content."""
    key, colon, _ = message.partition(": ")
    if colon and key in definition.item_keys:
        return _not_an_answer(key, definition)
    return message


def _stored_answers(
    session: Session,
    actor: Actor,
    patient_ids: Sequence[int],
    instruments: Sequence[str],
    earliest: dt.datetime,
    latest: dt.datetime,
) -> pd.DataFrame:
    rows: list[tuple[int, str, dt.datetime, dict[str, Any]]] = []
    for chunk in _chunks(patient_ids, _IN_CHUNK):
        rows.extend(
            session.execute(
                select(
                    Assessment.patient_id,
                    Assessment.instrument,
                    Assessment.administered_at,
                    Assessment.answers,
                ).where(
                    Assessment.clinic_id == actor.clinic_id,
                    Assessment.patient_id.in_(chunk),
                    Assessment.instrument.in_(instruments),
                    Assessment.administered_at >= earliest,
                    Assessment.administered_at <= latest,
                )
            )
        )
    frame = pd.DataFrame(rows, columns=["patient_id", "instrument", "at", "stored"])
    frame["at"] = _epoch_us(pd.to_datetime(frame["at"], utc=True)) if rows else np.int64(0)
    return frame


def _answers_of(
    table: AdministrationTable, definition: Instrument, position: int
) -> dict[str, int]:
    answers = {}
    for key in definition.item_keys:
        if key in table.items:
            value = table.items[key].iloc[position]
            if not pd.isna(value):
                answers[key] = int(value)
    return answers


def _check_stored(
    session: Session,
    actor: Actor,
    table: AdministrationTable,
    keys: pd.DataFrame,
    problems: dict[int, list[str]],
) -> npt.NDArray[np.bool_]:
    """Rows already stored: identical ones are skipped (returned), different ones refused."""
    skip = np.zeros(len(table.labels), dtype=bool)
    known = keys[keys["patient_id"].notna()]
    if known.empty:
        return skip
    stored = _stored_answers(
        session,
        actor,
        sorted({int(p) for p in known["patient_id"]}),
        sorted(set(known["instrument"])),
        _from_epoch_us(int(known["at"].min())),
        _from_epoch_us(int(known["at"].max())),
    )
    if stored.empty:
        return skip
    mine = known.assign(patient_id=known["patient_id"].astype(np.int64))
    matched = mine.merge(stored, on=["patient_id", "instrument", "at"], how="inner")
    for position, rows in matched.groupby("position"):
        definition = get_instrument(str(rows["instrument"].iloc[0]))
        answers = _answers_of(table, definition, int(str(position)))
        if all(dict(stored_answers) == answers for stored_answers in rows["stored"]):
            skip[int(str(position))] = True
        else:
            problems.setdefault(int(str(position)), []).append(
                "a record of this patient, instrument and time is already stored with "
                "different answers; an import never replaces a stored record"
            )
    return skip


def _json_pieces(table: npt.NDArray[np.object_], index: npt.NDArray[np.int64]) -> list[str]:
    pieces: list[str] = table[index].tolist()
    return pieces


def _answers_json(
    table: AdministrationTable, definition: Instrument, positions: npt.NDArray[np.intp]
) -> list[str]:
    """The answers of valid rows as JSON objects: the text ``json.dumps`` gives for the dict of
    answered items in item order, which is most of the cost of a large import when built
    row by row.

    Rows with every item answered in single digits (nearly all of them) are one template
    with the digits written in as bytes; the others are joined from a lookup table per column.
    """
    keys = [key for key in definition.item_keys if key in table.items]
    if not keys:
        return ["{}"] * len(positions)
    answers: npt.NDArray[np.float64] = np.column_stack(
        [
            table.items[key].iloc[positions].to_numpy(dtype=np.float64, na_value=np.nan)
            for key in keys
        ]
    )
    texts = np.empty(len(positions), dtype=object)
    single_digits = 0 <= definition.min_value <= definition.max_value <= 9
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
        texts[~complete] = _answers_json_by_column(answers[~complete], keys, definition)
    listed: list[str] = texts.tolist()
    return listed


def _answers_json_by_column(
    answers: npt.NDArray[np.float64], keys: Sequence[str], definition: Instrument
) -> list[str]:
    low, high = definition.min_value, definition.max_value
    columns = []
    for column, key in enumerate(keys):
        values = answers[:, column]
        index = np.where(np.isnan(values), high - low + 1, values - low).astype(np.int64)
        lookup = np.array(
            [f'"{key}": {value}, ' for value in range(low, high + 1)] + [""], dtype=object
        )
        columns.append(_json_pieces(lookup, index))
    return ["{" + "".join(parts)[:-2] + "}" for parts in zip(*columns, strict=True)]


def _flags_json(scored: pd.DataFrame, names: Sequence[str]) -> list[str]:
    flags = ["[]"] * len(scored)
    raised = {name: scored[name].to_numpy(dtype=bool) for name in names}
    # Most records raise no flag: only the others are written out.
    for row in np.flatnonzero(np.logical_or.reduce([*raised.values(), np.zeros(len(scored))])):
        flags[row] = json.dumps([name for name in names if raised[name][row]])
    return flags


@dataclass
class _NewAssessments:
    """Rows to insert, as values the database takes directly (JSON already as text)."""

    position: list[int] = field(default_factory=list)
    patient_id: list[int] = field(default_factory=list)
    instrument: list[str] = field(default_factory=list)
    at: list[int] = field(default_factory=list)  # microseconds since 1970, UTC
    answers: list[str] = field(default_factory=list)
    total: list[int | None] = field(default_factory=list)
    severity: list[str | None] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    alert_kinds: list[tuple[str, ...]] = field(default_factory=list)

    def extend(self, other: _NewAssessments) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))

    def without(self, skip: npt.NDArray[np.bool_]) -> _NewAssessments:
        """These rows less those whose position ``skip`` marks (already stored)."""
        keep = ~skip[np.asarray(self.position, dtype=np.intp)]
        if keep.all():
            return self
        kept = _NewAssessments()
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            if len(values) == len(keep):
                setattr(kept, name, list(compress(values, keep)))
        return kept

    def in_patient_order(self) -> _NewAssessments:
        # Written patient by patient, the (patient, instrument, time) index grows at a few
        # places instead of everywhere at once: a quarter faster on SQLite.
        sorted_order = np.lexsort((self.at, self.instrument, self.patient_id))
        if np.array_equal(sorted_order, np.arange(len(sorted_order))):
            return self  # files usually come patient by patient already
        order = sorted_order.tolist()
        ordered = _NewAssessments()
        for name in self.__dataclass_fields__:
            setattr(ordered, name, list(map(getattr(self, name).__getitem__, order)))
        return ordered


def _nullable_list(values: pd.Series) -> list[Any]:
    """Python values with None for NA (what the drivers take)."""
    listed: list[Any] = values.astype(object).where(values.notna(), None).tolist()  # type: ignore[call-overload]
    return listed


def _new_rows(
    table: AdministrationTable, group: _Group, at: npt.NDArray[np.int64]
) -> _NewAssessments:
    """The group's rows as they will be written; their patients' ids are filled in when the
    rows are written (a patient may be registered only then)."""
    definition = group.instrument
    positions = group.positions
    scored = group.scored
    flag_names = sorted((*definition.flag_names, PRORATED))
    safety = sorted(safety_alert_kinds(definition, definition.flag_names))
    raised = {name: scored[name].to_numpy(dtype=bool) for name in safety}
    any_safety = np.zeros(len(positions), dtype=bool)
    for values in raised.values():
        any_safety |= values
    kinds: list[tuple[str, ...]] = [()] * len(positions)
    for offset in np.flatnonzero(any_safety):
        kinds[offset] = tuple(name for name in safety if raised[name][offset])
    total = scored["total"]
    severity = scored["severity"].astype(object)
    return _NewAssessments(
        position=positions.tolist(),
        instrument=[definition.id] * len(positions),
        at=at[positions].tolist(),
        answers=_answers_json(table, definition, positions),
        total=_nullable_list(total),
        severity=_nullable_list(severity),
        flags=_flags_json(scored, flag_names),
        alert_kinds=kinds,
    )


_ASSESSMENT_INSERT_COLUMNS = (
    "id",
    "clinic_id",
    "patient_id",
    "instrument",
    "administered_at",
    "source",
    "answers",
    "total",
    "severity",
    "flags",
    "valid",
    "scoring_version",
    "entered_by_id",
    "created_at",
)


def _time_texts(at: Sequence[int], dialect: str) -> list[str]:
    # Imported times repeat (a date alone is noon): format each distinct one once.
    distinct, which = np.unique(np.asarray(at, dtype=np.int64), return_inverse=True)
    iso = np.datetime_as_string(distinct.astype("datetime64[us]"), unit="us")
    if dialect == "sqlite":
        # SQLAlchemy's SQLite DateTime stores "YYYY-MM-DD HH:MM:SS.ffffff" (naive UTC here, see
        # data.models.UTCDateTime); the same text keeps comparisons in SQL exact.
        formatted = np.char.replace(iso, "T", " ")
    else:
        formatted = np.char.add(iso, "+00:00")
    texts: list[str] = formatted.astype(object)[which].tolist()
    return texts


def _new_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` new assessments, known before the bulk write (for their alerts).

    PostgreSQL hands them out from the column's own sequence, so concurrent writers never
    collide. SQLite has no sequence: the ids follow the largest one, and the write
    transaction that holds SQLite's lock (``BEGIN IMMEDIATE``, as the command line takes it)
    keeps anyone else from inserting meanwhile; in a deferred transaction a concurrent
    writer makes this import fail, never overwrite.
    """
    if count == 0:
        return []
    if session.connection().dialect.name == "postgresql":
        sequence = "SELECT nextval(pg_get_serial_sequence('assessment', 'id')) "
        return list(
            session.scalars(text(sequence + "FROM generate_series(1, :count)"), {"count": count})
        )
    largest = session.scalar(select(func.max(Assessment.id))) or 0
    return list(range(largest + 1, largest + count + 1))


def _same_in_every_row(actor: Actor, now: dt.datetime, dialect: str) -> dict[str, object]:
    """The assessment columns whose value is the same in every imported row."""
    created = now.astimezone(dt.UTC)
    created_text = created.strftime(_SQLITE_TIME) if dialect == "sqlite" else created.isoformat()
    return {
        "clinic_id": actor.clinic_id,
        "source": "import",
        "valid": True,
        "scoring_version": SCORING_VERSION,
        "entered_by_id": actor.user_id,
        "created_at": created_text,
    }


def _sqlite_literals(connection: Connection, values: Mapping[str, object]) -> list[str]:
    # Values the same in every row go into the statement once, quoted by the dialect,
    # instead of being bound for every row: a fifth of the write time.
    return [
        str(literal(value).compile(connection, compile_kwargs={"literal_binds": True}))
        for value in values.values()
    ]


def _insert_assessments(
    session: Session,
    actor: Actor,
    rows: _NewAssessments,
    ids: Sequence[int],
    *,
    now: dt.datetime,
    progress: ProgressCallback | None,
) -> None:
    """Write the rows in bulk through the driver: ``executemany`` on SQLite, ``COPY`` on
    PostgreSQL (the ORM would spend most of the time converting each value)."""
    total = len(ids)
    if not total:
        return
    session.flush()
    connection = session.connection()
    dialect = connection.dialect.name
    same_in_every_row = _same_in_every_row(actor, now, dialect)
    varying = (
        ids,
        rows.patient_id,
        rows.instrument,
        _time_texts(rows.at, dialect),
        rows.answers,
        rows.total,
        rows.severity,
        rows.flags,
    )
    varying_columns = [c for c in _ASSESSMENT_INSERT_COLUMNS if c not in same_in_every_row]
    table = Assessment.__tablename__
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a live connection always has its driver's
        raise RuntimeError("the database connection is closed")
    done = 0
    if dialect == "postgresql":
        columns = ", ".join([*varying_columns, *same_in_every_row])
        values = list(zip(*varying, *map(repeat, same_in_every_row.values()), strict=False))
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for chunk in _chunks(values, _WRITE_CHUNK):
                for row in chunk:
                    copy.write_row(row)
                done += len(chunk)
                _report(progress, done, total)
    elif dialect == "sqlite":
        constants = _sqlite_literals(connection, same_in_every_row)
        columns = ", ".join([*varying_columns, *same_in_every_row])
        marks = ", ".join(["?"] * len(varying_columns) + constants)
        values = list(zip(*varying, strict=True))
        cursor = driver.cursor()
        try:
            for chunk in _chunks(values, _WRITE_CHUNK):
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", chunk)
                done += len(chunk)
                _report(progress, done, total)
        finally:
            cursor.close()
    else:  # pragma: no cover - a configuration error, not a missing feature
        raise RuntimeError(f"only SQLite and PostgreSQL databases are supported, not {dialect}")


def store_administrations(
    session: Session,
    *,
    actor: Actor,
    table: AdministrationTable,
    create_patients: bool = False,
    progress: ProgressCallback | None = None,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> ImportResult:
    """Check administrations against the clinic, score them, and store them all or none.

    Parameters
    ----------
    session : Session
        The caller's session; nothing is committed here.
    actor : Actor
        A clinician of the clinic, or the system actor (command line).
    table : AdministrationTable
        What the file holds (see :func:`import_assessments_csv`,
        :func:`data.fhir_io.import_fhir_bundle`).
    create_patients : bool, default False
        Register patients whose id the clinic does not know (named by their id) instead of
        refusing their rows.
    progress : callable, optional
        ``progress(rows_written, rows_to_write)``, called as the rows are written.
    now : datetime, optional
        The time of the import (time-zone aware); now by default.
    historical_after : timedelta, default 14 days
        Safety answers older than this get an alert that is already acknowledged.

    Returns
    -------
    ImportResult

    Raises
    ------
    InvalidInput
        Every problem of every record, by label, in file order; nothing is written.
    AccessDenied
        The actor may not import records.
    """
    prepared = prepare_administrations(
        session,
        actor=actor,
        table=table,
        create_patients=create_patients,
        now=now,
        historical_after=historical_after,
    )
    return prepared.write(session, progress=progress)


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

    def __init__(self, *, actor: Actor, checked_in: Session, now: dt.datetime) -> None:
        self.actor = actor
        self.now = now
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

    @abstractmethod
    def write(self, session: Session, *, progress: ProgressCallback | None = None) -> ImportResult:
        """Store the records, all or none, in ``session``'s (write) transaction.

        Raises
        ------
        InvalidInput
            Records stored or patients registered since the file was checked now conflict
            with it (nothing is written).
        AccessDenied
            The actor may no longer import records.
        """


@dataclass(frozen=True)
class _RecordCheck:
    """What the stored records say about a file's rows."""

    patients: _Patients
    skip: npt.NDArray[np.bool_]


# Staging (see PreparedImport.stage): the staged rows carry, instead of their patient's id, a
# slot (an index into _Staged.patients), because a new patient gets its id only when the write
# registers it; the write fills a small table of slot -> id and joins it.
_STAGED_COLUMNS = ("instrument", "administered_at", "answers", "total", "severity", "flags")


@dataclass
class _Staged:
    """Rows copied to a TEMP table of one connection by :meth:`PreparedImport.stage`."""

    table: str  # unique per import: found only on the connection that staged it
    skip: npt.NDArray[np.bool_]  # the stored records skipped when the rows were staged
    patients: list[str]  # patient keys by slot
    rows: _NewAssessments  # in staged order (the table's seq); patient_id holds the slot

    @property
    def slots(self) -> str:
        return f"{self.table}_patient"

    def on(self, session: Session) -> bool:
        found = session.connection().exec_driver_sql(
            "SELECT count(*) FROM temp.sqlite_master WHERE type = 'table' AND name = ?",
            (self.table,),
        )
        return bool(found.scalar())


def _stage_rows(session: Session, rows: _NewAssessments, table: str) -> None:
    connection = session.connection()
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a live connection always has its driver's
        raise RuntimeError("the database connection is closed")
    # The temporary database has its own page cache: large enough that the staged rows
    # stay in memory for the copy instead of going through a temporary file.
    driver.execute(f"PRAGMA temp.cache_size = {_STAGING_CACHE_KIB}")
    driver.execute(
        f"CREATE TEMP TABLE {table} (seq INTEGER PRIMARY KEY, slot INTEGER NOT NULL, "
        "instrument TEXT NOT NULL, administered_at TEXT NOT NULL, answers TEXT NOT NULL, "
        "total INTEGER, severity TEXT, flags TEXT NOT NULL)"
    )
    values = list(
        zip(
            range(len(rows.position)),
            rows.patient_id,
            rows.instrument,
            _time_texts(rows.at, "sqlite"),
            rows.answers,
            rows.total,
            rows.severity,
            rows.flags,
            strict=True,
        )
    )
    marks = ", ".join("?" * 8)
    for chunk in _chunks(values, _WRITE_CHUNK):
        driver.executemany(f"INSERT INTO temp.{table} VALUES ({marks})", chunk)


# Negative: KiB, as SQLite's PRAGMA cache_size takes it. An upper bound, allocated as used.
_STAGING_CACHE_KIB = -256 * 1024


class _PreparedAdministrations(PreparedImport):
    def __init__(
        self,
        *,
        actor: Actor,
        checked_in: Session,
        now: dt.datetime,
        historical_after: dt.timedelta,
        create_patients: bool,
        table: AdministrationTable,
        usable: pd.Series,
        keys: pd.DataFrame,
        rules: Any,
        rows: _NewAssessments,
        check: _RecordCheck,
        warnings: Sequence[str],
    ) -> None:
        super().__init__(actor=actor, checked_in=checked_in, now=now)
        self.historical_after = historical_after
        self.create_patients = create_patients
        self.table = table
        self.usable = usable
        self.keys = keys
        self.rules = rules
        self.rows = rows
        self.check = check
        self.warnings = tuple(warnings)
        self._staged: _Staged | None = None

    def stage(self, session: Session) -> None:
        self.release(session)
        if session.connection().dialect.name != "sqlite":
            return  # PostgreSQL's COPY writes beside check-ins already (MVCC)
        rows = self.rows.without(self.check.skip)
        if not rows.position:
            return
        known, new = self.check.patients.known, self.check.patients.new
        # Slots in the order of the ids the patients have or will get, so that the staged
        # order is the order the write would use (see _NewAssessments.in_patient_order).
        patients = [*sorted(known, key=known.__getitem__), *new]
        slot_of = {key: slot for slot, key in enumerate(patients)}
        keys = self.table.patient.to_numpy(dtype=object)[np.asarray(rows.position, dtype=np.intp)]
        rows = replace(rows, patient_id=[slot_of[key] for key in keys]).in_patient_order()
        table = f"import_staging_{uuid.uuid4().hex}"
        _stage_rows(session, rows, table)
        self._staged = _Staged(
            table=table, skip=self.check.skip.copy(), patients=patients, rows=rows
        )

    def release(self, session: Session) -> None:
        staged, self._staged = self._staged, None
        if staged is not None and staged.on(session):
            connection = session.connection()
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{staged.table}")
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{staged.slots}")

    def _write_staged(
        self,
        session: Session,
        staged: _Staged,
        patient_ids: Mapping[str, int],
        progress: ProgressCallback | None,
    ) -> tuple[list[int], list[int], _NewAssessments]:
        """Copy the staged rows; their ids, and the patient id of each slot."""
        connection = session.connection()
        total = len(staged.rows.position)
        _report(progress, 0, total)
        slot_ids = [patient_ids[key] for key in staged.patients]
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE {staged.slots} (slot INTEGER PRIMARY KEY, patient_id INTEGER)"
        )
        connection.exec_driver_sql(
            f"INSERT INTO temp.{staged.slots} VALUES (?, ?)", list(enumerate(slot_ids))
        )
        first = _new_ids(session, 1)[0]
        same = _same_in_every_row(self.actor, self.now, "sqlite")
        columns = ", ".join(["id", "patient_id", *_STAGED_COLUMNS, *same])
        selected = ", ".join(
            [
                f"{first} + s.seq",
                f"(SELECT m.patient_id FROM temp.{staged.slots} m WHERE m.slot = s.slot)",
                *(f"s.{column}" for column in _STAGED_COLUMNS),
                *_sqlite_literals(connection, same),
            ]
        )
        connection.exec_driver_sql(
            f"INSERT INTO {Assessment.__tablename__} ({columns}) "
            f"SELECT {selected} FROM temp.{staged.table} s ORDER BY s.seq"
        )
        _report(progress, total, total)
        return list(range(first, first + total)), slot_ids, staged.rows

    def _check_again(self, session: Session) -> _RecordCheck:
        if clinic_config(session, self.actor.clinic_id).rules != self.rules:
            raise InvalidInput(
                [
                    "the clinic's scoring rules changed while the file was being checked; "
                    "import it again"
                ]
            )
        problems: dict[int, list[str]] = {}
        check = _check_administration_records(
            session,
            self.actor,
            self.table,
            self.usable,
            self.keys,
            problems,
            create=self.create_patients,
        )
        _refuse_if(problems, self.table.labels)
        return check

    def write(self, session: Session, *, progress: ProgressCallback | None = None) -> ImportResult:
        actor, now, table = self.actor, self.now, self.table
        ensure_role(session, actor, "clinician", "system")
        check = self.check if self._same_transaction(session) else self._check_again(session)
        staged = self._staged
        if staged is not None and not (
            np.array_equal(staged.skip, check.skip) and staged.on(session)
        ):
            staged = None  # records stored meanwhile, or another connection: write directly
        created = _create_patients(session, actor, check.patients.new)
        if staged is not None:
            ids, slot_ids, rows = self._write_staged(
                session, staged, {**check.patients.known, **created}, progress
            )
            patient_of: Callable[[int], int] = slot_ids.__getitem__  # rows hold slots
        else:
            patient_ids = table.patient.map({**check.patients.known, **created})
            rows = self.rows.without(check.skip)
            rows.patient_id = (
                patient_ids.to_numpy(dtype=np.float64)[rows.position].astype(np.int64).tolist()
            )
            rows = rows.in_patient_order()
            _report(progress, 0, len(rows.position))
            ids = _new_ids(session, len(rows.position))
            _insert_assessments(session, actor, rows, ids, now=now, progress=progress)
            patient_of = int
        new_alerts = alerts_for_answers(
            clinic_id=actor.clinic_id,
            answers=[
                (ids[i], patient_of(rows.patient_id[i]), _from_epoch_us(rows.at[i]), kinds)
                for i, kinds in enumerate(rows.alert_kinds)
                if kinds
            ],
            now=now,
            historical_after=self.historical_after,
        )
        write_alerts(session, new_alerts)
        alerts = len(new_alerts)
        acknowledged = sum(not alert.open for alert in new_alerts)
        imported_patients = sorted(map(patient_of, set(rows.patient_id)))
        audit.record_many(
            session,
            actor=actor,
            action=audit.Action.IMPORT_ASSESSMENTS,
            patient_ids=imported_patients,
        )
        return ImportResult(
            kind="assessments",
            rows=len(table.labels),
            imported=len(rows.position),
            skipped=int(check.skip.sum()),
            patients=len(imported_patients),
            patients_created=len(created),
            alerts_created=alerts,
            alerts_acknowledged=acknowledged,
            warnings=self.warnings,
        )


def _check_administration_records(
    session: Session,
    actor: Actor,
    table: AdministrationTable,
    usable: pd.Series,
    keys: pd.DataFrame,
    problems: dict[int, list[str]],
    *,
    create: bool,
) -> _RecordCheck:
    """The checks of a file against the stored records: patients and stored administrations."""
    patients = _resolve_patients(
        session,
        actor,
        table.patient,
        usable,
        table.administered_at,
        table.date_only,
        problems,
        create=create,
    )
    keys = keys.assign(patient_id=patients.ids.iloc[keys["position"]].to_numpy())
    skip = _check_stored(session, actor, table, keys, problems)
    return _RecordCheck(patients=patients, skip=skip)


def prepare_administrations(
    session: Session,
    *,
    actor: Actor,
    table: AdministrationTable,
    create_patients: bool = False,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> PreparedImport:
    """Check and score administrations, ready to be written (:class:`PreparedImport`).

    Parameters and refusals as :func:`store_administrations`; ``session`` only reads (a read
    transaction is enough), and nothing is written until :meth:`PreparedImport.write`.
    """
    ensure_role(session, actor, "clinician", "system")
    now = now or utcnow()
    labels = table.labels
    problems = {position: list(messages) for position, messages in table.problems.items()}
    warnings = list(table.warnings)
    rules = clinic_config(session, actor.clinic_id).rules

    instrument = per_unique(
        table.instrument, lambda names: names.str.strip().str.lower().map(_INSTRUMENT_NAMES)
    )
    for position in np.flatnonzero(instrument.isna().to_numpy()):
        given = table.instrument.iloc[position]
        problems.setdefault(int(position), []).append(
            "instrument is empty"
            if not given
            else f"instrument is not one we know; known: {_KNOWN_INSTRUMENTS}"
        )
    when = table.administered_at
    future = _future(when, table.date_only, now)
    add_problem(problems, np.flatnonzero(future), "administered_at is in the future")
    usable_patient = _check_patient_ids(table.patient, problems)

    groups = [
        _score_group(
            table,
            get_instrument(str(instrument_id)),
            np.flatnonzero((instrument == instrument_id).to_numpy()),
            rules=rules,
            problems=problems,
            warnings=warnings,
        )
        for instrument_id in instrument.dropna().unique()
    ]

    usable = (instrument.notna() & when.notna() & usable_patient & ~pd.Series(future)).to_numpy(
        dtype=bool
    )
    positions = np.flatnonzero(usable)
    keys = pd.DataFrame(
        {
            "position": positions,
            "patient": table.patient.iloc[positions].to_numpy(),
            "instrument": instrument.iloc[positions].to_numpy(),
            "at": _epoch_us(when.iloc[positions]) if len(positions) else np.zeros(0, np.int64),
        }
    )
    _first_of_repeats(keys, labels, problems, "patient, instrument and time")
    check = _check_administration_records(
        session,
        actor,
        table,
        usable_patient,
        keys.drop(columns="patient"),
        problems,
        create=create_patients,
    )
    _refuse_if(problems, labels, table.unreadable)

    at = _epoch_us(when) if len(labels) else np.zeros(0, dtype=np.int64)
    rows = _NewAssessments()
    for group in groups:
        rows.extend(_new_rows(table, group, at))
    return _PreparedAdministrations(
        actor=actor,
        checked_in=session,
        now=now,
        historical_after=historical_after,
        create_patients=create_patients,
        table=table,
        usable=usable_patient,
        keys=keys.drop(columns="patient"),
        rules=rules,
        rows=rows,
        check=check,
        warnings=warnings,
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
    See the module notes for times, duplicates and safety alerts.
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


# --------------------------------------------------------------------------------------------
# Infusions
# --------------------------------------------------------------------------------------------


def _whole_or_float(value: float) -> int | float:
    return int(value) if math.isfinite(value) and value.is_integer() else value


def _infusion_key(values: Mapping[str, Any]) -> tuple[object, ...]:
    """Everything recorded about an infusion, normalised for comparison."""
    numbers = tuple(
        None if values.get(name) is None else float(values[name]) for name in INFUSION_NUMBERS
    )
    return (
        values.get("route"),
        *numbers,
        tuple(values.get("side_effects") or ()),
        values.get("side_effects_note") or None,
    )


def _side_effects(cell: str) -> tuple[str, ...]:
    named = (part.strip().lower().replace(" ", "_") for part in cell.split(";"))
    return tuple(dict.fromkeys(name for name in named if name))


def _infusion_values(
    cells: pd.DataFrame,
    when: pd.Series,
    date_only: pd.Series,
    problems: dict[int, list[str]],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Each row as :class:`InfusionInput` fields, with its plausibility problems recorded."""
    numbers: dict[str, npt.NDArray[np.float64]] = {}
    for name in INFUSION_NUMBERS:
        if name not in cells.columns:
            continue
        column, text = parse_numbers(factorized(cells[name]), cells.index)
        numbers[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if text is not None:
            add_problem(
                problems,
                np.flatnonzero((text != "").to_numpy()),
                f"{name} ({INFUSION_LABELS[name]}) is not a number",
            )
    routes = cells["route"].str.lower().map(_ROUTE_NAMES).fillna(cells["route"])
    effects = cells["side_effects"] if "side_effects" in cells.columns else None
    notes = (
        _restore_formulas(cells["side_effects_note"])
        if "side_effects_note" in cells.columns
        else None
    )
    rows: list[dict[str, Any]] = []
    for position in range(len(cells)):
        values: dict[str, Any] = {
            name: None if np.isnan(column[position]) else _whole_or_float(float(column[position]))
            for name, column in numbers.items()
        }
        values["route"] = str(routes.iloc[position])
        values["side_effects"] = (
            _side_effects(str(effects.iloc[position])) if effects is not None else ()
        )
        values["side_effects_note"] = (
            (str(notes.iloc[position]) or None) if notes is not None else None
        )
        moment = when.iloc[position]
        # An unreadable time is reported already; a stand-in lets every other value be checked.
        values["administered_at"] = now if pd.isna(moment) else moment.to_pydatetime()
        checked = dict(values)
        if date_only.iloc[position] and not _after_today_everywhere(values["administered_at"], now):
            # Noon of a day that has begun somewhere is not "in the future" (see _future).
            checked["administered_at"] = min(values["administered_at"], now)
        # The route and side effects the file gives are checked here, so that a refusal
        # names the column, not what the file holds in it.
        reasons = []
        if checked["route"] not in ROUTES:
            reasons.append(f"route is not one of: {_KNOWN_ROUTES}")
            checked["route"] = ROUTES[0]
        unknown = [e for e in checked["side_effects"] if e not in SIDE_EFFECTS]
        if unknown:
            reasons.append(
                f"side_effects names {len(unknown)} unknown side effect(s); known: "
                f"{', '.join(SIDE_EFFECTS)}; use side_effects_note for anything else"
            )
            checked["side_effects"] = tuple(e for e in checked["side_effects"] if e in SIDE_EFFECTS)
        # problems_with is the same check a clinician's form gets, row by row: infusion files
        # are small (one row per treatment session), so clarity wins over vectorising.
        reasons += map(_without_measurement, problems_with(InfusionInput(**checked)))
        if reasons:
            problems.setdefault(position, []).extend(reasons)
        rows.append(values)
    return rows


# "dose of 950 mg is outside ..." -> "dose is outside ...": a refusal does not quote the file.
_MEASUREMENT_QUOTED = [
    (
        re.compile(rf"^{re.escape(INFUSION_LABELS[name])} of .+? {re.escape(unit)} is outside"),
        f"{INFUSION_LABELS[name]} is outside",
    )
    for name, (_, _, unit) in INFUSION_LIMITS.items()
]


def _without_measurement(reason: str) -> str:
    for quoted, plain in _MEASUREMENT_QUOTED:
        reason = quoted.sub(plain, reason)
    return reason


def _check_stored_infusions(
    session: Session,
    actor: Actor,
    keys: pd.DataFrame,
    values: Sequence[Mapping[str, Any]],
    problems: dict[int, list[str]],
) -> npt.NDArray[np.bool_]:
    """Infusions already stored: identical ones are skipped (returned), others refused."""
    skip = np.zeros(len(values), dtype=bool)
    known = keys.dropna()
    if known.empty:
        return skip
    stored: dict[tuple[int, int], list[tuple[object, ...]]] = defaultdict(list)
    earliest = _from_epoch_us(int(known["at"].min()))
    latest = _from_epoch_us(int(known["at"].max()))
    for chunk in _chunks(sorted({int(p) for p in known["patient_id"]}), _IN_CHUNK):
        for infusion in session.scalars(
            select(Infusion).where(
                Infusion.clinic_id == actor.clinic_id,
                Infusion.patient_id.in_(chunk),
                Infusion.administered_at >= earliest,
                Infusion.administered_at <= latest,
            )
        ):
            at = int(_epoch_us(pd.Series(pd.to_datetime([infusion.administered_at], utc=True)))[0])
            fields_ = {name: getattr(infusion, name) for name in INFUSION_COLUMNS[2:]}
            stored[(infusion.patient_id, at)].append(_infusion_key(fields_))
    for position, patient_id, at in zip(
        known["position"], known["patient_id"], known["at"], strict=True
    ):
        existing = stored.get((int(patient_id), int(at)))
        if not existing:
            continue
        if all(key == _infusion_key(values[int(position)]) for key in existing):
            skip[int(position)] = True
        else:
            problems.setdefault(int(position), []).append(
                "an infusion of this patient at this time is already stored with different "
                "values; an import never replaces a stored record"
            )
    return skip


def import_infusions_csv(
    session: Session,
    *,
    actor: Actor,
    source: Source,
    create_patients: bool = False,
    progress: ProgressCallback | None = None,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import past infusions from a CSV file, all or nothing.

    Parameters
    ----------
    session : Session
        The caller's session; nothing is committed here.
    actor : Actor
        A clinician of the clinic, or the system actor.
    source : path or text stream
        Columns ``patient_id``, ``administered_at``, ``route`` (``iv``, ``im``,
        ``intranasal_esketamine``, ``sublingual_oral`` or their labels), and any of
        :data:`INFUSION_COLUMNS`; ``side_effects`` is ``;``-separated
        (``nausea;dizziness``).
    create_patients : bool, default False
        Register unknown patient ids instead of refusing their rows.
    progress : callable, optional
        ``progress(rows_written, rows_to_write)`` while writing.
    now : datetime, optional
        The time of the import; now by default.

    Returns
    -------
    ImportResult

    Raises
    ------
    InvalidInput
        Every bad row with every reason: the plausibility checks of
        :func:`data.infusions.problems_with` (a blood pressure with a digit missing, a dose
        in mg typed as mg/kg, ...), unreadable numbers and dates, unknown patients, an
        infusion repeated in the file, or stored already with different values. Nothing is
        written.
    AccessDenied
        If the actor is neither a clinician nor the system.

    Notes
    -----
    An infusion is identified by patient and time: one already stored with the same values
    is skipped, with different values refused.
    """
    prepared = prepare_infusions_csv(
        session, actor=actor, source=source, create_patients=create_patients, now=now
    )
    return prepared.write(session, progress=progress)


def _check_infusion_records(
    session: Session,
    actor: Actor,
    patient: pd.Series,
    usable: pd.Series,
    when: pd.Series,
    date_only: pd.Series,
    keys: pd.DataFrame,
    values: Sequence[Mapping[str, Any]],
    problems: dict[int, list[str]],
    *,
    create: bool,
) -> _RecordCheck:
    """The checks of an infusions file against the stored records."""
    patients = _resolve_patients(
        session, actor, patient, usable, when, date_only, problems, create=create
    )
    skip = _check_stored_infusions(
        session,
        actor,
        keys.assign(patient_id=patients.ids.iloc[keys["position"]].to_numpy()),
        values,
        problems,
    )
    return _RecordCheck(patients=patients, skip=skip)


class _PreparedInfusions(PreparedImport):
    def __init__(
        self,
        *,
        actor: Actor,
        checked_in: Session,
        now: dt.datetime,
        create_patients: bool,
        labels: Sequence[str],
        patient: pd.Series,
        usable: pd.Series,
        when: pd.Series,
        date_only: pd.Series,
        keys: pd.DataFrame,
        values: list[dict[str, Any]],
        check: _RecordCheck,
    ) -> None:
        super().__init__(actor=actor, checked_in=checked_in, now=now)
        self.create_patients = create_patients
        self.labels = labels
        self.patient = patient
        self.usable = usable
        self.when = when
        self.date_only = date_only
        self.keys = keys
        self.values = values
        self.check = check

    def _check_again(self, session: Session) -> _RecordCheck:
        problems: dict[int, list[str]] = {}
        check = _check_infusion_records(
            session,
            self.actor,
            self.patient,
            self.usable,
            self.when,
            self.date_only,
            self.keys,
            self.values,
            problems,
            create=self.create_patients,
        )
        _refuse_if(problems, self.labels)
        return check

    def write(self, session: Session, *, progress: ProgressCallback | None = None) -> ImportResult:
        actor, now = self.actor, self.now
        ensure_role(session, actor, "clinician", "system")
        check = self.check if self._same_transaction(session) else self._check_again(session)
        created = _create_patients(session, actor, check.patients.new)
        ids = self.patient.map({**check.patients.known, **created})
        rows: list[dict[str, Any]] = []
        for position in np.flatnonzero(~check.skip):
            row = dict(self.values[int(position)])
            for name in INFUSION_NUMBERS:
                if name not in _INFUSION_FLOATS and row.get(name) is not None:
                    row[name] = int(row[name])
            row["side_effects"] = list(row["side_effects"])
            row["clinic_id"] = actor.clinic_id
            row["patient_id"] = int(ids.iloc[int(position)])
            row["recorded_by_id"] = actor.user_id
            row["created_at"] = now
            rows.append(row)
        # Infusions are few; SQLAlchemy's executemany is bulk enough and keeps the JSON
        # column's own serialisation.
        _report(progress, 0, len(rows))
        for done in range(0, len(rows), _WRITE_CHUNK):
            session.execute(insert(Infusion), rows[done : done + _WRITE_CHUNK])
            _report(progress, min(done + _WRITE_CHUNK, len(rows)), len(rows))
        imported_patients = sorted({int(row["patient_id"]) for row in rows})
        audit.record_many(
            session,
            actor=actor,
            action=audit.Action.IMPORT_INFUSIONS,
            patient_ids=imported_patients,
        )
        return ImportResult(
            kind="infusions",
            rows=len(self.labels),
            imported=len(rows),
            skipped=int(check.skip.sum()),
            patients=len(imported_patients),
            patients_created=len(created),
        )


def prepare_infusions_csv(
    session: Session,
    *,
    actor: Actor,
    source: Source,
    create_patients: bool = False,
    now: dt.datetime | None = None,
) -> PreparedImport:
    """Read and check an infusions file, ready to be written (:class:`PreparedImport`).

    As :func:`import_infusions_csv`, but ``session`` only reads (a read transaction is
    enough); nothing is written until :meth:`PreparedImport.write`.
    """
    ensure_role(session, actor, "clinician", "system")
    now = now or utcnow()
    read = read_csv(
        source,
        required=("patient_id", "administered_at", "route"),
        allowed=INFUSION_COLUMNS,
        what="infusions",
    )
    cells, labels = read.cells, read.labels
    problems: dict[int, list[str]] = {}
    when, date_only = parse_times(
        read.distinct["administered_at"], cells.index, problems, column="administered_at"
    )
    values = _infusion_values(cells, when, date_only, problems, now)
    patient = _restore_formulas(cells["patient_id"])
    usable = _check_patient_ids(patient, problems)

    positions = np.flatnonzero((when.notna() & usable).to_numpy(dtype=bool))
    keys = pd.DataFrame(
        {
            "position": positions,
            "patient": patient.iloc[positions].to_numpy(),
            "at": _epoch_us(when.iloc[positions]) if len(positions) else np.zeros(0, np.int64),
        }
    )
    _first_of_repeats(keys, labels, problems, "patient and time")
    keys = keys.drop(columns="patient")
    check = _check_infusion_records(
        session,
        actor,
        patient,
        usable,
        when,
        date_only,
        keys,
        values,
        problems,
        create=create_patients,
    )
    _refuse_if(problems, labels)
    return _PreparedInfusions(
        actor=actor,
        checked_in=session,
        now=now,
        create_patients=create_patients,
        labels=labels,
        patient=patient,
        usable=usable,
        when=when,
        date_only=date_only,
        keys=keys,
        values=values,
        check=check,
    )
