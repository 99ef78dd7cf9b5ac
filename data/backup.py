"""Back up the clinic's database: SQLite copies itself; PostgreSQL gets a ``pg_dump`` command.

* **SQLite** (the embedded default): :func:`backup_sqlite` uses SQLite's online backup API
  (:meth:`sqlite3.Connection.backup`), which copies a consistent snapshot page by page while
  the app keeps running, WAL content included. Copying the ``.db`` file with ``cp`` instead
  can catch it mid-write and miss what is still in the ``-wal`` file.
* **PostgreSQL**: backups are the database administrator's tool, ``pg_dump``, run where
  the dump should live. :func:`pg_dump_command` only *builds* the command line (custom
  format, restorable with ``pg_restore``); nothing here runs it. The password is never part
  of the command: ``pg_dump`` reads it from ``~/.pgpass`` or ``PGPASSWORD``.

References
----------
.. [1] SQLite Online Backup API, https://www.sqlite.org/backup.html
.. [2] PostgreSQL, pg_dump, https://www.postgresql.org/docs/current/app-pgdump.html
"""

from __future__ import annotations

import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from data.errors import InvalidInput

__all__ = ["BackupResult", "backup", "backup_sqlite", "pg_dump_command"]


@dataclass(frozen=True)
class BackupResult:
    """What :func:`backup` did.

    Attributes
    ----------
    target : Path
        The backup file (written for SQLite; to be written by ``pg_dump`` for PostgreSQL).
    done : bool
        Whether the backup exists now (SQLite) or the command still has to be run
        (PostgreSQL).
    command : tuple of str
        The ``pg_dump`` command line to run, for PostgreSQL; empty for SQLite.
    """

    target: Path
    done: bool
    command: tuple[str, ...] = ()

    @property
    def shell_command(self) -> str:
        """The command, quoted for a POSIX shell."""
        return shlex.join(self.command)


def _check_target(target: Path, *, overwrite: bool) -> Path:
    target = Path(target)
    if target.exists() and not overwrite:
        raise InvalidInput(
            [f"{target} exists already; choose a new file name (backups are never overwritten)"]
        )
    if not target.parent.is_dir():
        raise InvalidInput([f"the folder {target.parent} does not exist"])
    return target


def backup_sqlite(engine: Engine, target: Path, *, overwrite: bool = False) -> Path:
    """Copy a SQLite database to ``target`` with SQLite's online backup API.

    Parameters
    ----------
    engine : Engine
        An engine on a SQLite *file* (from :func:`data.engine.make_engine`).
    target : Path
        The new file. Its folder must exist.
    overwrite : bool, default False
        Replace an existing file; by default an existing file is refused, so that a typo
        never destroys an earlier backup.

    Returns
    -------
    Path
        ``target``: a complete, self-contained database (no ``-wal`` file needed), which opens
        like the original (``sqlite:///<target>``).

    Raises
    ------
    InvalidInput
        Not a SQLite file database, the target exists, or its folder does not.
    """
    if engine.dialect.name != "sqlite":
        raise InvalidInput(["backup_sqlite needs a SQLite database; use pg_dump_command"])
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        raise InvalidInput(["an in-memory database has nothing on disk to back up"])
    target = _check_target(target, overwrite=overwrite)
    if target.exists():
        target.unlink()
    source = engine.raw_connection()
    try:
        driver = source.driver_connection
        if not isinstance(driver, sqlite3.Connection):  # pragma: no cover - other drivers
            raise InvalidInput(["backup_sqlite needs the standard sqlite3 driver"])
        copy = sqlite3.connect(target)
        try:
            driver.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


def pg_dump_command(url: str, target: Path) -> tuple[str, ...]:
    """The ``pg_dump`` command line that backs up the PostgreSQL database at ``url``.

    Parameters
    ----------
    url : str
        The database URL (``postgresql+psycopg://user:password@host:5432/outcomes``).
    target : Path
        Where the dump goes.

    Returns
    -------
    tuple of str
        ``pg_dump --format=custom --no-owner --file <target> --dbname <url>``, with the
        URL in libpq form (``postgresql://user@host:5432/outcomes``) and **without the
        password**, which ``pg_dump`` takes from ``~/.pgpass`` or ``PGPASSWORD``. Restore
        with ``pg_restore --no-owner --dbname <url> <target>``.

    Notes
    -----
    The command is returned, never run: a backup of a clinic's server belongs to whoever
    runs that server, with their storage, schedule and encryption.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise InvalidInput(["pg_dump_command needs a PostgreSQL URL"])
    # Built anew: URL.set(password=None) keeps the password.
    libpq = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return (
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--file",
        str(target),
        "--dbname",
        libpq.render_as_string(hide_password=False),
    )


def backup(engine: Engine, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Back up the database of ``engine`` to ``target``: done for SQLite, a command for
    PostgreSQL (see the module notes)."""
    if engine.dialect.name == "sqlite":
        return BackupResult(target=backup_sqlite(engine, target, overwrite=overwrite), done=True)
    target = _check_target(target, overwrite=overwrite)
    command = pg_dump_command(engine.url.render_as_string(hide_password=False), target)
    return BackupResult(target=target, done=False, command=command)
