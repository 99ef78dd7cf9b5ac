"""Create and evolve the schema with Alembic (``data/migrations``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema up to ``revision`` (the newest by default).

    At the newest revision, the course state kept on write is then built for any clinic
    that has none yet (:func:`data.course_state.build_missing`): a database from before
    migration 0009 is complete before any page reads it.
    """
    _migrate(engine, command.upgrade, revision)
    if is_current(engine):
        # Imported here: the course state needs pandas and outcomes, a schema check does not.
        from data.course_state import build_missing

        build_missing(engine)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database's schema back to ``revision``."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
        return
    # SQLite changes a constraint by rebuilding the table, and dropping the old one would
    # break the references to its rows (safety alerts to assessments). SQLite's procedure
    # for this: foreign keys off outside the transaction, the rebuild, then a check that
    # every reference still holds before committing (https://sqlite.org/lang_altertable.html).
    with engine.connect() as connection:
        driver = connection.connection.dbapi_connection
        if driver is None:  # pragma: no cover - a connection just opened has its driver's
            raise RuntimeError("the database connection is closed")
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config, revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(
                        f"the migration would break references from table {broken[0]}; "
                        "nothing was changed"
                    )
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


def revisions(engine: Engine) -> tuple[str | None, str | None]:
    """The database's schema revision (``None`` before any migration) and the newest one."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision(), head


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision."""
    current, head = revisions(engine)
    return current == head
