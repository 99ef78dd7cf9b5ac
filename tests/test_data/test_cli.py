"""The ``outcomes`` command line, run with typer's CliRunner against real databases.

A SQLite file prepared once by ``outcomes init`` is copied for each test; one test runs the
same commands against the throwaway PostgreSQL server. Every refusal must exit non-zero,
say why on stderr, and leave the database exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from data.accounts import authenticate
from data.cli import app
from data.engine import make_engine, transaction
from data.models import Base
from data.schema import downgrade
from data.settings import get_settings
from tests.conftest import fresh_database_url
from tests.test_data.test_backup import damage

ADMIN_PASSWORD = "correct horse battery"
PHQ9_HEADER = "patient_id,instrument,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 10))
GOOD_ROWS = (
    "MRN-1001,phq9,2025-01-06,2,2,1,1,1,1,1,1,0",
    "MRN-1001,phq9,2025-01-13T10:00:00Z,1,1,1,1,1,1,1,0,0",
    "MRN-1002,phq9,2025-01-07,3,3,2,2,2,1,1,1,1",
)
COMMANDS = ("init", "seed-demo", "import", "export", "create-user", "rescore", "backup", "verify")

runner = CliRunner()


def run(url: str, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, [*args, "--database-url", url], input=input, catch_exceptions=False)


def snapshot(url: str) -> dict[str, object]:
    """Every row of every table, to prove that a refused command changed nothing."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).all()
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database made by ``outcomes init``: one clinic and its administrator."""
    path = tmp_path_factory.mktemp("template") / "outcomes.db"
    result = run(
        f"sqlite:///{path}",
        "init",
        "--clinic-name",
        "Lakeside Ketamine",
        "--admin-username",
        "admin",
        "--password-stdin",
        input=ADMIN_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def url(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "outcomes.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    path.write_text("\n".join((PHQ9_HEADER, *GOOD_ROWS)) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ("", *COMMANDS))
def test_every_command_explains_itself(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    if command:
        assert "--database-url" in result.stdout
    else:
        assert all(name in result.stdout for name in COMMANDS)


def test_init_creates_the_schema_clinic_and_administrator_and_can_run_again(
    template: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{template}"
    engine = make_engine(url)
    with transaction(engine) as session:
        actor = authenticate(session, username="admin", password=ADMIN_PASSWORD)
        assert actor.role == "administrator"
    engine.dispose()

    copy = tmp_path / "copy.db"
    shutil.copy(template, copy)
    again = run(f"sqlite:///{copy}", "init", "--clinic-name", "Lakeside Ketamine")
    assert again.exit_code == 0
    assert "clinic 1 exists already" in again.stdout

    bare = run(f"sqlite:///{tmp_path / 'bare.db'}", "init")
    assert bare.exit_code == 0
    assert "no clinic yet" in bare.stdout


def test_import_export_rescore_and_backup_on_sqlite(
    url: str, history: Path, tmp_path: Path
) -> None:
    imported = run(url, "import", "assessments", str(history), "--create-patients")
    assert imported.exit_code == 0, imported.output
    assert "imported 3 assessment(s) for 2 patient(s)" in imported.stdout
    assert "registered 2 new patient(s)" in imported.stdout
    assert "MRN-1001" not in imported.output  # counts only, never patient ids

    again = run(url, "import", "assessments", str(history))
    assert "imported 0 assessment(s)" in again.stdout and "skipped 3" in again.stdout

    exported = tmp_path / "export.csv"
    result = run(url, "export", "--output", str(exported))
    assert result.exit_code == 0
    assert "exported 3 row(s) of assessments of 2 patient(s)" in result.stderr
    assert exported.read_text().splitlines()[1].startswith("MRN-1001,phq9,2025-01-06T12:00:00")
    assert exported.stat().st_mode & 0o077 == 0  # patient data: the operator's eyes only

    one = run(url, "export", "--format", "fhir", "--patient", "MRN-1002")
    bundle = json.loads(one.stdout)
    subjects = {e["resource"]["subject"]["reference"] for e in bundle["entry"]}
    assert subjects == {"Patient/MRN-1002"}

    rescored = run(url, "rescore")
    assert rescored.exit_code == 0
    assert "rescored 3 record(s)" in rescored.stdout and "0 changed" in rescored.stdout

    target = tmp_path / "backup.db"
    backed_up = run(url, "backup", str(target))
    assert backed_up.exit_code == 0 and target.exists()
    assert snapshot(f"sqlite:///{target}") == snapshot(url)


def test_create_user_prompts_for_a_hidden_password(url: str) -> None:
    password = "a long enough secret"
    result = run(
        url,
        "create-user",
        "--role",
        "clinician",
        "--username",
        "lee",
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert password not in result.output
    engine = make_engine(url)
    with transaction(engine) as session:
        assert authenticate(session, username="lee", password=password).role == "clinician"
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        pytest.param(
            ["import", "assessments", "{bad}"], None, "phq9_3 is not an answer", id="bad-row"
        ),
        pytest.param(
            ["import", "assessments", "{history}"],
            None,
            "no patient with this patient_id",
            id="unknown-patient",
        ),
        pytest.param(
            ["import", "fhir", "{history}"], None, "the file is not JSON", id="fhir-not-json"
        ),
        pytest.param(
            ["import", "assessments", "{history}", "--clinic", "Elsewhere"],
            None,
            "no clinic with that id or name",
            id="unknown-clinic",
        ),
        pytest.param(
            ["export", "--patient", "MRN-404"], None, "no patient with that id", id="no-patient"
        ),
        pytest.param(
            ["export", "--format", "fhir", "--kind", "infusions"],
            None,
            "export infusions with --format csv",
            id="fhir-infusions",
        ),
        pytest.param(
            ["export", "--output", "{history}"], None, "exists already", id="export-overwrite"
        ),
        pytest.param(
            ["create-user", "--role", "clinician", "--username", "x", "--password-stdin"],
            "short\n",
            "at least 12 characters",
            id="short-password",
        ),
        pytest.param(
            ["create-user", "--role", "clinician", "--username", "x", "--password-stdin"],
            "password1234\n",
            "commonly used passwords",
            id="common-password",
        ),
        pytest.param(
            ["create-user", "--role", "clinician", "--username", "admin", "--password-stdin"],
            ADMIN_PASSWORD + "\n",
            "this username is already taken in your clinic",
            id="taken-username",
        ),
        pytest.param(["backup", "{history}"], None, "exists already", id="backup-overwrite"),
        pytest.param(
            ["seed-demo", "--patients", "3"], None, "real clinic", id="demo-beside-real-clinic"
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    url: str,
    history: Path,
    tmp_path: Path,
    args: list[str],
    stdin: str | None,
    message: str,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\n".join((PHQ9_HEADER, GOOD_ROWS[0], "MRN-1001,phq9,2025-01-20,1,1,9,1,1,1,1,1,1")) + "\n"
    )
    before = snapshot(url)
    history_before = history.read_bytes()
    args = [arg.format(history=history, bad=bad) for arg in args]

    result = run(url, *args, input=stdin)

    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("nothing was changed")
    assert "MRN-1001" not in result.output
    assert snapshot(url) == before
    assert history.read_bytes() == history_before


def test_a_missing_database_is_not_created_by_accident(tmp_path: Path, history: Path) -> None:
    missing = tmp_path / "typo.db"
    result = run(f"sqlite:///{missing}", "import", "assessments", str(history))
    assert result.exit_code == 1
    assert "create it with `outcomes init`" in result.stderr
    assert not missing.exists()

    nonsense = runner.invoke(app, ["rescore", "--database-url", "no such url"])
    assert nonsense.exit_code == 1
    assert "the database URL cannot be read" in nonsense.stderr


def test_the_database_comes_from_the_environment_by_default(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["rescore"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "rescored 0 record(s)" in result.stdout


def test_seed_demo_creates_a_synthetic_clinic_in_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = run(url, "seed-demo", "--patients", "3", "--today", "2025-06-01")
    assert result.exit_code == 0, result.output
    assert "synthetic data only" in result.stdout and "demo-clinician" in result.stdout
    assert count(url, "patient") == 3


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = run(url, "seed-demo", "--patients", "3", "--today", "2025-06-01")
    assert result.exit_code == 0, result.output
    return url


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        pytest.param(["--clinic-name", "Lakeside Ketamine"], None, id="clinic"),
        pytest.param(
            ["--admin-username", "ana", "--password-stdin"], ADMIN_PASSWORD + "\n", id="admin"
        ),
    ],
)
def test_init_refuses_a_real_clinic_or_account_in_the_demo_database(
    demo_url: str, args: list[str], stdin: str | None
) -> None:
    before = snapshot(demo_url)
    result = run(demo_url, "init", *args, input=stdin)
    assert result.exit_code == 1
    assert "holds the demo clinic" in result.stderr
    # It says how to start a real clinic: a database of its own.
    assert "OUTCOMES_DATABASE_URL=sqlite:////srv/clinic/outcomes.db outcomes init" in (
        result.stderr
    )
    assert result.stderr.rstrip().endswith("nothing was changed")
    assert snapshot(demo_url) == before


def test_init_without_a_clinic_upgrades_a_demo_database_and_says_how_to_go_real(
    demo_url: str,
) -> None:
    result = run(demo_url, "init")
    assert result.exit_code == 0, result.output
    assert "the database schema is up to date" in result.stdout
    assert "holds the demo clinic; to start a real clinic, use a new database" in result.stdout


# --------------------------------------------------------------------------------------------
# Exports: the audit events are committed before the file appears
# --------------------------------------------------------------------------------------------


def _refuse_audit_events_at_commit(url: str) -> None:
    """Make every commit that stores an audit event fail, as a full disk or a broken replica
    would: each new event inserts a row whose (deferred) foreign key is only checked, and
    refused, at COMMIT."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE audit_trap (clinic_id INTEGER REFERENCES clinic (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER audit_trap_insert AFTER INSERT ON audit_event "
                "BEGIN INSERT INTO audit_trap VALUES (-1); END"
            )
    finally:
        engine.dispose()


