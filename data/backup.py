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
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from data.engine import DatabaseDamaged, database_damaged, integrity_problems, without_password
from data.errors import InvalidInput
from data.files import check_new_target, discard, place

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


def backup_sqlite(engine: Engine, target: Path) -> Path:
    """Copy a SQLite database to ``target`` with SQLite's online backup API.

    Parameters
    ----------
    engine : Engine
        An engine on a SQLite *file* (from :func:`data.engine.make_engine`).
    target : Path
        The new file. Its folder must exist; the file must not, in any form.

    Returns
    -------
    Path
        ``target``: a complete, self-contained database (no ``-wal`` file needed), which opens
        like the original (``sqlite:///<target>``), readable by its owner only (0600).

    Raises
    ------
    InvalidInput
        Not a SQLite file database; the target exists (backups are never overwritten, so
        that a typo never destroys an earlier one) or is a symbolic link; its folder is
        missing.
    DatabaseDamaged
        SQLite's ``quick_check`` finds the database damaged: a copy of it would be a backup
        that cannot be restored. Nothing is written.

    Notes
    -----
    The copy is made in a new folder beside ``target`` that only its owner may enter
    (``tempfile.mkdtemp``, 0700), as a file created 0600 before SQLite opens it; it is
    checked with ``quick_check`` and then hard-linked to ``target``, which fails if the
    name exists in any form (a file, a link). A failure leaves nothing under ``target``.
    """
    if engine.dialect.name != "sqlite":
        raise InvalidInput(["backup_sqlite needs a SQLite database; use pg_dump_command"])
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        raise InvalidInput(["an in-memory database has nothing on disk to back up"])
    target = Path(target)
    check_new_target(target)
    problems = integrity_problems(engine)
    if problems:
        raise DatabaseDamaged(problems)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        copy_path = folder / target.name
        copy_path.touch(mode=0o600, exist_ok=False)
        source = engine.raw_connection()
        try:
            driver = source.driver_connection
            if not isinstance(driver, sqlite3.Connection):  # pragma: no cover - other drivers
                raise InvalidInput(["backup_sqlite needs the standard sqlite3 driver"])
            copy = sqlite3.connect(copy_path)
            try:
                driver.backup(copy)
                checked = [row[0] for row in copy.execute("PRAGMA quick_check(20)")]
            except sqlite3.DatabaseError as error:
                if database_damaged(error):
                    raise DatabaseDamaged((str(error),)) from error
                raise
            finally:
                copy.close()
        finally:
            source.close()
        if checked != ["ok"]:  # pragma: no cover - the disk under the backup folder failed
            raise OSError(
                f"the copy failed SQLite's check ({'; '.join(map(str, checked))}); no backup "
                f"was written: check the disk of {target.parent} and try again"
            )
        try:
            place(copy_path, target)
        except FileExistsError:
            raise InvalidInput([f"{target} exists already; choose a new file name"]) from None
    finally:
        discard(folder)
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
        password** in any form (:func:`data.engine.without_password`: the password field,
        ``?password=``, ``sslpassword``), which ``pg_dump`` takes from ``~/.pgpass`` or
        ``PGPASSWORD``. Restore with ``pg_restore --no-owner --dbname <url> <target>``.

    Raises
    ------
    InvalidInput
        Not a PostgreSQL URL, or a password with an ``@`` that is not percent-encoded (the
        URL cannot be read unambiguously; the message does not repeat it).

    Notes
    -----
    The command is returned, never run: a backup of a clinic's server belongs to whoever
    runs that server, with their storage, schedule and encryption.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise InvalidInput(["pg_dump_command needs a PostgreSQL URL"])
    if parsed.host and "@" in parsed.host:
        raise InvalidInput(
            [
                "the database URL has an '@' in its password: write it as %40, or better "
                "leave the password out of the URL and put it in ~/.pgpass"
            ]
        )
    libpq = without_password(parsed).set(drivername="postgresql")
    return (
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--file",
        str(target),
        "--dbname",
        libpq.render_as_string(hide_password=True),
    )


def backup(engine: Engine, target: Path) -> BackupResult:
    """Back up the database of ``engine`` to ``target``: done for SQLite, a command for
    PostgreSQL (see the module notes). An existing ``target`` or a link is refused."""
    if engine.dialect.name == "sqlite":
        return BackupResult(target=backup_sqlite(engine, target), done=True)
    target = Path(target)
    check_new_target(target)
    command = pg_dump_command(engine.url.render_as_string(hide_password=False), target)
    return BackupResult(target=target, done=False, command=command)
