"""What an import refuses before it writes (issue 9): files that are not records, files
beyond the stated limits, too many problems for one message, a database it cannot write.
Refusals never repeat what the file holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from data.errors import InvalidInput
from data.interchange.csv_assessments import import_assessments_csv
from data.interchange.csv_infusions import import_infusions_csv
from data.interchange.fhir_read import import_fhir_bundle
from data.models import Assessment
from tests.conftest import World
from tests.test_data.builders import (
    NOW,
    PHQ9_HEADER,
    PHQ9_ROW,
    _count,
    _csv,
    _one_response_bundle,
    _problems,
)


def test_a_system_file_given_as_an_import_is_refused_without_repeating_a_line(
    session: Session, world: World, tmp_path: Path
) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    )
    for importer in (import_assessments_csv, import_infusions_csv, import_fhir_bundle):
        with pytest.raises(InvalidInput) as refused:
            importer(session, actor=world.system_a, source=passwd, now=NOW)
        text = _problems(refused)
        for secret in ("root", "daemon", "/bin", "nologin", "x:0"):
            assert secret not in text, (importer.__name__, text)
    assert _count(session, Assessment) == 0


def test_a_header_of_200000_columns_is_refused_before_any_parsing(
    session: Session, world: World
) -> None:
    wide = ",".join(f"c{n}" for n in range(200_000))
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv(wide, "1"))
    assert refused.value.problems == (
        "row 1 is longer than 10,000 bytes, the longest line an import takes; is this a "
        "CSV file of records?",
    )
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv("a," * 4_000))
    assert "has 4,001 columns, more than the 100 an import takes" in _problems(refused)


def test_files_beyond_the_stated_limits_are_refused_before_they_are_read(
    session: Session, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.interchange import csv_read, fhir_read

    path = tmp_path / "big.csv"
    path.write_text("\n".join([PHQ9_HEADER] + [f"MRN-{n},{PHQ9_ROW}" for n in range(20)]))
    monkeypatch.setattr(csv_read, "MAX_RECORDS", 10)
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=path)
    assert "more than 10 lines" in _problems(refused)
    monkeypatch.setattr(csv_read, "MAX_RECORDS", 1_000_000)
    monkeypatch.setattr(csv_read, "MAX_FILE_BYTES", 500)
    with pytest.raises(InvalidInput) as refused:
        import_infusions_csv(session, actor=world.system_a, source=path)
    assert "larger than" in _problems(refused)
    monkeypatch.setattr(fhir_read, "MAX_BUNDLE_ENTRIES", 2)
    bundle = _one_response_bundle("Patient/MRN-x")
    bundle["entry"] = bundle["entry"] * 3
    with pytest.raises(InvalidInput) as refused:
        import_fhir_bundle(session, actor=world.system_a, source=bundle)
    assert "more than the 2 an import takes" in _problems(refused)


def test_the_import_limits_are_documented() -> None:
    from data.interchange import csv_read, fhir_read

    docs = (Path(__file__).parents[2] / "docs" / "records.md").read_text()
    for stated in (
        f"{csv_read.MAX_FILE_BYTES // 1_000_000} MB",
        f"{csv_read.MAX_RECORDS:,} lines",
        f"{csv_read.MAX_LINE_BYTES:,} bytes",
        f"{csv_read.MAX_COLUMNS} columns",
        f"{fhir_read.MAX_BUNDLE_ENTRIES:,} entries",
        f"{fhir_read.MAX_JSON_DEPTH} levels",
        f"first {csv_read.MAX_LISTED_PROBLEMS}",
    ):
        assert stated in docs, stated


def test_a_csv_of_many_bad_rows_is_refused_in_a_short_message(
    session: Session, world: World
) -> None:
    rows = [f"MRN-{n},{PHQ9_ROW}" for n in range(3_000)]
    with pytest.raises(InvalidInput) as refused:
        import_assessments_csv(session, actor=world.system_a, source=_csv(PHQ9_HEADER, *rows))
    problems = refused.value.problems
    assert problems[0].startswith("row 2: no patient with this patient_id")
    assert "2,980 more record(s)" in problems[20] and len(problems) == 22


def test_the_command_line_says_a_read_only_database_cannot_be_written() -> None:
    """Item 11: a database the user may not write is named as such, not as a traceback."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    # Outside pytest's own (owner-only) temporary folders, so that another user can reach it.
    base = Path(tempfile.mkdtemp(prefix="outcomes-readonly-"))
    folder = base / "database"
    try:
        folder.mkdir()
        url = f"sqlite:///{folder / 'outcomes.db'}"
        root = Path(__file__).parents[2]
        command = [sys.executable, "-c", "from data.cli import app; app()"]
        init = [*command, "init", "--database-url", url, "--clinic-name", "RO"]
        subprocess.run(init, check=True, cwd=root, capture_output=True)
        source = base / "a.csv"
        source.write_text(f"{PHQ9_HEADER}\nMRN-1,{PHQ9_ROW}\n")
        source.chmod(0o644)
        base.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(0o444)
        folder.chmod(0o555)
        as_another_user: list[str] = []
        if os.geteuid() == 0:  # root writes anything: run as nobody, as an operator would
            setpriv = shutil.which("setpriv")
            assert setpriv is not None, "setpriv (util-linux) runs this test as another user"
            as_another_user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        imported = [*command, "import", "assessments", str(source), "--create-patients"]
        ran = subprocess.run(
            [*as_another_user, *imported, "--database-url", url],
            cwd=root,
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(base)},
        )
    finally:
        if folder.exists():
            folder.chmod(0o755)
        shutil.rmtree(base)
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert "the database cannot be written" in ran.stderr and "read-only" in ran.stderr
