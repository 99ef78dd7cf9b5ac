"""`outcomes import`, `export` and `rescore`: a clinic's records in, out and recomputed."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# Only light modules here, so that `outcomes --help` answers at once: each command imports
# what it uses when it runs (data/cli/common.py says why).
from data.cli.common import (
    ClinicChoice,
    DatabaseUrl,
    ExportFormat,
    ImportKind,
    ProgressBar,
    RecordKind,
    app,
    clinic_id_of,
    echo_import,
    fail,
    open_engine,
    refusals,
)
from data.files import check_new_target, discard, place, private_temp_file

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@app.command("import")
def import_records(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV or JSON file."),
    ],
    clinic: ClinicChoice = None,
    create_patients: Annotated[
        bool,
        typer.Option(
            "--create-patients", help="Register unknown patient ids instead of refusing them."
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import past assessments or infusions (CSV) or a FHIR Bundle, all or nothing.

    A file with any bad row changes nothing; every bad row is listed with its number (the
    header is row 1). Example: outcomes import assessments history.csv --create-patients
    """
    from data.access import Actor
    from data.engine import transaction
    from data.interchange.importers import IMPORTERS

    progress = ProgressBar()
    importer = IMPORTERS[kind.value]
    with open_engine(database_url) as engine, refusals(rows_note=importer.numbered_rows):
        try:
            # The file is read and checked in a read transaction, which never blocks a
            # check-in; the write lock is taken only for writing the checked records.
            with transaction(engine) as session:
                actor = Actor.system(clinic_id_of(session, clinic))
                prepared = importer.prepare(
                    session, actor=actor, source=file, create_patients=create_patients
                )
                # Still without the write lock: the rows go to a table of this connection
                # alone (SQLite), so the write below copies them in one statement.
                prepared.stage(session)
            # One connection at a time in this process: the write gets the staging one back
            # (on another, it would write the rows directly, as without staging).
            with transaction(engine, write=True) as session:
                result = prepared.write(session, progress=progress)
            with transaction(engine) as session:
                prepared.release(session)
        finally:
            progress.close()
    echo_import(result, file)


@app.command()
def export(
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="The clinic's patient id; default: every patient."),
    ] = None,
    format_: Annotated[ExportFormat, typer.Option("--format", help="csv or fhir.")] = (
        ExportFormat.csv
    ),
    kind: Annotated[
        RecordKind, typer.Option("--kind", help="For CSV: assessments or infusions.")
    ] = RecordKind.assessments,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; default: stdout."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --output.")] = False,
    clinic: ClinicChoice = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a patient's or the clinic's records as CSV (the import format) or FHIR.

    Every patient exported gets an audit event, stored before the file appears. The file is
    created readable by you only. Example:
    outcomes export --format fhir --patient MRN-1042 -o mrn-1042.json
    """
    from data.engine import transaction

    if format_ is ExportFormat.fhir and kind is RecordKind.infusions:
        fail("a FHIR export carries questionnaires; export infusions with --format csv")
    target = output if output is not None and str(output) != "-" else None
    if target is not None:
        if target.exists() and not target.is_symlink() and not overwrite:
            fail(f"{target} exists already; choose another file or add --overwrite")
        with refusals():
            check_new_target(target, replace=overwrite)
    # The records go to a private temporary file beside the target while the audit events
    # are written; the file takes its name only once they are committed. So a failed commit
    # leaves no file, and a file never exists without its audit events.
    temp: Path | None = None
    try:
        with (
            open_engine(database_url) as engine,
            refusals(),
            transaction(engine, write=True) as session,
        ):
            text, records, patients = _export_text(
                session, clinic=clinic, patient=patient, format_=format_, kind=kind
            )
            if target is not None:
                descriptor, temp = private_temp_file(target)
                with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
        # Committed. Only now does the export reach the operator.
        if target is None:
            typer.echo(text, nl=False)
        elif temp is not None:
            try:
                place(temp, target, replace=overwrite)
            except OSError as error:
                reason = "it exists now" if isinstance(error, FileExistsError) else error.strerror
                typer.echo(
                    f"error: cannot create {target} ({reason}); no file was written. The "
                    "export's audit events are recorded; export again to a new file name",
                    err=True,
                )
                raise typer.Exit(1) from None
    finally:
        discard(temp)
    what = "FHIR entries" if format_ is ExportFormat.fhir else f"row(s) of {kind.value}"
    where = f" to {target}" if target is not None else ""
    of = f" of {patients} patient(s)" if patients is not None else ""
    typer.echo(f"exported {records} {what}{of}{where}", err=True)


def _export_text(
    session: Session,
    *,
    clinic: str | None,
    patient: str | None,
    format_: ExportFormat,
    kind: RecordKind,
) -> tuple[str, int, int | None]:
    """The export's text, its number of records and (CSV) of patients; audit events added."""
    from sqlalchemy import select

    from data.access import Actor
    from data.models import Patient

    actor = Actor.system(clinic_id_of(session, clinic))
    patient_id = None
    if patient is not None:
        patient_id = session.scalar(
            select(Patient.id).where(
                Patient.clinic_id == actor.clinic_id, Patient.external_id == patient
            )
        )
        if patient_id is None:
            fail("no patient with that id in the clinic")
    buffer = io.StringIO()
    if format_ is ExportFormat.fhir:
        from data.interchange.fhir_export import export_fhir_bundle

        bundle = export_fhir_bundle(session, actor=actor, patient_id=patient_id)
        json.dump(bundle, buffer, indent=2)
        buffer.write("\n")
        return buffer.getvalue(), len(bundle.get("entry", [])), None
    from data.interchange.csv_export import export_assessments_csv, export_infusions_csv

    writer = export_assessments_csv if kind is RecordKind.assessments else export_infusions_csv
    summary = writer(session, actor=actor, out=buffer, patient_id=patient_id)
    return buffer.getvalue(), summary.rows, summary.patients


@app.command()
def rescore(clinic: ClinicChoice = None, database_url: DatabaseUrl = None) -> None:
    """Recompute stored totals, severities and flags with the clinic's current rules.

    Answers are never changed; a record the rules no longer allow is kept, marked invalid.
    """
    from data.access import Actor
    from data.engine import transaction
    from data.rescore import rescore as rescore_clinic

    with (
        open_engine(database_url) as engine,
        refusals(),
        transaction(engine, write=True) as session,
    ):
        summary = rescore_clinic(session, actor=Actor.system(clinic_id_of(session, clinic)))
    typer.echo(
        f"rescored {summary.examined} record(s) with {summary.scoring_version}: "
        f"{summary.changed} changed ({summary.now_invalid} now invalid, {summary.now_valid} now "
        f"valid), {summary.restamped} restamped only"
    )
    for instrument, count in summary.changed_by_instrument.items():
        typer.echo(f"  {instrument}: {count} changed")
    if summary.alerts_created:
        typer.echo(f"created {summary.alerts_created} safety alert(s) for newly raised flags")
