"""Engines and transactions, the same code on SQLite and PostgreSQL.

SQLite runs in WAL mode (readers never block the writer), with foreign keys enforced and a
busy timeout, so that a second writer waits for its turn instead of failing with "database is
locked". Write transactions start with ``BEGIN IMMEDIATE`` on SQLite: taking the write lock up
front means a transaction never has to upgrade a read lock, which SQLite cannot wait for.

Within one process, write transactions on a SQLite file also queue, first come first served,
before they ask SQLite for its lock (:class:`_FairGate`). SQLite's own busy handler is not a
queue: a waiter sleeps and polls, and under load a newcomer can take the lock ahead of it again
and again until its busy timeout runs out. The load test (``bench/load.py``, 150 concurrent
check-ins) showed exactly that: waits of 15 s and "database is locked" reaching a patient. With
the queue, the busy timeout only has to cover writers in *other* processes (the command line).
On PostgreSQL, transactions queue the same way for a connection of the pool, whose own wait
let a thread that had just returned a connection take it again ahead of those waiting.

A SQLite database holds patient data, so its file is created readable by its owner only
(0600) before SQLite opens it, and SQLite gives its ``-wal`` and ``-shm`` files the mode of
the database file. A folder made for it is created 0700. A damaged file is recognised
(:func:`database_damaged`, :func:`integrity_problems`) so that the app and the command line
say what to do instead of showing a traceback or writing into it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool, QueuePool

from data.errors import DatabaseUnavailable
from data.settings import DATA_DIR as DATA_HOME

BUSY_TIMEOUT_MS = 15_000

DAMAGED_MESSAGE = (
    "The clinic's database file is damaged, so records can be neither read nor saved safely. "
    "Nothing more is written to it. Whoever runs this installation: stop the app, move the "
    "damaged file (and its -wal and -shm files) aside, restore the newest backup and check it "
    'with `outcomes verify` (docs/records.md, "Restoring a backup").'
)
"""What to tell a user when :func:`database_damaged` is true: what is wrong, and what to do."""

# SQLite's primary result codes for a damaged file (https://sqlite.org/rescode.html).
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_DAMAGED_TEXTS = ("database disk image is malformed", "file is not a database")


class _NoResultRows(logging.Filter):
    """Drop SQLAlchemy's DEBUG records of result rows and columns: they are patient data."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Row ", "Col "))


# SQL parameters never reach a log (hide_parameters below); result rows never either.
logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoResultRows())


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; ``None`` for another database or an in-memory one."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if parsed.query.get("mode") == "memory" or database.startswith("file:"):
        return None  # URI filenames: SQLite's to interpret, not ours
    return Path(database)


