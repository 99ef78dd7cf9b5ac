"""Infusions: the one place that writes them.

An infusion reaches the database three ways, all through here, in the caller's transaction:
a clinician records one in the app (:func:`write_infusion`, :func:`data.infusions.record_infusion`
checks it first), an import stores a file's worth (:func:`write_infusions`, from
:mod:`data.interchange.csv_infusions`), and the demo clinic stores its synthetic history.

Rows are dicts of column values, already checked (:func:`data.infusions.problems_with`): these
functions decide nothing about plausibility or access, and write no audit event (the caller
records what the actor did).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from data.interchange import bulk
from data.interchange.pipeline import ProgressCallback, report_progress
from data.models import Infusion

__all__ = ["write_infusion", "write_infusions"]


def write_infusion(session: Session, values: Mapping[str, Any]) -> int:
    """Store one infusion (``values`` by column); its id."""
    infusion_id: int = session.execute(
        insert(Infusion).returning(Infusion.id), dict(values)
    ).scalar_one()
    return infusion_id


def write_infusions(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Store many infusions, in order, in chunks of :data:`data.interchange.bulk.WRITE_CHUNK`.

    One ``executemany`` per chunk. ``render_nulls`` keeps ``None`` values in every row, so that
    rows with different empty columns still share one statement (SQLAlchemy would otherwise
    group them by their keys). Infusions are few (tens of thousands in a clinic's whole
    history): SQLAlchemy's executemany is bulk enough and keeps the JSON column's own
    serialisation, unlike the assessments' driver-level path.
    """
    statement = insert(Infusion).execution_options(render_nulls=True)
    report_progress(progress, 0, len(rows))
    for done in range(0, len(rows), bulk.WRITE_CHUNK):
        session.execute(statement, [dict(row) for row in rows[done : done + bulk.WRITE_CHUNK]])
        report_progress(progress, min(done + bulk.WRITE_CHUNK, len(rows)), len(rows))
