"""Checks of an import against the clinic, the same for every format.

Every importer (CSV assessments, CSV infusions, FHIR) checks its records the same way before
anything is written: patient ids that may be stored (:mod:`data.patients`), patients the clinic
knows (or registers, ``create_patients``), no record before its patient's date of birth or in
the future, no record twice in one file. Problems are collected by position and refused
together (:func:`refuse_if`), so a file is corrected in one pass; a refusal names the row and
the rule, never what the file holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.errors import InvalidInput
from data.interchange import bulk
from data.interchange.csv_read import add_problem, listed_problems, per_unique
from data.models import Patient
from data.patients import patient_id_problem
from data.records.patients import NewPatient, register_patients
from data.spreadsheet import restore_cell

__all__ = [
    "FUTURE_TOLERANCE",
    "Patients",
    "after_today_everywhere",
    "check_patient_ids",
    "create_patients",
    "epoch_us",
    "first_of_repeats",
    "from_epoch_us",
    "in_future",
    "refuse_if",
    "resolve_patients",
    "restore_formulas",
]

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
"""How far after now a record's time may be (clocks differ) before it is in the future."""


def restore_formulas(cells: pd.Series) -> pd.Series:
    """Cells as written before an export guarded them against spreadsheet formulas."""
    return per_unique(cells, lambda values: values.map(restore_cell))


@dataclass(frozen=True)
class Patients:
    """The patients of a file's rows."""

    ids: pd.Series  # internal id per position (float; NaN where unknown, new or unusable)
    known: dict[str, int]
    new: list[str]


def check_patient_ids(external: pd.Series, problems: dict[int, list[str]]) -> pd.Series:
    """Which rows have a patient id that may be stored (:mod:`data.patients`); the others get
    a problem that names the rule, never the id."""
    reasons = per_unique(external, lambda ids: ids.map(patient_id_problem))
    for reason, rows in reasons.groupby(reasons, sort=False).groups.items():
        add_problem(problems, rows, str(reason))  # the index is the positions 0 .. n-1
    return reasons.isna()


# The earliest time zone (Kiribati, UTC+14) starts a day 14 hours before UTC.
_DAY_BEGINS_EARLIEST = dt.timedelta(hours=14)


def resolve_patients(
    session: Session,
    actor: Actor,
    external: pd.Series,
    usable: pd.Series,
    when: pd.Series,
    date_only: pd.Series | None,
    problems: dict[int, list[str]],
    *,
    create: bool,
) -> Patients:
    """Map the clinic's patient ids to ours; unknown ones are new patients or a problem.

    A record dated before its patient's date of birth is refused: a date alone when it is an
    earlier date, a time when the day of birth had not begun anywhere on Earth yet, so that
    no time zone makes a correct record wrong.
    """
    wanted = sorted(set(external[usable.to_numpy(dtype=bool)]))
    known: dict[str, int] = {}
    born: dict[str, pd.Timestamp] = {}
    for chunk in bulk.chunks(wanted, bulk.IN_CHUNK):
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
    return Patients(ids=external.map(known).astype("float64"), known=known, new=new)


def create_patients(session: Session, actor: Actor, external_ids: Sequence[str]) -> dict[str, int]:
    """Register the file's new patients (:mod:`data.records.patients`); their ids by patient id."""
    # The name is the clinic's id until someone records the real one: an import file carries
    # no names, and a made-up name would be worse than an obvious placeholder.
    return register_patients(
        session,
        actor=actor,
        patients=[NewPatient(external_id, external_id) for external_id in external_ids],
    )


def first_of_repeats(
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


def epoch_us(times: pd.Series) -> npt.NDArray[np.int64]:
    """Microseconds since 1970 (UTC) of a time-zone aware Series without NaT."""
    values: npt.NDArray[np.int64] = (
        times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    ).astype(np.int64)
    return values


def from_epoch_us(value: int) -> dt.datetime:
    """The time-zone aware UTC time of microseconds since 1970."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(value))


# The earliest time zone (Kiribati, UTC+14) starts a day 14 hours before UTC: noon UTC of a
# date alone is 26 hours after that day has begun somewhere.
_DAY_BEGUN_EARLIEST = dt.timedelta(hours=26)


def after_today_everywhere(noon: dt.datetime, now: dt.datetime) -> bool:
    """Whether the day of ``noon`` (a date alone, stored at noon UTC) has begun nowhere yet."""
    return noon - _DAY_BEGUN_EARLIEST > now + FUTURE_TOLERANCE


def in_future(
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


def refuse_if(
    problems: Mapping[int, list[str]], labels: Sequence[str], unreadable: Sequence[str] = ()
) -> None:
    """Refuse the whole file if any record has a problem: every record by its label, with all
    its reasons (the first ones listed, then counts by kind: :func:`listed_problems`)."""
    if problems or unreadable:
        # A record's reasons together are its kind in the summary.
        ordered = sorted(problems)
        kinds = [*(u.partition(": ")[2] or u for u in unreadable)]
        kinds += ["; ".join(problems[p]) for p in ordered]
        messages = [*unreadable, *(f"{labels[p]}: {'; '.join(problems[p])}" for p in ordered)]
        raise InvalidInput(listed_problems(messages, kinds=kinds))
