"""Engines and transactions, the same code on SQLite and PostgreSQL.

SQLite runs in WAL mode (readers never block the writer), with foreign keys enforced and a
busy timeout, so that a second writer waits for its turn instead of failing with "database is
locked". Write transactions start with ``BEGIN IMMEDIATE`` on SQLite: taking the write lock up
front means a transaction never has to upgrade a read lock, which SQLite cannot wait for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

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

    ``write=True`` takes SQLite's write lock at the start (no effect on PostgreSQL).
    """
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session
