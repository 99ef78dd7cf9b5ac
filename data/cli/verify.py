"""`outcomes verify`: the database check, then each clinic's course state against its records.

The course state (:mod:`data.course_state`) is kept current by every write; this command
recomputes it from the answers, infusions and alerts and reports where the stored rows
differ (``--repair`` rebuilds the clinics that drift). It takes the place of the database
check's own ``verify`` command (:mod:`data.cli.maintenance`), which it runs first: a damaged
database or an old schema is reported as before and nothing is recomputed.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from data.cli import maintenance
from data.cli.common import DatabaseUrl, app, clinic_id_of, open_engine, refusals

if TYPE_CHECKING:
    from data.course_state import StateDrift

SHOWN = 10
"""Differences listed one by one per clinic (the rest are counted by column)."""

ClinicToCheck = Annotated[
    str | None,
    typer.Option("--clinic", help="Clinic id or name; default: every clinic."),
]


@app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    clinic: ClinicToCheck = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Rebuild the course state of the clinics that drift."),
    ] = False,
) -> None:
    """Check the database and each clinic's course state: exit status 0 when all is well, else 1.

    First the database: SQLite's full integrity and foreign-key checks and the schema
    revision (PostgreSQL: that the server answers, and the revision). Then each clinic's
    course state (what the worklist and the outcomes page read) is recomputed from the
    records and compared with what is stored; differences are counted by table and column
    and the first few listed by patient id (no names). Without --repair nothing is changed.
    """
    # The database first: a damaged file or an old schema ends the command here (status 1).
    maintenance.verify(database_url=database_url)
    # Imported here: `outcomes --help` and the other commands need none of it.
    from sqlalchemy import func, select

    from data.course_state import build_clinic, drift
    from data.engine import transaction
    from data.models import Clinic, Patient

    drifting: list[tuple[int, str]] = []
    with open_engine(database_url, check_integrity=False) as engine, refusals():
        with transaction(engine) as session:
            chosen = None if clinic is None else clinic_id_of(session, clinic)
            query = select(Clinic.id, Clinic.name).order_by(Clinic.id)
            if chosen is not None:
                query = query.where(Clinic.id == chosen)
            clinics = [(int(c.id), str(c.name)) for c in session.execute(query)]
            patients = dict(
                session.execute(
                    select(Patient.clinic_id, func.count()).group_by(Patient.clinic_id)
                ).all()
            )
        for clinic_id, name in clinics:
            # One read transaction per clinic: a large clinic's recomputation never holds
            # the others' snapshot.
            with transaction(engine) as session:
                found = drift(session, clinic_id=clinic_id)
            label = f"clinic {clinic_id} ({name}): {patients.get(clinic_id, 0)} patient(s)"
            if not found:
                typer.echo(f"course state: {label}, no drift")
                continue
            drifting.append((clinic_id, name))
            typer.echo(f"course state: {label}, {len(found)} difference(s) from the records")
            _describe(found)
        if repair and drifting:
            for clinic_id, name in drifting:
                with transaction(engine, write=True) as session:
                    rebuilt = build_clinic(session, clinic_id=clinic_id)
                with transaction(engine) as session:
                    left = drift(session, clinic_id=clinic_id)
                if left:  # pragma: no cover - a rebuild is the recomputation itself
                    typer.echo(f"error: clinic {clinic_id} still drifts after a rebuild", err=True)
                    _describe(left)
                    raise typer.Exit(1)
                typer.echo(
                    f"repaired: rebuilt the course state of clinic {clinic_id} ({name}, "
                    f"{rebuilt} patient(s)); it now matches the records"
                )
            typer.echo("the course state is right")
            return
    if drifting:
        listed = ", ".join(str(clinic_id) for clinic_id, _ in drifting)
        typer.echo(
            f"error: the course state of clinic(s) {listed} differs from the records", err=True
        )
        typer.echo(
            "what to do: run `outcomes verify --repair` to rebuild it from the records (the "
            "records are not changed); if it drifts again, report which columns differ",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("the course state is right")


def _describe(found: list[StateDrift]) -> None:
    """Counts by table and column, then the first few differences by patient id."""
    by_column = Counter(f"{d.table}.{d.column}" for d in found)
    for column, number in sorted(by_column.items()):
        typer.echo(f"  {column}: {number}")
    typer.echo("  first differences (patient id, instrument, column: stored, expected):")
    for d in found[:SHOWN]:
        typer.echo(
            f"    patient {d.patient_id}, {d.instrument or '-'}, {d.column}: "
            f"stored {_shown(d.stored)}, expected {_shown(d.expected)}"
        )
    if len(found) > SHOWN:
        typer.echo(f"    ... and {len(found) - SHOWN} more")


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)
