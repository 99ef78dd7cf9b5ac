"""An import against what the clinic has stored: patients, and records stored already.

Re-importing is safe: a record whose key (patient, instrument and time; for an infusion,
patient and time) is stored already with the same values is skipped and counted, one with
*different* values is refused, because a stored record is never silently replaced or doubled.
The checks run when a file is prepared and again in the write transaction when it is another
one (:class:`data.interchange.pipeline.PreparedImport`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.access import Actor
from data.interchange import bulk
from data.interchange.checks import epoch_us, from_epoch_us, resolve_patients
from data.interchange.csv_format import INFUSION_COLUMNS, INFUSION_NUMBERS
from data.interchange.pipeline import AdministrationTable, RecordCheck
from data.models import Assessment, Infusion
from outcomes import get_instrument
from outcomes.instruments import Instrument

__all__ = ["check_administration_records", "check_infusion_records"]


def _stored_answers(
    session: Session,
    actor: Actor,
    patient_ids: Sequence[int],
    instruments: Sequence[str],
    earliest: dt.datetime,
    latest: dt.datetime,
) -> pd.DataFrame:
    rows: list[tuple[int, str, dt.datetime, dict[str, Any]]] = []
    for chunk in bulk.chunks(patient_ids, bulk.IN_CHUNK):
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
    frame["at"] = epoch_us(pd.to_datetime(frame["at"], utc=True)) if rows else np.int64(0)
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


def _check_stored_assessments(
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
        from_epoch_us(int(known["at"].min())),
        from_epoch_us(int(known["at"].max())),
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


def check_administration_records(
    session: Session,
    actor: Actor,
    table: AdministrationTable,
    usable: pd.Series,
    keys: pd.DataFrame,
    problems: dict[int, list[str]],
    *,
    create: bool,
) -> RecordCheck:
    """The checks of a file against the stored records: patients and stored administrations."""
    patients = resolve_patients(
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
    skip = _check_stored_assessments(session, actor, table, keys, problems)
    return RecordCheck(patients=patients, skip=skip)


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
    earliest = from_epoch_us(int(known["at"].min()))
    latest = from_epoch_us(int(known["at"].max()))
    for chunk in bulk.chunks(sorted({int(p) for p in known["patient_id"]}), bulk.IN_CHUNK):
        for infusion in session.scalars(
            select(Infusion).where(
                Infusion.clinic_id == actor.clinic_id,
                Infusion.patient_id.in_(chunk),
                Infusion.administered_at >= earliest,
                Infusion.administered_at <= latest,
            )
        ):
            at = int(epoch_us(pd.Series(pd.to_datetime([infusion.administered_at], utc=True)))[0])
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


def check_infusion_records(
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
) -> RecordCheck:
    """The checks of an infusions file against the stored records."""
    patients = resolve_patients(
        session, actor, patient, usable, when, date_only, problems, create=create
    )
    skip = _check_stored_infusions(
        session,
        actor,
        keys.assign(patient_id=patients.ids.iloc[keys["position"]].to_numpy()),
        values,
        problems,
    )
    return RecordCheck(patients=patients, skip=skip)
