"""Importing infusions from a CSV file: one infusion per row.

Columns: ``patient_id``, ``administered_at``, ``route`` and any of the measurements of
:class:`data.infusions.InfusionInput` by their field names; ``side_effects`` is a
``;``-separated list. The file goes through the same pipeline as assessments (read -> table
-> validate -> store, :mod:`data.interchange.pipeline`): the CSV reader
(:mod:`data.interchange.csv_read`), the checks against the clinic
(:mod:`data.interchange.checks`, :mod:`data.interchange.stored`), and a
:class:`~data.interchange.pipeline.PreparedImport` that writes it. Each row also gets the
plausibility checks a clinician's form gets (:func:`data.infusions.problems_with`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.course_state import refresh_patients
from data.infusions import LABELS as INFUSION_LABELS
from data.infusions import LIMITS as INFUSION_LIMITS
from data.infusions import InfusionInput, problems_with
from data.interchange.checks import (
    after_today_everywhere,
    check_patient_ids,
    epoch_us,
    first_of_repeats,
    refuse_if,
    restore_formulas,
)
from data.interchange.csv_format import INFUSION_COLUMNS, INFUSION_NUMBERS
from data.interchange.csv_read import (
    Source,
    add_problem,
    factorized,
    parse_numbers,
    parse_times,
    read_csv,
)
from data.interchange.pipeline import (
    ImportResult,
    PreparedImport,
    ProgressCallback,
    RecordCheck,
)
from data.interchange.stored import check_infusion_records
from data.models import ROUTE_LABELS, ROUTES, SIDE_EFFECTS, utcnow
from data.records.infusions import write_infusions

__all__ = ["import_infusions_csv", "prepare_infusions_csv"]

_INFUSION_FLOATS = ("dose_mg_per_kg", "dose_mg")
_KNOWN_ROUTES = ", ".join(f"{code} ({ROUTE_LABELS[code]})" for code in ROUTES)
_ROUTE_NAMES = {code: code for code in ROUTES} | {
    label.lower(): code for code, label in ROUTE_LABELS.items()
}


def _whole_or_float(value: float) -> int | float:
    return int(value) if math.isfinite(value) and value.is_integer() else value


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
        restore_formulas(cells["side_effects_note"])
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
        if date_only.iloc[position] and not after_today_everywhere(values["administered_at"], now):
            # Noon of a day that has begun somewhere is not "in the future" (see checks.in_future).
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
        check: RecordCheck,
    ) -> None:
        super().__init__(actor=actor, checked_in=checked_in, now=now, labels=labels, check=check)
        self.create_patients = create_patients
        self.patient = patient
        self.usable = usable
        self.when = when
        self.date_only = date_only
        self.keys = keys
        self.values = values

    def _check(self, session: Session, problems: dict[int, list[str]]) -> RecordCheck:
        return check_infusion_records(
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

    def _store(
        self,
        session: Session,
        check: RecordCheck,
        created: dict[str, int],
        progress: ProgressCallback | None,
    ) -> ImportResult:
        actor, now = self.actor, self.now
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
        write_infusions(session, rows, progress=progress)
        imported_patients = sorted({int(row["patient_id"]) for row in rows})
        audit.record_many(
            session,
            actor=actor,
            action=audit.Action.IMPORT_INFUSIONS,
            patient_ids=imported_patients,
        )
        # Once per import, the touched patients together (the vectorised path past a few):
        # last, so the clinic's data version stays locked only until the commit.
        refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=imported_patients)
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
    patient = restore_formulas(cells["patient_id"])
    usable = check_patient_ids(patient, problems)

    positions = np.flatnonzero((when.notna() & usable).to_numpy(dtype=bool))
    keys = pd.DataFrame(
        {
            "position": positions,
            "patient": patient.iloc[positions].to_numpy(),
            "at": epoch_us(when.iloc[positions]) if len(positions) else np.zeros(0, np.int64),
        }
    )
    first_of_repeats(keys, labels, problems, "patient and time")
    keys = keys.drop(columns="patient")
    check = check_infusion_records(
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
    refuse_if(problems, labels)
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