def test_an_export_whose_audit_events_cannot_be_committed_leaves_no_file(
    url: str, history: Path, tmp_path: Path
) -> None:
    assert run(url, "import", "assessments", str(history), "--create-patients").exit_code == 0
    _refuse_audit_events_at_commit(url)
    events = count(url, "audit_event")
    folder = tmp_path / "exports"
    folder.mkdir()

    to_file = run(url, "export", "--output", str(folder / "clinic.csv"))
    to_stdout = run(url, "export", "--format", "fhir")

    for result in (to_file, to_stdout):
        assert result.exit_code == 1
        assert "the database refused the change (IntegrityError)" in result.stderr
        assert result.stderr.rstrip().endswith("nothing was changed")
        assert result.stdout == ""  # no record reached the screen either
    assert list(folder.iterdir()) == []  # neither the file nor its temporary
    assert count(url, "audit_event") == events


def test_an_export_appears_complete_and_private_and_replaces_only_when_asked(
    url: str, history: Path, tmp_path: Path
) -> None:
    assert run(url, "import", "assessments", str(history), "--create-patients").exit_code == 0
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "clinic.csv"
    target.write_text("last month's export\n")
    os.chmod(target, 0o644)

    refused = run(url, "export", "--output", str(target))
    assert refused.exit_code == 1 and "add --overwrite" in refused.stderr
    assert target.read_text() == "last month's export\n"

    replaced = run(url, "export", "--output", str(target), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert target.read_text().startswith("patient_id,instrument,administered_at")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in folder.iterdir()] == ["clinic.csv"]

    link = folder / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    through = run(url, "export", "--output", str(link), "--overwrite")
    assert through.exit_code == 1 and "symbolic link" in through.stderr
    assert not (tmp_path / "elsewhere.csv").exists()


