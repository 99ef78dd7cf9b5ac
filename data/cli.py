"""``outcomes``: the operator's command line for a clinic's records.

Every command

* reads the database from ``--database-url`` or ``OUTCOMES_DATABASE_URL``
  (:func:`data.settings.get_settings`);
* acts as the system actor of one clinic (``--clinic`` id or name; by default the only
  clinic), :meth:`data.access.Actor.system`;
* runs in **one** transaction (:func:`data.engine.transaction`): bad input is refused with
  a message on stderr and exit status 1, and nothing is changed;
* never prints patient data, SQL or SQL parameters: summaries are counts, problems name
  rows and columns. Patient data leaves only through ``export``, to the file (or stdout)
  the operator names;
* never prints a database password: a URL is shown only through
  :func:`data.engine.printable_url`;
* refuses to work on a SQLite file that SQLite's ``quick_check`` finds damaged
  (``outcomes verify`` runs the full check).

``docs/records.md`` has examples of every command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor
from data.accounts import create_user as create_account
from data.backup import backup
from data.csv_io import (
    ImportResult,
    export_assessments_csv,
    export_infusions_csv,
    prepare_assessments_csv,
    prepare_infusions_csv,
)
from data.engine import (
    DatabaseDamaged,
    database_damaged,
    integrity_problems,
    make_engine,
    printable_url,
    transaction,
)
from data.errors import AccessDenied, InvalidInput
from data.fhir_io import export_fhir_bundle, prepare_fhir_bundle
from data.files import check_new_target, discard, place, private_temp_file
from data.models import Clinic, Patient
from data.password_policy import password_problems
from data.rescore import rescore as rescore_clinic
from data.schema import is_current, revisions, upgrade
from data.settings import get_settings

__all__ = ["app"]

app = typer.Typer(
    name="outcomes",
    help="Infusion Outcomes: set up a clinic's database and move its records in and out.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's local variables could hold patient data.
    pretty_exceptions_show_locals=False,
)

_BAD_URL = (
    "the database URL cannot be read; expected e.g. sqlite:////path/outcomes.db or "
    "postgresql+psycopg://user@host/outcomes"
)
_DAMAGED = (
    "the database file is damaged (SQLite's check found the problems below); nothing is "
    "written to a damaged database nor backed up from it. Stop the app, move the file and its "
    '-wal and -shm files aside, restore the newest backup (docs/records.md, "Restoring a '
    'backup") and run `outcomes verify`'
)
_NEW_REAL_DATABASE = (
    "OUTCOMES_DATABASE_URL=sqlite:////srv/clinic/outcomes.db outcomes init --clinic-name NAME "
    "--admin-username USER (or a PostgreSQL URL, docs/records.md)"
)
PROGRESS_FROM_ROWS = 5_000
"""Imports with more rows than this show a progress bar (on a terminal)."""

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; default: OUTCOMES_DATABASE_URL, else the embedded SQLite file.",
        show_default=False,
    ),
]
ClinicChoice = Annotated[
    str | None,
    typer.Option("--clinic", help="Clinic id or name; default: the only clinic."),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin (no prompt)."
    ),
]


class ImportKind(StrEnum):
    assessments = "assessments"
    infusions = "infusions"
    fhir = "fhir"


class ExportFormat(StrEnum):
    csv = "csv"
    fhir = "fhir"


class RecordKind(StrEnum):
    assessments = "assessments"
    infusions = "infusions"


class StaffRole(StrEnum):
    clinician = "clinician"
    administrator = "administrator"


# --------------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------------


def _fail(message: str, problems: tuple[str, ...] | list[str] = ()) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    # Every refusal happens before the command's transaction commits (or before it begins).
    typer.echo("nothing was changed", err=True)
    raise typer.Exit(1)


@contextmanager
def _refusals(*, rows_note: bool = False) -> Iterator[None]:
    """Turn refusals into a message and exit status 1 (the transaction has rolled back)."""
    try:
        yield
    except InvalidInput as error:
        note = " (rows numbered as a spreadsheet shows them: the header is row 1)"
        _fail(f"refused{note if rows_note else ''}:", error.problems)
    except AccessDenied as error:
        _fail(f"{str(error).rstrip('.')}")
    except DatabaseDamaged as error:
        _fail(_DAMAGED, error.problems)
    except ArgumentError:
        _fail(_BAD_URL)
    except DBAPIError as error:
        if database_damaged(error):
            _fail(_DAMAGED, [_sqlite_says(error)])
        _fail_database(error)
    except SQLAlchemyError as error:
        _fail(f"database error ({type(error).__name__})")
    except ValueError as error:
        # Our own refusals (outcomes errors, the demo generator) are ValueErrors with a
        # message written for the operator.
        _fail(f"{str(error).rstrip('.')}")
    except OSError as error:
        _fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))


def _sqlite_says(error: DBAPIError) -> str:
    # SQLite's words for a damaged file ("database disk image is malformed"); any other
    # driver message could quote a statement's values, so only its kind is shown.
    said = str(error.orig).strip()
    if said.lower() in ("database disk image is malformed", "file is not a database"):
        return said
    return type(error.orig).__name__


def _fail_database(error: DBAPIError) -> NoReturn:
    if getattr(error.orig, "sqlite_errorcode", 0) & 0xFF == 8:  # SQLITE_READONLY_*
        _fail(
            "the database cannot be written: its file, or the folder that holds it, is "
            "read-only for this user (SQLite writes the file and creates its -wal and -shm "
            "files beside it); run the command as the user who owns the database, or make "
            "both writable by that user"
        )
    if getattr(error.orig, "sqlstate", None) == "25006":  # read_only_sql_transaction
        _fail(
            "the database cannot be written: the server accepts only reads (a standby or "
            "a read-only user?); use the URL of the primary server"
        )
    if isinstance(error, OperationalError | InterfaceError):
        # Only the kind of error is shown: the driver's message can quote the statement's
        # values, which would be patient data.
        _fail(
            "cannot use the database (is it running, is the URL right, is it busy?); "
            f"{type(error.orig).__name__}"
        )
    _fail(f"the database refused the change ({type(error.orig).__name__})")


def _url(database_url: str | None) -> str:
    return database_url or get_settings().database_url


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        _fail(_BAD_URL)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


@contextmanager
def _engine(
    database_url: str | None,
    *,
    create: bool = False,
    check_integrity: bool = True,
    require_current: bool = True,
) -> Iterator[Engine]:
    """An engine on the database; unless ``create``, it must exist with the current schema.

    An existing SQLite file is checked first (``quick_check``, unless ``check_integrity`` is
    false because the command checks it itself): a damaged one is refused before anything is
    written to it.
    """
    url = _url(database_url)
    path = _sqlite_file(url)
    if path is not None and not create and not path.exists():
        # Connecting would create an empty file: refuse instead, and change nothing.
        _fail(f"there is no database at {path}; create it with `outcomes init`")
    existed = path is not None and path.exists() and path.stat().st_size > 0
    with _refusals():
        engine = make_engine(url)
    try:
        with _refusals():
            if check_integrity and existed:
                problems = integrity_problems(engine)
                if problems:
                    _fail(_DAMAGED, problems)
            if not create and require_current and not is_current(engine):
                _fail(
                    "the database schema is missing or out of date; run `outcomes init` "
                    "(it upgrades the schema and keeps the records)"
                )
        yield engine
    finally:
        engine.dispose()


def _holds_demo(engine: Engine) -> bool:
    """Whether the database holds the demo clinic (read before any change is made)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(Clinic.__tablename__):
            return False
        return connection.scalar(select(Clinic.id).where(Clinic.is_demo.is_(True))) is not None


