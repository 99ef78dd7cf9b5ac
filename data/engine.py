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
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool, QueuePool

from data.errors import DatabaseUnavailable

BUSY_TIMEOUT_MS = 15_000


class _NoResultRows(logging.Filter):
    """Drop SQLAlchemy's DEBUG records of result rows and columns: they are patient data."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Row ", "Col "))


# SQL parameters never reach a log (hide_parameters below); result rows never either.
logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoResultRows())


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
    and let every other error through.
    """
    return isinstance(
        error, DatabaseUnavailable | OperationalError | InterfaceError | PoolTimeoutError
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with this project's settings for its database."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            hide_parameters=True,
            **kwargs,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    ``write=True`` takes SQLite's write lock at the start (no effect on PostgreSQL). The
    transaction first waits its turn, first come first served, behind the other transactions
    of this process that it would compete with (see :func:`_gate`).

    Raises
    ------
    DatabaseUnavailable
        The transaction waited for its turn longer than the busy (SQLite) or pool
        (PostgreSQL) timeout; nothing was done.
    """
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine
    gate = _gate(engine, write=write)
    if gate is None:
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session
        return
    queue, timeout = gate
    if not queue.acquire(timeout):
        raise DatabaseUnavailable(
            "the clinic's records are busy; nothing was saved, please try again in a moment"
        )
    try:
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        queue.release()