# --------------------------------------------------------------------------------------------
# A damaged database: refused before anything is written; verify says what to do
# --------------------------------------------------------------------------------------------


@pytest.fixture
def damaged_url(url: str, history: Path) -> str:
    assert run(url, "import", "assessments", str(history), "--create-patients").exit_code == 0
    # Enough records to span more pages than the schema alone, then garbage over a few.
    path = Path(make_url(url).database or "")
    bulk = [
        f"MRN-{2000 + n % 50},phq9,2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z,"
        "1,1,1,1,1,1,1,1,0"
        for n in range(600)
    ]
    more = path.parent / "more.csv"
    more.write_text("\n".join((PHQ9_HEADER, *bulk)) + "\n")
    assert run(url, "import", "assessments", str(more), "--create-patients").exit_code == 0
    damage(path, first_page=10)
    return url


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["import", "assessments", "{history}"], id="import"),
        pytest.param(["export", "--output", "{out}"], id="export"),
        pytest.param(["rescore"], id="rescore"),
        pytest.param(["backup", "{out}"], id="backup"),
        pytest.param(["init", "--clinic-name", "Lakeside Ketamine"], id="init"),
        pytest.param(
            ["create-user", "--role", "clinician", "--username", "lee", "--password-stdin"],
            id="create-user",
        ),
    ],
)
def test_a_damaged_database_is_refused_before_anything_is_written(
    damaged_url: str, history: Path, tmp_path: Path, args: list[str]
) -> None:
    path = Path(make_url(damaged_url).database or "")
    before = path.read_bytes()
    out = tmp_path / "out.file"
    args = [arg.format(history=history, out=out) for arg in args]

    result = run(damaged_url, *args, input="a long enough secret\n")

    assert result.exit_code == 1
    assert "the database file is damaged" in result.stderr
    assert "restore the newest backup" in result.stderr
    assert "Page " in result.stderr  # what SQLite found
    assert "MRN-" not in result.output
    assert path.read_bytes() == before
    assert not out.exists()


