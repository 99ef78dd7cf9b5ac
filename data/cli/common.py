"""The plumbing every ``outcomes`` command shares: options, refusals, the engine, the clinic.

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
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from data.errors import AccessDenied, InvalidInput
from data.password_policy import password_problems

# `outcomes --help` must answer at once (issue 13): this module, and every command module,
# imports only the standard library, typer and light modules of data at import time.
# SQLAlchemy, pandas, the FHIR models, rich's progress bar and the settings are imported by the
# functions that use them, when a command runs (tests/test_data/test_cli_startup.py checks).
# Annotations name them only for the type checker: typer reads the commands' own signatures,
# which use plain types and the options below.
if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from sqlalchemy import Engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session

    from data.interchange.pipeline import ImportResult

app = typer.Typer(
    name="outcomes",
    help="Infusion Outcomes: set up a clinic's database and move its records in and out.",
    no_args_is_help=True,
    add_completion=False,
    # Typer's rich help is kept although rich costs about 0.15 s of the help's 0.3 s
    # (bench/cli.py --plain): Click's plain help cuts each command's summary short ("...") and
    # runs a docstring's example line into its paragraph.
    rich_markup_mode="rich",
    # A traceback's local variables could hold patient data.
    pretty_exceptions_show_locals=False,
)

BAD_URL = (
    "the database URL cannot be read; expected e.g. sqlite:////path/outcomes.db or "
    "postgresql+psycopg://user@host/outcomes"
)
DAMAGED = (
    "the database file is damaged (SQLite's check found the problems below); nothing is "
    "written to a damaged database nor backed up from it. Stop the app, move the file and its "
    '-wal and -shm files aside, restore the newest backup (docs/records.md, "Restoring a '
    'backup") and run `outcomes verify`'
)
NEW_REAL_DATABASE = (
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
    """The formats of data.interchange.importers.IMPORTERS (test_importers checks they agree)."""

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


def fail(message: str, problems: tuple[str, ...] | list[str] = ()) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    # Every refusal happens before the command's transaction commits (or before it begins).
    typer.echo("nothing was changed", err=True)
    raise typer.Exit(1)


@contextmanager
def refusals(*, rows_note: bool = False) -> Iterator[None]:
    """Turn refusals into a message and exit status 1 (the transaction has rolled back)."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

    from data.engine import DatabaseDamaged, database_damaged

    try:
        yield
    except InvalidInput as error:
        note = " (rows numbered as a spreadsheet shows them: the header is row 1)"
        fail(f"refused{note if rows_note else ''}:", error.problems)
    except AccessDenied as error:
        fail(f"{str(error).rstrip('.')}")
    except DatabaseDamaged as error:
        fail(DAMAGED, error.problems)
    except ArgumentError:
        fail(BAD_URL)
    except DBAPIError as error:
        if database_damaged(error):
            fail(DAMAGED, [sqlite_says(error)])
        fail_database(error)
    except SQLAlchemyError as error:
        fail(f"database error ({type(error).__name__})")
    except ValueError as error:
        # Our own refusals (outcomes errors, the demo generator) are ValueErrors with a
        # message written for the operator.
        fail(f"{str(error).rstrip('.')}")
    except OSError as error:
        fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))


def sqlite_says(error: DBAPIError) -> str:
    # SQLite's words for a damaged file ("database disk image is malformed"); any other
    # driver message could quote a statement's values, so only its kind is shown.
    said = str(error.orig).strip()
    if said.lower() in ("database disk image is malformed", "file is not a database"):
        return said
    return type(error.orig).__name__


def fail_database(error: DBAPIError) -> NoReturn:
    from sqlalchemy.exc import InterfaceError, OperationalError

    if getattr(error.orig, "sqlite_errorcode", 0) & 0xFF == 8:  # SQLITE_READONLY_*
        fail(
            "the database cannot be written: its file, or the folder that holds it, is "
            "read-only for this user (SQLite writes the file and creates its -wal and -shm "
            "files beside it); run the command as the user who owns the database, or make "
            "both writable by that user"
        )
    if getattr(error.orig, "sqlstate", None) == "25006":  # read_only_sql_transaction
        fail(
            "the database cannot be written: the server accepts only reads (a standby or "
            "a read-only user?); use the URL of the primary server"
        )
    if isinstance(error, OperationalError | InterfaceError):
        # Only the kind of error is shown: the driver's message can quote the statement's
        # values, which would be patient data.
        fail(
            "cannot use the database (is it running, is the URL right, is it busy?); "
            f"{type(error.orig).__name__}"
        )
    fail(f"the database refused the change ({type(error.orig).__name__})")


def url_or_default(database_url: str | None) -> str:
    from data.settings import get_settings

    return database_url or get_settings().database_url


def sqlite_file_of(url: str) -> Path | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        fail(BAD_URL)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


@contextmanager
def open_engine(
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
    from data.engine import integrity_problems, make_engine
    from data.schema import is_current

    url = url_or_default(database_url)
    path = sqlite_file_of(url)
    if path is not None and not create and not path.exists():
        # Connecting would create an empty file: refuse instead, and change nothing.
        fail(f"there is no database at {path}; create it with `outcomes init`")
    existed = path is not None and path.exists() and path.stat().st_size > 0
    with refusals():
        engine = make_engine(url)
    try:
        with refusals():
            if check_integrity and existed:
                problems = integrity_problems(engine)
                if problems:
                    fail(DAMAGED, problems)
            if not create and require_current and not is_current(engine):
                fail(
                    "the database schema is missing or out of date; run `outcomes init` "
                    "(it upgrades the schema and keeps the records)"
                )
        yield engine
    finally:
        engine.dispose()


def holds_demo(engine: Engine) -> bool:
    """Whether the database holds the demo clinic (read before any change is made)."""
    from sqlalchemy import inspect, select

    from data.models import Clinic

    with engine.connect() as connection:
        if not inspect(connection).has_table(Clinic.__tablename__):
            return False
        return connection.scalar(select(Clinic.id).where(Clinic.is_demo.is_(True))) is not None


def clinic_id_of(session: Session, clinic: str | None) -> int:
    from sqlalchemy import select

    from data.models import Clinic

    clinics = session.execute(select(Clinic.id, Clinic.name).order_by(Clinic.id)).all()
    if clinic is None:
        if len(clinics) == 1:
            return int(clinics[0].id)
        if not clinics:
            fail("there is no clinic yet; create one with `outcomes init --clinic-name NAME`")
        listed = ", ".join(f"{c.id} ({c.name})" for c in clinics)
        fail(f"there are several clinics; choose one with --clinic: {listed}")
    chosen = [c for c in clinics if str(c.id) == clinic.strip() or c.name == clinic]
    if len(chosen) != 1:
        fail("no clinic with that id or name; `outcomes init --clinic-name NAME` creates one")
    return int(chosen[0].id)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    # The command line creates staff accounts only: the staff policy of the app, checked
    # before the database is opened (the username is checked again with it on creation).
    problems = password_problems(password, role="administrator")
    if problems:
        fail("refused:", problems)
    return password


class ProgressBar:
    """A progress bar for large imports, drawn on stderr when it is a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_FROM_ROWS or not self._console.is_terminal:
            return
        if self._bar is None or self._task is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

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


def echo_import(result: ImportResult, source: Path) -> None:
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
