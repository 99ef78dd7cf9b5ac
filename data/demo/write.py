"""The demo's own inserts: bulk rows of one table, and its questionnaires.

Patients go through :func:`data.records.patients.register_patients`, safety alerts through
:func:`data.records.alerts.write_alerts` and the audit event through :mod:`data.audit`, as a
real clinic's do, and the questionnaires through :func:`data.records.assessments.write_assessments`
(:func:`insert_assessments` only shapes its rows). :func:`bulk_insert` writes the rows that
have no writer of their own (courses, infusions).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from data.demo.answers import ScoredAnswers
from data.records.assessments import AssessmentRows, write_assessments

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


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
        The alert's kind (:func:`outcomes.instruments.safety.safety_alert_kinds`).
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


def _runs(entered_by: Sequence[int | None]) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of rows entered by the same user, in order."""
    runs: list[tuple[int, int]] = []
    start = 0
    for position in range(1, len(entered_by) + 1):
        if position == len(entered_by) or entered_by[position] != entered_by[start]:
            runs.append((start, position))
            start = position
    return runs


def insert_assessments(
    session: Session,
    *,
    clinic_id: int,
    scored: Sequence[ScoredAnswers],
    patient_ids: Sequence[int],
    entered_by_ids: Sequence[int | None],
) -> list[AlertToCreate]:
    """Store the scored questionnaires through the one writer of assessments; returns the
    safety alerts they raise.

    ``patient_ids`` and ``entered_by_ids`` are indexed by each row's ``owner`` (the plan's
    index). Each record is dated when it was answered, as a real check-in is. Rows keep their
    order (so their ids do): one write per run of rows entered by the same user.
    """
    if not all(row.valid for row in scored):
        raise RuntimeError("the demo clinic answers every item of every questionnaire")
    entered_by = [entered_by_ids[row.owner] for row in scored]
    ids: list[int] = []
    for start, stop in _runs(entered_by):
        part = scored[start:stop]
        ids += write_assessments(
            session,
            AssessmentRows(
                patient_id=[patient_ids[row.owner] for row in part],
                instrument=[row.instrument for row in part],
                administered_at=[(row.administered_at - _EPOCH) // _MICROSECOND for row in part],
                answers=[json.dumps(row.answers) for row in part],
                total=[row.total for row in part],
                severity=[row.severity for row in part],
                flags=[json.dumps(row.flags) for row in part],
            ),
            clinic_id=clinic_id,
            source="patient",
            entered_by_id=entered_by[start],
            created_at=None,
        )
    return [
        AlertToCreate(
            owner=row.owner,
            assessment_id=assessment_id,
            created_at=row.administered_at,
            kind=kind,
            left_open=row.left_open,
        )
        for row, assessment_id in zip(scored, ids, strict=True)
        for kind in row.alert_kinds
    ]
