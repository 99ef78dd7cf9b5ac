"""Backups (issue #3, issue #9 items 6, 9 and 15): complete, private, checked, never a surprise.

A SQLite backup is a checked copy readable by its owner only, never written over an existing
file or through a link, and never made of a damaged database. A PostgreSQL backup is a printed
``pg_dump`` command that never carries the password, whatever shape the URL gives it.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from data.access import Actor
from data.backup import backup, backup_sqlite, pg_dump_command
from data.engine import DatabaseDamaged, make_engine, transaction
from data.errors import InvalidInput
from data.interchange.csv_assessments import import_assessments_csv
from data.models import Base, Clinic
from data.schema import upgrade

PAGE = 4096
PHQ9_HEADER = "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 10))


def clinic_database(path: Path, *, patients: int = 40, rows: int = 600) -> Engine:
    """A real clinic's database file: schema, a clinic, patients and their assessments."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    lines = [
        f"P{i % patients},phq9,2025-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,"
        f"1,1,1,1,1,1,1,1,{i % 2}"
        for i in range(rows)
    ]
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Backup Clinic")
        session.add(clinic)
        session.flush()
        import_assessments_csv(
            session,
            actor=Actor.system(clinic.id),
            source=io.StringIO("\n".join([PHQ9_HEADER, *lines]) + "\n"),
            create_patients=True,
        )
    return engine


def damage(path: Path, *, first_page: int = 10, pages: int = 4) -> None:
    """Write garbage over whole pages of a database file, as a failing disk or a crashed copy
    would. Every connection must be closed first (the WAL checkpointed into the file)."""
    with open(path, "r+b") as file:
        file.seek(PAGE * (first_page - 1))
        file.write(random.Random(first_page).randbytes(PAGE * pages))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_sqlite_backup_holds_identical_rows(tmp_path: Path) -> None:
    engine = clinic_database(tmp_path / "clinic.db", rows=20, patients=20)
    target = tmp_path / "copy.db"
    result = backup(engine, target)
    assert result.done and result.command == ()
    with pytest.raises(InvalidInput, match="exists already"):
        backup_sqlite(engine, target)

    copy = make_engine(f"sqlite:///{target}")
    tables = [table.name for table in Base.metadata.sorted_tables] + ["alembic_version"]
    try:
        with engine.connect() as original, copy.connect() as backed_up:
            for table in tables:
                query = text(f"SELECT * FROM {table} ORDER BY 1")
                assert backed_up.execute(query).all() == original.execute(query).all(), table
            assert original.execute(text("SELECT count(*) FROM assessment")).scalar() == 20
    finally:
        copy.dispose()
        engine.dispose()


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual umask (022), under which SQLite creates files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
def test_a_backup_is_private_and_leaves_nothing_else(tmp_path: Path) -> None:
    engine = clinic_database(tmp_path / "clinic.db", rows=20)
    folder = tmp_path / "backups"
    folder.mkdir()
    try:
        target = backup_sqlite(engine, folder / "outcomes.db")
    finally:
        engine.dispose()
    assert mode(target) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["outcomes.db"]  # no temporary left


def _files(folder: Path) -> dict[str, tuple[bool, bytes | None]]:
    """Every name in ``folder`` except the database's own files: is it a link, its bytes."""
    return {
        path.name: (path.is_symlink(), path.read_bytes() if path.exists() else None)
        for path in folder.iterdir()
        if not path.name.startswith("clinic.db")
    }


@pytest.mark.parametrize("kind", ["existing-file", "link-to-file", "dangling-link"])
def test_a_backup_never_replaces_a_file_nor_writes_through_a_link(
    tmp_path: Path, kind: str
) -> None:
    engine = clinic_database(tmp_path / "clinic.db", rows=20)
    victim = tmp_path / "victim.txt"
    target = tmp_path / "backup.db"
    if kind == "existing-file":
        target.write_text("an earlier backup")
    elif kind == "link-to-file":
        victim.write_text("someone else's file")
        target.symlink_to(victim)
    else:
        target.symlink_to(victim)  # would create victim.txt if followed
    before = _files(tmp_path)
    try:
        with pytest.raises(InvalidInput, match=r"exists already|symbolic link"):
            backup(engine, target)
    finally:
        engine.dispose()
    assert _files(tmp_path) == before
    assert kind != "dangling-link" or not victim.exists()


