"""The SQLite file itself (issue #9 items 4, 6, 9 and 15): private, checked at start-up,
recognised when damaged, holding the demo clinic or real clinics but never both."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from data import engine as engine_module
from data.bootstrap import demo_signins, prepare
from data.engine import (
    DAMAGED_MESSAGE,
    DatabaseDamaged,
    database_damaged,
    database_unavailable,
    integrity_problems,
    make_engine,
    printable_url,
    transaction,
)
from data.models import Base, Clinic
from data.schema import upgrade
from tests.test_data.test_backup import clinic_database, damage


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual umask (022), under which SQLite creates files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
def test_the_database_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "clinic" / "records"  # neither folder exists yet
    path = home / "outcomes.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM clinic")).scalar()
            # While a connection is open, WAL mode keeps its two side files.
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(file.exists() for file in files)
            assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        engine.dispose()
    assert mode(home) == 0o700 and mode(home.parent) == 0o700


@pytest.mark.usefixtures("usual_umask")
def test_the_embedded_databases_home_folder_becomes_private_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's data/ folder (here a stand-in) exists before any database does: when
    the embedded database is created in it, the folder is closed to others too (0700)."""
    home = tmp_path / "data"
    home.mkdir(mode=0o755)
    monkeypatch.setattr(engine_module, "DATA_HOME", home)
    engine = make_engine(f"sqlite:///{home / 'outcomes.db'}")
    upgrade(engine)
    engine.dispose()
    assert mode(home) == 0o700 and mode(home / "outcomes.db") == 0o600


@pytest.mark.usefixtures("usual_umask")
def test_a_folder_or_file_made_by_someone_else_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    existing = shared / "existing.db"
    existing.touch(mode=0o640)
    for path in (shared / "new.db", existing):
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
    assert mode(shared) == 0o755  # not ours to change
    assert mode(existing) == 0o640  # the owner's choice
    assert mode(shared / "new.db") == 0o600


def test_damage_is_recognised_wherever_it_surfaces(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    clinic_database(path).dispose()
    damage(path, first_page=10)
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert any("Page" in problem for problem in integrity_problems(engine))
        # Reading every table and index runs into the damaged pages, as a page would.
        with pytest.raises(DatabaseError) as raised, engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                connection.execute(text(f"SELECT * FROM {table.name}")).all()
                # Expression indexes (lower(username)) have no plain columns to read back.
                for index in (i for i in table.indexes if len(i.columns)):
                    columns = ", ".join(column.name for column in index.columns)
                    connection.execute(
                        text(f"SELECT {columns} FROM {table.name} INDEXED BY {index.name}")
                    ).all()
    finally:
        engine.dispose()
    assert database_damaged(raised.value)
    assert not database_unavailable(raised.value)  # "try again later" would not help
    assert database_damaged(DatabaseDamaged(("x",)))
    assert "restore the newest backup" in DAMAGED_MESSAGE


def test_a_busy_or_unreachable_database_is_not_called_damaged(tmp_path: Path) -> None:
    folder = make_engine(f"sqlite:///{tmp_path}")  # a folder: "unable to open database file"
    with pytest.raises(OperationalError) as raised, folder.connect():
        pass
    folder.dispose()
    assert database_unavailable(raised.value) and not database_damaged(raised.value)
    assert not database_damaged(ValueError("database disk image is malformed"))


def test_start_up_refuses_a_damaged_database_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    clinic_database(path).dispose()
    damage(path, first_page=10)
    before = path.read_bytes()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(DatabaseDamaged) as refused:
            prepare(engine, seed_demo_if_empty=False)
    finally:
        engine.dispose()
    assert str(refused.value) == DAMAGED_MESSAGE
    assert path.read_bytes() == before


def test_start_up_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    path.write_bytes(b"this is a spreadsheet, not a database\n" * 200)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(DatabaseDamaged):
            prepare(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("clinics", "demo"),
    [
        pytest.param([True], True, id="demo-only"),
        pytest.param([False], False, id="real-only"),
        pytest.param([True, False], False, id="demo-and-real"),
        pytest.param([False, True], False, id="real-and-demo"),
    ],
)
def test_demo_sign_ins_are_shown_only_for_a_database_of_the_demo_clinic_alone(
    tmp_path: Path, clinics: list[bool], demo: bool
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outcomes.db'}")
    upgrade(engine)
    with transaction(engine, write=True) as session:
        for n, is_demo in enumerate(clinics):
            session.add(Clinic(name=f"Clinic {n}", is_demo=is_demo))
    try:
        readiness = prepare(engine)
        assert readiness.demo is demo and not readiness.seeded_demo
        with transaction(engine) as session:
            assert bool(demo_signins(session)) is demo
            assert len(session.scalars(select(Clinic)).all()) == len(clinics)  # none seeded
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://clinic:s3cret@db.example:5432/outcomes?sslmode=require",
        "postgresql+psycopg://clinic@db.example/outcomes?password=s3cret",
        "postgresql+psycopg://clinic:s3%2Fcret@db.example/outcomes",
        "postgresql+psycopg://clinic:pw@s3cret@db.example/outcomes",
        "postgresql+psycopg:///outcomes?host=/run/pg&sslpassword=s3cret",
    ],
)
def test_a_printable_url_never_holds_the_password(url: str) -> None:
    shown = printable_url(url)
    assert "s3cret" not in shown and "s3%2Fcret" not in shown
    parsed = make_url(shown)
    assert parsed.database == "outcomes" and parsed.password is None
    assert parsed.host in ("db.example", None)
