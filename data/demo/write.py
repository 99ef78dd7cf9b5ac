"""The demo's own inserts: bulk rows of one table, and its questionnaires.

Patients go through :func:`data.records.patients.register_patients`, safety alerts through
:func:`data.records.alerts.write_alerts` and the audit event through :mod:`data.audit`, as a
real clinic's do. The assessments are inserted here, in :func:`insert_assessments` only, until
the one writer of assessments takes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from data.clinic import SCORING_VERSION
from data.demo.answers import ScoredAnswers
from data.models import Assessment


@dataclass(frozen=True)
class AlertToCreate:
    """A safety alert that a stored questionnaire raises.

    Attributes
    ----------
    owner : int
        The index of the patient's plan.
    assessment_id : int
        The stored questionnaire.
    created_at : datetime
        When it was answered.
    kind : str
        The alert's kind (:func:`outcomes.safety.safety_alert_kinds`).
    left_open : bool
        Whether the demo leaves it unacknowledged.
    """

    owner: int
    assessment_id: int
    created_at: dt.datetime
    kind: str
    left_open: bool


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` per table.

    ``render_nulls`` keeps ``None`` values in every row, so that rows with different empty
    columns still share one statement (the ORM would otherwise group them by their keys).
    Ids are read back by natural key afterwards: ``RETURNING`` in parameter order makes
    SQLite insert one row at a time.
    """
    if rows:
        session.execute(insert(model).execution_options(render_nulls=True), rows)


def insert_assessments(
    session: Session,
    *,
    clinic_id: int,
    scored: Sequence[ScoredAnswers],
    patient_ids: Sequence[int],
    entered_by_ids: Sequence[int | None],
) -> list[AlertToCreate]:
    """Insert the scored questionnaires; returns the safety alerts they raise.

    ``patient_ids`` and ``entered_by_ids`` are indexed by each row's ``owner`` (the plan's
    index). The ids of the questionnaires that raise an alert are found again by patient,
    instrument and time (unique for the demo's patients).
    """
    records = [
        {
            "clinic_id": clinic_id,
            "patient_id": patient_ids[row.owner],
            "instrument": row.instrument,
            "administered_at": row.administered_at,
            "source": "patient",
            "answers": row.answers,
            "total": row.total,
            "severity": row.severity,
            "flags": row.flags,
            "valid": row.valid,
            "scoring_version": SCORING_VERSION,
            "idempotency_key": None,
            "entered_by_id": entered_by_ids[row.owner],
            "created_at": row.administered_at,
        }
        for row in scored
    ]
    bulk_insert(session, Assessment, records)
    wanted = [row for row in scored if row.alert_kinds]
    if not wanted:
        return []
    stored = session.execute(
        select(
            Assessment.patient_id,
            Assessment.instrument,
            Assessment.administered_at,
            Assessment.id,
        ).where(
            Assessment.clinic_id == clinic_id,
            Assessment.patient_id.in_({patient_ids[row.owner] for row in wanted}),
        )
    ).all()
    ids = {(patient, instrument, moment): id_ for patient, instrument, moment, id_ in stored}
    return [
        AlertToCreate(
            owner=row.owner,
            assessment_id=ids[patient_ids[row.owner], row.instrument, row.administered_at],
            created_at=row.administered_at,
            kind=kind,
            left_open=row.left_open,
        )
        for row in wanted
        for kind in row.alert_kinds
    ]