def test_verify_passes_a_sound_database(url: str) -> None:
    os.chmod(Path(make_url(url).database or ""), 0o600)
    result = run(url, "verify")
    assert result.exit_code == 0, result.output
    assert "integrity_check: ok" in result.stdout
    assert "foreign_key_check: ok" in result.stdout
    assert "schema: current" in result.stdout
    assert "the database is in order\ncourse state: clinic 1" in result.stdout
    assert result.stdout.rstrip().endswith("the course state is right")
    assert result.stderr == ""


def test_verify_finds_damage_and_says_what_to_do(damaged_url: str) -> None:
    result = run(damaged_url, "verify")
    assert result.exit_code == 1
    assert "  - integrity_check: " in result.stderr  # what SQLite found
    assert "what to do:" in result.stderr and "restore the newest backup" in result.stderr


def test_verify_finds_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.db"
    path.write_bytes(b"not a database\n" * 500)
    result = run(f"sqlite:///{path}", "verify")
    assert result.exit_code == 1
    assert "file is not a database" in result.stderr
    assert "restore the newest backup" in result.stderr


def test_verify_finds_broken_references_and_an_old_schema(url: str, history: Path) -> None:
    assert run(url, "import", "assessments", str(history), "--create-patients").exit_code == 0
    engine = make_engine(url)
    try:
        downgrade(engine, "0003")
    finally:
        engine.dispose()
    # As a tool that ignores foreign keys (sqlite3's default) would leave it.
    with closing(sqlite3.connect(make_url(url).database or "")) as tool, tool:
        tool.execute("DELETE FROM patient")

    result = run(url, "verify")

    assert result.exit_code == 1
    assert "row(s) of assessment refer to a missing row of patient" in result.stderr
    assert "schema: revision 0003" in result.stderr
    assert "run `outcomes init`" in result.stderr


