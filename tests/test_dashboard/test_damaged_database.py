"""A damaged database file: every page says so plainly and what to do, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.engine import DAMAGED_MESSAGE
from tests.test_dashboard.conftest import APP, AppWorld, signed_in
from tests.test_data.test_backup import damage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def damaged_url(app_world: AppWorld, tmp_path: Path) -> str:
    source = Path(app_world.url.removeprefix("sqlite:///"))
    copy = tmp_path / "damaged.db"
    shutil.copyfile(source, copy)
    # Garbage over every page after the schema's: each table's records are unreadable.
    damage(copy, first_page=3, pages=400)
    return f"sqlite:///{copy}"


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("clinician", "app_pages/clinician/worklist.py"),
        ("patient", "app_pages/patient/progress.py"),
    ],
)
def test_pages_on_a_damaged_database_say_what_to_do(
    app_world: AppWorld,
    damaged_url: str,
    monkeypatch: pytest.MonkeyPatch,
    who: str,
    page: str,
) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", damaged_url)
    app = AppTest.from_file(APP, default_timeout=60)
    signed_in(app, app_world.clinician if who == "clinician" else app_world.patient)
    app.run()
    if page.endswith("progress.py"):
        app.switch_page(page).run()
    assert not app.exception
    assert [e.value for e in app.error] == [DAMAGED_MESSAGE]


def test_make_run_refuses_a_damaged_database_in_plain_words(damaged_url: str) -> None:
    launched = subprocess.run(
        [sys.executable, "-m", "dashboard.launch"],
        cwd=ROOT,
        env={**os.environ, "OUTCOMES_DATABASE_URL": damaged_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launched.returncode == 1
    assert "cannot start" in launched.stderr and "restore the newest backup" in launched.stderr
    assert "Traceback" not in launched.stderr