def test_a_damaged_database_is_not_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    clinic_database(path).dispose()
    damage(path)
    engine = make_engine(f"sqlite:///{path}")
    folder = tmp_path / "backups"
    folder.mkdir()
    try:
        with pytest.raises(DatabaseDamaged) as refused:
            backup(engine, folder / "outcomes.db")
    finally:
        engine.dispose()
    assert refused.value.problems  # what SQLite found: pages, never values
    assert "restore the newest backup" in str(refused.value)
    assert list(folder.iterdir()) == []


def test_a_file_that_is_no_database_at_all_is_not_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    clinic_database(path, rows=20).dispose()
    damage(path, first_page=1, pages=1)  # the header too
    engine = make_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(DatabaseDamaged) as refused:
            backup(engine, tmp_path / "copy.db")
    finally:
        engine.dispose()
    assert refused.value.problems == ("file is not a database",)
    assert not (tmp_path / "copy.db").exists()


def test_a_copy_of_the_backup_restores(tmp_path: Path) -> None:
    """The documented restore: copy the backup into place; it opens and passes the check."""
    engine = clinic_database(tmp_path / "clinic.db", rows=50)
    target = backup_sqlite(engine, tmp_path / "backup.db")
    engine.dispose()
    restored = tmp_path / "restored.db"
    shutil.copy(target, restored)
    copy = make_engine(f"sqlite:///{restored}")
    try:
        with copy.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.exec_driver_sql("SELECT count(*) FROM assessment").scalar() == 50
    finally:
        copy.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgresql+psycopg://clinic:s3cret@db.example:5432/outcomes",
            "postgresql://clinic@db.example:5432/outcomes",
            id="password-field",
        ),
        pytest.param(
            "postgresql+psycopg://clinic:s3%3Acr%40et%2Fpw@db.example/outcomes",
            "postgresql://clinic@db.example/outcomes",
            id="percent-encoded",
        ),
        pytest.param(
            "postgresql+psycopg://clinic@db.example/outcomes?password=s3cret&sslmode=require",
            "postgresql://clinic@db.example/outcomes?sslmode=require",
            id="query-password",
        ),
        pytest.param(
            "postgresql+psycopg:///outcomes?host=/run/postgresql&user=clinic&password=s3cret",
            "postgresql:///outcomes?host=%2Frun%2Fpostgresql&user=clinic",
            id="socket-and-query-user",
        ),
        pytest.param(
            "postgresql://clinic:s3cret@db.example/outcomes?sslpassword=s3cret&sslkey=/k.pem",
            "postgresql://clinic@db.example/outcomes?sslkey=%2Fk.pem",
            id="ssl-key-password",
        ),
        pytest.param(
            "postgresql+psycopg://clinic@db.example/outcomes?PassWord=s3cret",
            "postgresql://clinic@db.example/outcomes",
            id="odd-case",
        ),
    ],
)
def test_postgresql_backups_are_a_pg_dump_command_without_the_password(
    url: str, expected: str
) -> None:
    command = pg_dump_command(url, Path("/backups/o.dump"))
    assert command == (
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--file",
        "/backups/o.dump",
        "--dbname",
        expected,
    )
    printed = " ".join(command)
    for secret in ("s3cret", "s3:cr@et/pw", "s3%3Acr%40et", "***"):
        assert secret not in printed


def test_a_password_with_a_bare_at_sign_is_refused_without_repeating_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        pg_dump_command("postgresql+psycopg://clinic:s3cr@tpw@db.example/outcomes", Path("o"))
    assert "%40" in str(refused.value)
    assert "s3cr" not in str(refused.value) and "tpw" not in str(refused.value)
