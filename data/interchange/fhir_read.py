"""Import questionnaires from HL7 FHIR R4 Bundles (the export: :mod:`~.fhir_export`).

Reading the resources is :mod:`outcomes.fhir`'s job (:func:`~outcomes.fhir.parse_bundle`); this
module reads a Bundle into an :class:`~data.interchange.pipeline.AdministrationTable` and hands it
to the one import pipeline (:mod:`data.interchange.administrations`), so the rules are the CSV
importer's (:mod:`data.interchange.pipeline`):

* **Patients.** A response's ``subject`` is ``Patient/<the clinic's patient id>`` (the
  ``external_id``; an absolute URL ending in ``/Patient/<id>`` is read the same way). Unknown
  patients are refused unless ``create_patients=True``. Exports write the same references,
  so an export imports into another clinic unchanged.
* **All or nothing.** Any unreadable or invalid response refuses the whole Bundle, and every
  bad entry is reported by its index (``Bundle entry[3]``, counted from 0 as in the JSON).
* **What is imported.** ``QuestionnaireResponse`` entries with status ``completed`` or
  ``amended``. Other statuses (``in-progress``, ``stopped``, ``entered-in-error``) are not a
  finished questionnaire: they are skipped with a warning instead of blocking the rest.
  Other resources (total ``Observation`` entries, ``Patient``, ...) are ignored: totals are
  recomputed from the answers.
* **Reported totals.** A total in a response that disagrees with the recomputed one is a
  warning in the result, not an error; the recomputed total is stored.
* **Times.** ``authored`` with a time carries its zone (FHIR requires one); a date alone means
  12:00 UTC, as in CSV files.

References
----------
.. [1] HL7 FHIR R4 QuestionnaireResponse and Bundle,
   https://hl7.org/fhir/R4/questionnaireresponse.html, https://hl7.org/fhir/R4/bundle.html
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from data.access import Actor, ensure_role
from data.clinic import clinic_config
from data.errors import InvalidInput
from data.interchange.administrations import prepare_administrations
from data.interchange.csv_format import ITEM_KEYS
from data.interchange.csv_read import read_import_bytes
from data.interchange.pipeline import (
    AdministrationTable,
    ImportResult,
    PreparedImport,
    ProgressCallback,
)
from data.records.alerts import HISTORICAL_ALERT_AGE
from outcomes.errors import FhirError
from outcomes.fhir import ParsedResponse, parse_bundle, parse_questionnaire_response
from outcomes.instruments import get_instrument
from outcomes.rules import Rules

__all__ = [
    "IMPORTED_STATUSES",
    "MAX_BUNDLE_ENTRIES",
    "MAX_JSON_DEPTH",
    "import_fhir_bundle",
    "patient_reference",
    "prepare_fhir_bundle",
]

IMPORTED_STATUSES = ("completed", "amended")
"""QuestionnaireResponse statuses that are imported; the others are skipped with a warning."""

# The clinic's patient id may hold "/" (data.patients): it is everything after the first
# "Patient/" (a relative reference, or an absolute URL's last "Patient/" segment onwards),
# less a version suffix.
_SUBJECT = re.compile(r"(?:^|/)Patient/(.+?)(?:/_history/[^/]+)?$")

MAX_BUNDLE_ENTRIES = 100_000
"""Most entries a Bundle may have."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of JSON objects and arrays in a file (a QuestionnaireResponse with nested
groups needs about 12)."""
# A JSON string, escapes included: removed before brackets are counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def patient_reference(external_id: str) -> str:
    """The FHIR reference of a patient: ``Patient/<the clinic's patient id>``."""
    return f"Patient/{external_id}"


def _json_depth(data: bytes) -> int:
    """How deeply the JSON text nests objects and arrays, counted in C over the bytes (linear:
    the parser itself would recurse, and end in RecursionError on an absurd file)."""
    structure = np.frombuffer(_JSON_STRING.sub(b"", data), dtype=np.uint8)
    steps = np.zeros(len(structure), dtype=np.int64)
    steps[(structure == ord("{")) | (structure == ord("["))] = 1
    steps[(structure == ord("}")) | (structure == ord("]"))] = -1
    return int(np.cumsum(steps).max()) if len(steps) else 0


def _too_deep() -> InvalidInput:
    return InvalidInput(
        [
            f"the file nests objects and arrays more than {MAX_JSON_DEPTH} levels deep, which "
            "no FHIR Bundle of questionnaires needs; is this the right file?"
        ]
    )


