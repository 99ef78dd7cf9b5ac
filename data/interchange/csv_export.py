"""CSV exports in the import format: a patient's (or the clinic's) questionnaires and infusions.

Each export checks who asks (:func:`ensure_can_export`), records one audit event per patient
exported in the caller's transaction, and guards every text cell against spreadsheet
formulas (:mod:`data.spreadsheet`), so that a cell a person typed never runs as a formula.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_can_view_patient, ensure_role
from data.interchange.csv_format import (
    ASSESSMENT_COLUMNS,
    INFUSION_COLUMNS,
    INFUSION_NUMBERS,
    REPORTED_TOTAL,
)
from data.models import Assessment, Infusion, Patient
from data.records.assessments import counted
from data.spreadsheet import write_rows
from outcomes import INSTRUMENTS

__all__ = ["ExportSummary", "ensure_can_export", "export_assessments_csv", "export_infusions_csv"]


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: ``rows`` records of ``patients`` patients."""

    rows: int
    patients: int


def ensure_can_export(session: Session, *, actor: Actor, patient_id: int | None) -> None:
    """Refuse unless ``actor`` may read what is exported.

    One patient: their care team, the system, or the patient themself. The whole clinic:
    clinicians and the system. Administrators see aggregates only (``DESIGN.md``, Roles).
    """
    if patient_id is None:
        ensure_role(session, actor, "clinician", "system")
    else:
        ensure_can_view_patient(session, actor=actor, patient_id=patient_id)


def _time_cell(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _number_cell(value: object) -> object:
    return "" if value is None else value


def export_assessments_csv(
    session: Session, *, actor: Actor, out: IO[str], patient_id: int | None = None
) -> ExportSummary:
    """Write a patient's (or the clinic's) questionnaires as an assessments CSV file.

    Parameters
    ----------
    session : Session
        The caller's session.
    actor : Actor
        For one patient: their care team, the system, or the patient; for the clinic:
        clinicians and the system.
    out : text stream
        Where the CSV goes (opened with ``newline=""`` if it is a file).
    patient_id : int, optional
        Our id of the patient; the whole clinic by default.

    Returns
    -------
    ExportSummary

    Notes
    -----
    The format is the importer's, so the file imports into another clinic unchanged
    (``create_patients=True`` for an empty one): ``patient_id`` is the clinic's id,
    times are ISO 8601 in UTC, item columns of every instrument present, then ``total``
    (informational; recomputed on import). Text cells are neutralised against formula
    injection (:func:`neutralise_formula`). One audit event ``export_assessments`` per
    patient exported.
    """
    ensure_can_export(session, actor=actor, patient_id=patient_id)
    query = (
        select(
            Patient.id,
            Patient.external_id,
            Assessment.instrument,
            Assessment.administered_at,
            Assessment.answers,
            Assessment.total,
        )
        .join(Patient, Patient.id == Assessment.patient_id)
        # The latest of each correction chain: a file read back in must count what the
        # app counts (course-and-reporting §3); the corrected answers stay in the records.
        .where(Assessment.clinic_id == actor.clinic_id, counted())
        .order_by(Patient.external_id, Assessment.administered_at, Assessment.instrument)
    )
    if patient_id is not None:
        query = query.where(Assessment.patient_id == patient_id)
    rows = session.execute(query).all()
    present = {row[2] for row in rows}
    keys = [key for i in INSTRUMENTS if i.id in present for key in i.item_keys]
    write_rows(
        out,
        [
            [*ASSESSMENT_COLUMNS, *keys, REPORTED_TOTAL],
            *(
                [
                    external_id,
                    instrument,
                    _time_cell(administered_at),
                    *(_number_cell(answers.get(key)) for key in keys),
                    _number_cell(total),
                ]
                for _, external_id, instrument, administered_at, answers, total in rows
            ),
        ],
    )
    exported = sorted({row[0] for row in rows} | ({patient_id} if patient_id else set()))
    for exported_id in exported:
        audit.record(
            session, actor=actor, action=audit.Action.EXPORT_ASSESSMENTS, patient_id=exported_id
        )
    return ExportSummary(rows=len(rows), patients=len(exported))


def export_infusions_csv(
    session: Session, *, actor: Actor, out: IO[str], patient_id: int | None = None
) -> ExportSummary:
    """Write a patient's (or the clinic's) infusions as an infusions CSV file.

    Access, format and audit as :func:`export_assessments_csv` (audit action
    ``export_infusions``); every column of :data:`INFUSION_COLUMNS`, side effects
    ``;``-separated. Infusions marked entered in error are left out: the file holds the
    infusions the patient had, and importing it elsewhere must not count a wrong one.
    """
    ensure_can_export(session, actor=actor, patient_id=patient_id)
    query = (
        select(Patient.external_id, Infusion)
        .join(Patient, Patient.id == Infusion.patient_id)
        # Entered in error: kept in the record, but not an infusion the patient had.
        .where(Infusion.clinic_id == actor.clinic_id, Infusion.entered_in_error_at.is_(None))
        .order_by(Patient.external_id, Infusion.administered_at)
    )
    if patient_id is not None:
        query = query.where(Infusion.patient_id == patient_id)
    rows = session.execute(query).all()
    write_rows(
        out,
        [
            INFUSION_COLUMNS,
            *(
                [
                    external_id,
                    _time_cell(infusion.administered_at),
                    infusion.route,
                    *(_number_cell(getattr(infusion, name)) for name in INFUSION_NUMBERS),
                    ";".join(infusion.side_effects or ()),
                    infusion.side_effects_note or "",
                ]
                for external_id, infusion in rows
            ),
        ],
    )
    exported = sorted(
        {infusion.patient_id for _, infusion in rows} | ({patient_id} if patient_id else set())
    )
    for exported_id in exported:
        audit.record(
            session, actor=actor, action=audit.Action.EXPORT_INFUSIONS, patient_id=exported_id
        )
    return ExportSummary(rows=len(rows), patients=len(exported))