def test_verify_warns_when_others_may_read_the_database(url: str) -> None:
    path = Path(make_url(url).database or "")
    os.chmod(path, 0o644)  # as versions before issue 9 created it
    result = run(url, "verify")
    assert result.exit_code == 0
    assert f"chmod 600 {path}" in result.stderr


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield fresh_database_url("postgres", request, tmp_path)


@pytest.mark.postgres
def test_the_command_line_on_postgresql(postgres_url: str, history: Path, tmp_path: Path) -> None:
    init = run(
        postgres_url,
        "init",
        "--clinic-name",
        "Network Clinic",
        "--admin-username",
        "pg-admin",
        "--password-stdin",
        input=ADMIN_PASSWORD + "\n",
    )
    assert init.exit_code == 0, init.output

    imported = run(postgres_url, "import", "assessments", str(history), "--create-patients")
    assert imported.exit_code == 0, imported.output
    assert "created 1 safety alert(s)" in imported.stdout

    before = snapshot(postgres_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{PHQ9_HEADER}\nMRN-1001,phq9,2025-02-01,1,1,1,1,1,1,1,1,4\n")
    refused = run(postgres_url, "import", "assessments", str(bad))
    assert refused.exit_code == 1 and "row 2: phq9_9 is not an answer" in refused.stderr
    assert snapshot(postgres_url) == before

    exported = run(postgres_url, "export", "--format", "csv")
    assert exported.stdout.count("\n") == 4
    assert "0 changed" in run(postgres_url, "rescore").stdout

    backup = run(postgres_url, "backup", str(tmp_path / "clinic.dump"))
    assert backup.exit_code == 0
    command = backup.stdout.splitlines()[-1]
    assert command.startswith("pg_dump --format=custom --no-owner --file")
    assert not (tmp_path / "clinic.dump").exists()  # printed, never run

    verified = run(postgres_url, "verify")
    assert verified.exit_code == 0, verified.output
    assert "PostgreSQL checks its own files" in verified.stdout
    assert "schema: current" in verified.stdout
    # one event per imported patient, two patients created, one clinic, one account
    assert count(postgres_url, "audit_event") >= 2 + 2 + 1 + 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    "shape",
    ["password-field", "percent-encoded", "query-password", "ssl-key-password"],
)
def test_no_command_prints_the_database_password(
    postgres_url: str, tmp_path: Path, shape: str
) -> None:
    """The test server trusts local connections, so it ignores these passwords: the commands
    succeed, and their whole output is searched for the password in any form."""
    server = make_url(postgres_url)
    at = f"{server.host}:{server.port}/{server.database}"
    url = {
        "password-field": f"postgresql+psycopg://{server.username}:Pw-s3cret@{at}",
        "percent-encoded": f"postgresql+psycopg://{server.username}:Pw%3As3cr%2Fet@{at}",
        "query-password": f"postgresql+psycopg://{server.username}@{at}?password=Pw-s3cret",
        "ssl-key-password": f"postgresql+psycopg://{server.username}@{at}?sslpassword=s3cret",
    }[shape]
    assert run(url, "init", "--clinic-name", "Network Clinic").exit_code == 0

    outputs = [
        run(url, "backup", str(tmp_path / "clinic.dump")),
        run(url, "verify"),
        run(url, "export", "--patient", "MRN-404"),  # a refusal
        run(url, "init", "--clinic-name", "Network Clinic"),
    ]

    printed = "\n".join(result.output for result in outputs)
    assert "s3cr" not in printed and "***" not in printed
    assert "pg_dump --format=custom" in printed and "PostgreSQL at postgresql" in printed