def create_private_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each readable by its owner only (0700).

    Folders that exist already are left as they are: they are someone else's to set.
    """
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            continue


def _create_private_database(path: Path) -> None:
    """Create an empty database file 0600 before SQLite opens (and creates) it 0644.

    An empty file is a valid empty SQLite database. Only a missing file is created: the mode
    of an existing one is its owner's choice.
    """
    if os.path.lexists(path):
        return
    try:
        create_private_folder(path.parent)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return  # created meanwhile; SQLite opens it as it is
    except OSError:
        return  # e.g. a read-only folder: SQLite then reports that it cannot open the file
    os.close(descriptor)
    if path.parent.resolve() == DATA_HOME.resolve():
        # The project's own data/ folder, the embedded database's home: it now holds a
        # clinic's records (and the -wal and -shm files SQLite makes beside them).
        with contextlib.suppress(OSError):
            DATA_HOME.chmod(0o700)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver's own is unreliable).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


class _FairGate:
    """At most ``capacity`` holders; waiters get in first come, first served, or time out.

    A leaving holder hands its place straight to the next waiter, so a thread that leaves and
    comes back at once cannot barge ahead of threads already waiting.
    """

    def __init__(self, capacity: int) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._free = capacity

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # the place goes to the next in line
            else:
                self._free += 1


_WRITE_QUEUES: dict[str, _FairGate] = {}
_POOL_GATES: weakref.WeakKeyDictionary[Pool, _FairGate] = weakref.WeakKeyDictionary()
_GATES_LOCK = threading.Lock()


def _gate(engine: Engine, *, write: bool) -> tuple[_FairGate, float] | None:
    """Where a transaction on ``engine`` queues, and for how long at most.

    SQLite: write transactions on one file, one at a time (shared by the file's engines), for
    at most the busy timeout. PostgreSQL: every transaction, as many at a time as the
    connection pool holds, for at most the pool's own timeout; the pool's wait is not first
    come, first served (the load test saw single check-ins wait 19 s of its 30 s limit).
    """
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not write or not database or database == ":memory:":
            return None
        if engine.url.query.get("mode") == "memory":
            return None
        key = str(Path(database).resolve())
        with _GATES_LOCK:
            return _WRITE_QUEUES.setdefault(key, _FairGate(1)), BUSY_TIMEOUT_MS / 1000
    pool = engine.pool
    if not isinstance(pool, QueuePool) or pool._max_overflow < 0:
        return None  # no fixed number of connections to share out
    with _GATES_LOCK:
        gate = _POOL_GATES.get(pool)
        if gate is None:
            gate = _POOL_GATES[pool] = _FairGate(pool.size() + pool._max_overflow)
    return gate, float(pool._timeout)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be used just now (down, unreachable, busy).

    For pages, which may not import SQLAlchemy: they show "try again in a moment" for these
    and let every other error through. A damaged database is not "just now": see
    :func:`database_damaged`.
    """
    if database_damaged(error):
        return False
    return isinstance(
        error, DatabaseUnavailable | OperationalError | InterfaceError | PoolTimeoutError
    )


class DatabaseDamaged(RuntimeError):
    """The SQLite database file is damaged; :data:`DAMAGED_MESSAGE` says what to do.

    Attributes
    ----------
    problems : tuple of str
        What SQLite's check found (page and index numbers, never record values).
    """

    def __init__(self, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(DAMAGED_MESSAGE)


def database_damaged(error: BaseException) -> bool:
    """Whether ``error`` means the SQLite database file is damaged (not merely busy or down).

    True for :class:`DatabaseDamaged` and for SQLite's "database disk image is malformed"
    (``SQLITE_CORRUPT``) and "file is not a database" (``SQLITE_NOTADB``), also when
    SQLAlchemy wraps them or they are the cause of another error. Pages, which may not import
    SQLAlchemy, show :data:`DAMAGED_MESSAGE` for these instead of a traceback.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DatabaseDamaged):
            return True
        if isinstance(current, sqlite3.DatabaseError):
            code = getattr(current, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                return True
            if str(current).strip().lower() in _DAMAGED_TEXTS:
                return True
        if isinstance(current, DBAPIError):
            pending.append(current.orig)
        pending += [current.__cause__, current.__context__]
    return False


def integrity_problems(
    engine: Engine, *, thorough: bool = False, limit: int = 20
) -> tuple[str, ...]:
    """What SQLite finds wrong with the database file of ``engine``; empty when it is intact.

    Parameters
    ----------
    engine : Engine
        Any engine; only a SQLite file is checked (PostgreSQL checks its own pages: nothing
        is found here).
    thorough : bool, default False
        ``PRAGMA integrity_check`` (also compares every index with its table and checks
        UNIQUE and NOT NULL) instead of ``PRAGMA quick_check``, which checks the structure of
        every page in time linear in the file's size and is the one used before writing and
        at start-up.
    limit : int, default 20
        At most this many problems are listed.

    Notes
    -----
    SQLite's messages name pages, tables and indexes, never record values, so they may be
    shown. A file so damaged that the check cannot run gives SQLite's error as the problem.

    References
    ----------
    .. [1] SQLite, PRAGMA integrity_check and quick_check,
       https://www.sqlite.org/pragma.html#pragma_integrity_check
    """
    if engine.dialect.name != "sqlite" or sqlite_file(engine.url) is None:
        return ()
    pragma = "integrity_check" if thorough else "quick_check"
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(f"PRAGMA {pragma}({int(limit)})").scalars().all()
    except DBAPIError as error:
        if not database_damaged(error):
            raise
        return (str(error.orig).strip() or "the file cannot be read as a database",)
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    problems = tuple(line for line in lines if line and not line.startswith("*** in database"))
    return () if problems == ("ok",) else problems[:limit]


def ensure_intact(engine: Engine) -> None:
    """Raise :class:`DatabaseDamaged` if ``PRAGMA quick_check`` finds the SQLite file damaged.

    Nothing is written. Used before writing in bulk (import, start-up, backups).
    """
    problems = integrity_problems(engine)
    if problems:
        raise DatabaseDamaged(problems)


_SECRET_QUERY_KEYS = ("password", "passwd", "secret", "token")


def without_password(url: str | URL) -> URL:
    """``url`` with every form of password removed, for printing or passing on a command line.

    The password field itself (percent-encoded or not), query parameters that carry one
    (``?password=``, libpq's ``sslpassword``, anything naming a password, secret or token),
    and what an unencoded ``@`` in a password leaves in the host name are all dropped.
    """
    parsed = make_url(url)
    host = parsed.host
    if host and "@" in host:
        # "user:p@ss@host": the URL parser takes "ss@host" for the host name.
        host = host.rsplit("@", 1)[1]
    query = {
        key: value
        for key, value in parsed.query.items()
        if not any(secret in key.lower() for secret in _SECRET_QUERY_KEYS)
    }
    # Built anew: URL.set(password=None) keeps the password.
    return URL.create(
        parsed.drivername,
        username=parsed.username,
        host=host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    )


def printable_url(url: str | URL) -> str:
    """``url`` safe to print or log: :func:`without_password`, rendered."""
    return without_password(url).render_as_string(hide_password=True)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with this project's settings for its database."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            hide_parameters=True,
            **kwargs,
        )
        if path is not None:

            def _before_connect(*_args: Any) -> None:
                _create_private_database(path)

            event.listen(engine, "do_connect", _before_connect)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


_WRITES_AFTER_READ = "outcomes_writes_after_read"


def writes_after_read(session: Session) -> list[Any] | None:
    """Where a read transaction on SQLite puts the rows it must write, such as its audit
    events; None for every other session (a write transaction, PostgreSQL, a test's session),
    which adds them itself.

    :func:`transaction` writes these rows once the read has ended, in a short write
    transaction of their own. In the read transaction itself, SQLite's first SELECT takes a
    snapshot and an INSERT would have to upgrade that snapshot to a write; if another
    connection committed in between (a patient's check-in while a clinician's page reads),
    SQLite cannot upgrade a stale snapshot and refuses at once, without waiting
    (``SQLITE_BUSY_SNAPSHOT``, "database is locked"). Beginning every read ``IMMEDIATE``
    instead would hold the write lock through every page's reads, so that check-ins would
    queue behind them. PostgreSQL has no such upgrade: its reads write their events in the
    read transaction, as before.
    """
    pending = session.info.get(_WRITES_AFTER_READ)
    return pending if isinstance(pending, list) else None


@contextmanager
def _session(engine: Engine, *, write: bool) -> Iterator[Session]:
    """One session in one transaction; then, for a SQLite read, the rows it left to write
    (:func:`writes_after_read`) in a write transaction of their own.

    Nothing is written after a read that ended in an error: what it read was never shown.
    """
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine
    later: list[Any] = []
    with Session(bind, expire_on_commit=False) as session:
        if not write and engine.dialect.name == "sqlite":
            session.info[_WRITES_AFTER_READ] = later
        with session.begin():
            yield session
    if later:
        with transaction(engine, write=True) as writer:
            writer.add_all(later)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    ``write=True`` takes SQLite's write lock at the start (no effect on PostgreSQL). The
    transaction first waits its turn, first come first served, behind the other transactions
    of this process that it would compete with (see :func:`_gate`). A read on SQLite writes
    its audit events just after it ends (:func:`writes_after_read`).

    Raises
    ------
    DatabaseUnavailable
        The transaction waited for its turn longer than the busy (SQLite) or pool
        (PostgreSQL) timeout; nothing was done.
    """
    gate = _gate(engine, write=write)
    if gate is None:
        with _session(engine, write=write) as session:
            yield session
        return
    queue, timeout = gate
    if not queue.acquire(timeout):
        raise DatabaseUnavailable(
            "the clinic's records are busy; nothing was saved, please try again in a moment"
        )
    try:
        with _session(engine, write=write) as session:
            yield session
    finally:
        queue.release()