def _load(source: str | os.PathLike[str] | IO[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        resource: object = source
    else:
        data = read_import_bytes(source, what="FHIR")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(["the file is not UTF-8 text; a FHIR JSON file must be"]) from None
        if _json_depth(data) > MAX_JSON_DEPTH:
            raise _too_deep()
        try:
            # A byte-order mark is allowed in a UTF-8 file, as in CSV files.
            resource = json.loads(text.removeprefix("\ufeff"))
        except json.JSONDecodeError as error:
            raise InvalidInput(
                [f"the file is not JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
            ) from None
        except RecursionError:  # pragma: no cover - the depth is checked above
            raise _too_deep() from None
    if not isinstance(resource, Mapping):
        raise InvalidInput(["the file holds JSON, but not a FHIR resource (a JSON object)"])
    entries = resource.get("entry")
    if isinstance(entries, list) and len(entries) > MAX_BUNDLE_ENTRIES:
        raise InvalidInput(
            [
                f"the Bundle has {len(entries):,} entries, more than the {MAX_BUNDLE_ENTRIES:,} "
                "an import takes; split it into several Bundles"
            ]
        )
    return resource


def _response_entries(bundle: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, resource) of each QuestionnaireResponse entry, as parse_bundle reads them."""
    entries = bundle.get("entry") or []
    found = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        inner = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(inner, Mapping) and inner.get("resourceType") == "QuestionnaireResponse":
            found.append((index, inner))
    return found


# outcomes.fhir explains a refusal with the values it read, for a developer at a prompt; an
# import's refusal goes to terminals and logs and says where and what, never the file's
# values (issue 9, item 10). Item linkIds and codes locate the problem and stay.
_QUOTED = r"(?:'[^']*'|\"(?:[^\"\\]|\\.)*\"|None)"
_VALUES = [
    (re.compile(rf" \(fullUrl {_QUOTED}\)"), ""),
    (re.compile(rf"authored (?:{_QUOTED}|\S+) (has|gives)"), r"authored \1"),
    (re.compile(rf"status {_QUOTED} is not an R4 status"), "status is not an R4 status"),
    (re.compile(r" is .*, not a whole number"), " is not a whole number"),
    (re.compile(rf"answer code {_QUOTED} \(system {_QUOTED}\)"), "the answer code"),
]


def _without_values(message: str) -> str:
    for quoted, plain in _VALUES:
        message = quoted.sub(plain, message)
    return message


def _parse(
    bundle: Mapping[str, Any], rules: Rules
) -> tuple[list[tuple[int, ParsedResponse]], list[str]]:
    """Every readable response with its entry index, and why the others cannot be read."""
    entries = _response_entries(bundle)
    try:
        parsed = parse_bundle(bundle, rules=rules)
    except FhirError as error:
        # parse_bundle stops at the first unreadable entry; read them one by one so that
        # every problem of every entry is reported, and the sender fixes the Bundle in one go.
        readable, unreadable = [], []
        for index, resource in entries:
            try:
                readable.append((index, parse_questionnaire_response(resource, rules=rules)))
            except FhirError as entry_error:
                unreadable.append(f"Bundle entry[{index}]: {_without_values(str(entry_error))}")
        if not unreadable:  # the Bundle itself is malformed, not one of its entries
            raise InvalidInput([_without_values(str(error))]) from None
        return readable, unreadable
    return [(index, response) for (index, _), response in zip(entries, parsed, strict=True)], []


def _administered_at(response: ParsedResponse) -> dt.datetime | None:
    if response.authored is not None:
        return response.authored.astimezone(dt.UTC)
    if response.authored_date is not None:
        # A date without a time: noon UTC, the same calendar day in every zone (as in CSV).
        return dt.datetime.combine(response.authored_date, dt.time(12), tzinfo=dt.UTC)
    return None


def _answers(values: list[int | None]) -> pd.Series:
    try:
        return pd.Series(pd.array(values, dtype="Int64"))
    except (TypeError, ValueError, OverflowError):
        # An absurd number (beyond 64 bits) still reaches scoring, which refuses it by name.
        return pd.Series(values, dtype="float64")


def _table(
    responses: Sequence[tuple[int, ParsedResponse]], unreadable: Sequence[str]
) -> AdministrationTable:
    labels: list[str] = []
    patients: list[str] = []
    times: list[dt.datetime | None] = []
    problems: dict[int, list[str]] = {}
    warnings: list[str] = []
    kept: list[ParsedResponse] = []
    for index, response in responses:
        label = f"Bundle entry[{index}]"
        if response.status not in IMPORTED_STATUSES:
            warnings.append(
                f"{label}: status is not completed or amended, so not a finished "
                "questionnaire; skipped"
            )
            continue
        position = len(kept)
        kept.append(response)
        labels.append(label)
        match = _SUBJECT.search(response.subject or "")
        patients.append(match.group(1) if match else "")
        if match is None:
            problems.setdefault(position, []).append(
                "subject must reference the patient as Patient/<the clinic's patient id>"
            )
        when = _administered_at(response)
        times.append(when)
        if when is None:
            problems.setdefault(position, []).append(
                "authored is missing; an assessment needs the date it was answered"
            )
        if response.total_mismatch:
            warnings.append(
                f"{label}: the {get_instrument(response.instrument).name} total reported by "
                "the sender differs from the total recomputed from the answers; the "
                "recomputed total is stored"
            )
    items = {
        key: _answers([response.items.get(key) for response in kept])
        for key in ITEM_KEYS
        if any(response.items.get(key) is not None for response in kept)
    }
    return AdministrationTable(
        labels=labels,
        patient=pd.Series(patients, dtype=object),
        instrument=pd.Series([response.instrument for response in kept], dtype=object),
        administered_at=pd.to_datetime(pd.Series(times, dtype=object), utc=True),
        date_only=pd.Series([r.authored is None for r in kept], dtype=bool),
        items=items,
        problems=problems,
        warnings=warnings,
        unreadable=list(unreadable),
    )


def import_fhir_bundle(
    session: Session,
    *,
    actor: Actor,
    source: str | os.PathLike[str] | IO[str] | Mapping[str, Any],
    create_patients: bool = False,
    progress: ProgressCallback | None = None,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> ImportResult:
    """Import the QuestionnaireResponses of a FHIR Bundle, all or nothing.

    Parameters
    ----------
    session : Session
        The caller's session (one transaction); nothing is committed here.
    actor : Actor
        A clinician of the clinic, or the system actor (command line).
    source : path, text stream or mapping
        A FHIR R4 ``Bundle`` as JSON (any type: ``collection``, ``searchset``, ...), or
        already parsed.
    create_patients : bool, default False
        Register unknown patients (by the id in ``subject``) instead of refusing them.
    progress : callable, optional
        ``progress(rows_written, rows_to_write)`` while writing.
    now : datetime, optional
        The time of the import; now by default.
    historical_after : timedelta, default 14 days
        Safety answers older than this get an alert that is already acknowledged (see
        :mod:`data.interchange.pipeline`).

    Returns
    -------
    ImportResult
        ``warnings`` lists skipped entries and reported totals that differ from the
        recomputed ones.

    Raises
    ------
    InvalidInput
        Every problem of every entry (``"Bundle entry[3]: ..."``): unreadable resources,
        unknown patients, invalid answers, repeated or conflicting administrations. Nothing
        is written.
    AccessDenied
        If the actor is neither a clinician nor the system.
    """
    prepared = prepare_fhir_bundle(
        session,
        actor=actor,
        source=source,
        create_patients=create_patients,
        now=now,
        historical_after=historical_after,
    )
    return prepared.write(session, progress=progress)


def prepare_fhir_bundle(
    session: Session,
    *,
    actor: Actor,
    source: str | os.PathLike[str] | IO[str] | Mapping[str, Any],
    create_patients: bool = False,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> PreparedImport:
    """Read and check a FHIR Bundle, ready to be written
    (:class:`~data.interchange.pipeline.PreparedImport`).

    As :func:`import_fhir_bundle`, but ``session`` only reads (a read transaction is
    enough); nothing is written until :meth:`~data.interchange.pipeline.PreparedImport.write`.
    """
    ensure_role(session, actor, "clinician", "system")
    bundle = _load(source)
    rules = clinic_config(session, actor.clinic_id).rules
    return prepare_administrations(
        session,
        actor=actor,
        table=_table(*_parse(bundle, rules)),
        create_patients=create_patients,
        now=now,
        historical_after=historical_after,
    )