def _clinic_id(session: Session, clinic: str | None) -> int:
    clinics = session.execute(select(Clinic.id, Clinic.name).order_by(Clinic.id)).all()
    if clinic is None:
        if len(clinics) == 1:
            return int(clinics[0].id)
        if not clinics:
            _fail("there is no clinic yet; create one with `outcomes init --clinic-name NAME`")
        listed = ", ".join(f"{c.id} ({c.name})" for c in clinics)
        _fail(f"there are several clinics; choose one with --clinic: {listed}")
    chosen = [c for c in clinics if str(c.id) == clinic.strip() or c.name == clinic]
    if len(chosen) != 1:
        _fail("no clinic with that id or name; `outcomes init --clinic-name NAME` creates one")
    return int(chosen[0].id)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    # The command line creates staff accounts only: the staff policy of the app, checked
    # before the database is opened (the username is checked again with it on creation).
    problems = password_problems(password, role="administrator")
    if problems:
        _fail("refused:", problems)
    return password


class _ProgressBar:
    """A progress bar for large imports, drawn on stderr when it is a terminal."""

    def __init__(self) -> None:
        self._console = Console(stderr=True)
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_FROM_ROWS or not self._console.is_terminal:
            return
        if self._bar is None or self._task is None:
            self._bar = Progress(
                TextColumn("writing records"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self._console,
            )
            self._bar.start()
            self._task = self._bar.add_task("import", total=total)
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _echo_import(result: ImportResult, source: Path) -> None:
    what = "assessment(s)" if result.kind == "assessments" else "infusion(s)"
    typer.echo(
        f"imported {result.imported} {what} for {result.patients} patient(s) from {source.name}"
    )
    if result.skipped:
        typer.echo(f"skipped {result.skipped} already stored with the same values")
    if result.patients_created:
        typer.echo(f"registered {result.patients_created} new patient(s)")
    if result.alerts_created:
        typer.echo(
            f"created {result.alerts_created} safety alert(s); {result.alerts_acknowledged} of "
            "them for answers older than 14 days, acknowledged as history; the others are on "
            "the clinicians' worklist"
        )
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@app.command()
def init(
    clinic_name: Annotated[
        str | None,
        typer.Option("--clinic-name", help="Create this clinic unless it exists."),
    ] = None,
    admin_username: Annotated[
        str | None,
        typer.Option("--admin-username", help="Also create the clinic's first administrator."),
    ] = None,
    admin_display_name: Annotated[
        str | None, typer.Option("--admin-display-name", help="The administrator's full name.")
    ] = None,
    password_stdin: PasswordStdin = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create or upgrade the database schema; create a clinic and its first administrator.

    Safe to run again: the schema is only upgraded, and an existing clinic of that name is
    reused. A database holds the demo clinic or real clinics, never both: in a demo database
    no clinic or account is created. Example:
    outcomes init --clinic-name "Lakeside Ketamine" --admin-username ana
    """
    if password_stdin and not admin_username:
        _fail("--password-stdin needs --admin-username")
    if clinic_name is not None and not 0 < len(clinic_name.strip()) <= 200:
        _fail("the clinic name needs 1 to 200 characters")
    password = _read_password(password_stdin) if admin_username else None
    with _engine(database_url, create=True) as engine, _refusals():
        demo = _holds_demo(engine)
        if demo and (clinic_name is not None or admin_username):
            _fail(
                "this database holds the demo clinic (synthetic records, public passwords), "
                "and a real clinic never shares a database with it. Start the real clinic in a "
                f"new database: {_NEW_REAL_DATABASE}"
            )
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinic_id: int | None = None
            created = False
            if clinic_name is not None:
                name = clinic_name.strip()
                clinic_id = session.scalar(select(Clinic.id).where(Clinic.name == name))
                if clinic_id is None:
                    clinic = Clinic(name=name, is_demo=False)
                    session.add(clinic)
                    session.flush()
                    clinic_id, created = clinic.id, True
                    audit.record(
                        session, actor=Actor.system(clinic_id), action=audit.Action.CREATE_CLINIC
                    )
            elif admin_username:
                clinic_id = _clinic_id(session, None)
            if admin_username and clinic_id is not None and password is not None:
                create_account(
                    session,
                    actor=Actor.system(clinic_id),
                    username=admin_username,
                    password=password,
                    role="administrator",
                    display_name=admin_display_name or admin_username,
                )
            any_clinic = session.scalar(select(Clinic.id).limit(1))
    typer.echo("the database schema is up to date")
    if created:
        typer.echo(f"created clinic {clinic_id}")
    elif clinic_id is not None:
        typer.echo(f"clinic {clinic_id} exists already")
    if admin_username:
        typer.echo(f"created the administrator account {admin_username!r}")
    if any_clinic is None:
        typer.echo("no clinic yet: run `outcomes init --clinic-name NAME` to create one")
    if demo:
        typer.echo(
            "this database holds the demo clinic; to start a real clinic, use a new database: "
            + _NEW_REAL_DATABASE
        )


@app.command("seed-demo")
def seed_demo_command(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same clinic.")] = 2026,
    patients: Annotated[int, typer.Option(help="How many synthetic patients.")] = 150,
    today: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The demo clinic's 'today' (YYYY-MM-DD)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create the demo clinic: about 18 months of entirely synthetic records.

    Refused in a database that holds a real clinic. Example: outcomes seed-demo --patients 60
    """
    # Imported here: the demo generator is large, and no other command needs it.
    from data.demo import seed_demo

    with _engine(database_url, create=True) as engine, _refusals():
        upgrade(engine)
        with transaction(engine, write=True) as session:
            summary = seed_demo(
                session, seed=seed, patients=patients, today=today.date() if today else None
            )
    typer.echo("created the demo clinic (synthetic data only):")
    for field in dataclasses.fields(summary):
        value = getattr(summary, field.name)
        if isinstance(value, tuple):
            # The demo sign-ins: public, synthetic accounts, meant to be shown.
            typer.echo(f"  {field.name}:")
            for item in value:
                parts = [str(getattr(item, name, "")) for name in ("username", "password", "role")]
                typer.echo("    " + " / ".join(part for part in parts if part))
        else:
            typer.echo(f"  {field.name}: {value}")


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
    progress = _ProgressBar()
    with _engine(database_url) as engine, _refusals(rows_note=kind is not ImportKind.fhir):
        try:
            # The file is read and checked in a read transaction, which never blocks a
            # check-in; the write lock is taken only for writing the checked records.
            with transaction(engine) as session:
                actor = Actor.system(_clinic_id(session, clinic))
                prepare = {
                    ImportKind.assessments: prepare_assessments_csv,
                    ImportKind.infusions: prepare_infusions_csv,
                    ImportKind.fhir: prepare_fhir_bundle,
                }[kind]
                prepared = prepare(
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
    _echo_import(result, file)


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
    if format_ is ExportFormat.fhir and kind is RecordKind.infusions:
        _fail("a FHIR export carries questionnaires; export infusions with --format csv")
    target = output if output is not None and str(output) != "-" else None
    if target is not None:
        if target.exists() and not target.is_symlink() and not overwrite:
            _fail(f"{target} exists already; choose another file or add --overwrite")
        with _refusals():
            check_new_target(target, replace=overwrite)
    # The records go to a private temporary file beside the target while the audit events
    # are written; the file takes its name only once they are committed. So a failed commit
    # leaves no file, and a file never exists without its audit events.
    temp: Path | None = None
    try:
        with (
            _engine(database_url) as engine,
            _refusals(),
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
    actor = Actor.system(_clinic_id(session, clinic))
    patient_id = None
    if patient is not None:
        patient_id = session.scalar(
            select(Patient.id).where(
                Patient.clinic_id == actor.clinic_id, Patient.external_id == patient
            )
        )
        if patient_id is None:
            _fail("no patient with that id in the clinic")
    buffer = io.StringIO()
    if format_ is ExportFormat.fhir:
        bundle = export_fhir_bundle(session, actor=actor, patient_id=patient_id)
        json.dump(bundle, buffer, indent=2)
        buffer.write("\n")
        return buffer.getvalue(), len(bundle.get("entry", [])), None
    writer = export_assessments_csv if kind is RecordKind.assessments else export_infusions_csv
    summary = writer(session, actor=actor, out=buffer, patient_id=patient_id)
    return buffer.getvalue(), summary.rows, summary.patients


@app.command("create-user")
def create_user(
    role: Annotated[StaffRole, typer.Option("--role", help="clinician or administrator.")],
    username: Annotated[str, typer.Option("--username", help="The sign-in name.")],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Full name shown in the app.")
    ] = None,
    password_stdin: PasswordStdin = False,
    clinic: ClinicChoice = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a staff account; the password is prompted for (hidden) or read from stdin.

    Patient sign-ins belong to a patient's record and are never made here (issue #12 adds
    making them from the record).
    Example: outcomes create-user --role clinician --username lee --password-stdin < pw.txt
    """
    password = _read_password(password_stdin)
    with (
        _engine(database_url) as engine,
        _refusals(),
        transaction(engine, write=True) as session,
    ):
        create_account(
            session,
            actor=Actor.system(_clinic_id(session, clinic)),
            username=username,
            password=password,
            role=role.value,
            display_name=display_name or username,
        )
    typer.echo(f"created the {role.value} account {username!r}")


@app.command()
def rescore(clinic: ClinicChoice = None, database_url: DatabaseUrl = None) -> None:
    """Recompute stored totals, severities and flags with the clinic's current rules.

    Answers are never changed; a record the rules no longer allow is kept, marked invalid.
    """
    with (
        _engine(database_url) as engine,
        _refusals(),
        transaction(engine, write=True) as session,
    ):
        summary = rescore_clinic(session, actor=Actor.system(_clinic_id(session, clinic)))
    typer.echo(
        f"rescored {summary.examined} record(s) with {summary.scoring_version}: "
        f"{summary.changed} changed ({summary.now_invalid} now invalid, {summary.now_valid} now "
        f"valid), {summary.restamped} restamped only"
    )
    for instrument, count in summary.changed_by_instrument.items():
        typer.echo(f"  {instrument}: {count} changed")
    if summary.alerts_created:
        typer.echo(f"created {summary.alerts_created} safety alert(s) for newly raised flags")


@app.command("backup")
def backup_command(
    target: Annotated[Path, typer.Argument(help="The backup file to create (a new name).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Back up the database: SQLite is copied; for PostgreSQL the pg_dump command is printed.

    The copy is checked, readable by you only, and never replaces an existing file or writes
    through a link. A damaged database is refused. The pg_dump command is never run here;
    run it where the backup should live. Example: outcomes backup /backups/outcomes-$(date +%F).db
    """
    # The backup checks the database itself (before copying, and the copy after).
    with _engine(database_url, check_integrity=False) as engine, _refusals():
        result = backup(engine, target)
    if result.done:
        typer.echo(f"backed up to {result.target} (checked; readable by you only)")
    else:
        typer.echo(
            "# PostgreSQL: run this where the backup should be written; the password comes "
            "from ~/.pgpass or PGPASSWORD",
        )
        typer.echo(result.shell_command)


@app.command()
def verify(database_url: DatabaseUrl = None) -> None:
    """Check the database, changing nothing: exit status 0 when all is well, else 1.

    SQLite: the full integrity check (every page, index and constraint), the foreign-key
    check and the schema revision. PostgreSQL: that the server answers and the schema
    revision; the server checks its own files (see docs/records.md).
    """
    problems: list[str] = []
    advice: list[str] = []
    with (
        _engine(database_url, check_integrity=False, require_current=False) as engine,
        _refusals(),
    ):
        path = _sqlite_file(str(engine.url))
        if path is not None:
            typer.echo(f"database: SQLite file {path}")
            damage = integrity_problems(engine, thorough=True)
            if damage:
                problems += [f"integrity_check: {problem}" for problem in damage]
                advice.append(
                    "the file is damaged: stop the app, move the file and its -wal and -shm "
                    "files aside, and restore the newest backup that `outcomes verify` passes "
                    '(docs/records.md, "Restoring a backup")'
                )
            else:
                typer.echo("integrity_check: ok")
                broken = _foreign_key_problems(engine)
                problems += broken
                if broken:
                    advice.append(
                        "records refer to records that are missing: restore the newest backup "
                        "that `outcomes verify` passes, or keep this file and ask for help"
                    )
                else:
                    typer.echo("foreign_key_check: ok")
            _warn_if_readable_by_others(path)
        else:
            typer.echo(f"database: PostgreSQL at {printable_url(engine.url)}")
            typer.echo(
                "connected; PostgreSQL checks its own files (data checksums, pg_amcheck): "
                "verify does not read them"
            )
        if not _damage_found(problems):
            current, head = revisions(engine)
            if current == head:
                typer.echo(f"schema: current (revision {current})")
            else:
                problems.append(f"schema: revision {current or 'none'}, this software's is {head}")
                advice.append(
                    "run `outcomes init` to bring the schema up to date (the records are kept); "
                    "if the database is newer than this software, upgrade the software"
                )
    if problems:
        typer.echo("error: the database is not in order:", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        for line in advice:
            typer.echo(f"what to do: {line}", err=True)
        raise typer.Exit(1)
    typer.echo("the database is in order")


def _damage_found(problems: list[str]) -> bool:
    return any(problem.startswith("integrity_check:") for problem in problems)


def _foreign_key_problems(engine: Engine) -> list[str]:
    """SQLite's foreign-key check, as counts per table (the row ids are of no use here)."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    broken: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _key in rows:
        broken[(str(table), str(parent))] = broken.get((str(table), str(parent)), 0) + 1
    return [
        f"foreign_key_check: {n} row(s) of {table} refer to a missing row of {parent}"
        for (table, parent), n in sorted(broken.items())
    ]


def _warn_if_readable_by_others(path: Path) -> None:
    """The database is patient data: say so if other users of the machine may read it."""
    exposed = [
        file
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        if file.exists() and file.stat().st_mode & 0o077
    ]
    if exposed:
        names = " ".join(str(file) for file in exposed)
        typer.echo(
            f"warning: other users of this machine may read {names}; make the files yours "
            f"only: chmod 600 {names}",
            err=True,
        )


if __name__ == "__main__":  # pragma: no cover
    app()
