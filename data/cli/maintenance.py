"""`outcomes backup` and `verify`: a copy of the database, and a check of it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# Only light modules here, so that `outcomes --help` answers at once: each command imports
# what it uses when it runs (data/cli/common.py says why).
from data.cli.common import (
    DatabaseUrl,
    app,
    open_engine,
    refusals,
    sqlite_file_of,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine


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
    from data.backup import backup

    # The backup checks the database itself (before copying, and the copy after).
    with open_engine(database_url, check_integrity=False) as engine, refusals():
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
    from data.engine import integrity_problems, printable_url
    from data.schema import revisions

    problems: list[str] = []
    advice: list[str] = []
    with (
        open_engine(database_url, check_integrity=False, require_current=False) as engine,
        refusals(),
    ):
        path = sqlite_file_of(str(engine.url))
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
