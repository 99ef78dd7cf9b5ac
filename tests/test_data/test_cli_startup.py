"""`outcomes --help` answers without loading the data layer's heavy libraries (issue 13).

The help of the command line, and of each command, is read from the commands' signatures and
docstrings only: it must not import pandas, SQLAlchemy, the FHIR models, plotly, Streamlit or
argon2, which a command imports when it runs. Each case runs the command line in a fresh
interpreter with ``-X importtime``, which names every module the process imports. How fast the
help answers is measured in ``bench/cli.py``, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.core import TyperGroup
from typer.main import get_command

from data.cli import app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = frozenset(
    {
        "alembic",
        "argon2",
        "fhir",  # fhir.resources
        "lifelines",
        "numpy",
        "pandas",
        "plotly",
        "psycopg",
        "pydantic_settings",
        "scipy",
        "sqlalchemy",
        "streamlit",
    }
)


def command_names() -> list[str]:
    group = get_command(app)
    assert isinstance(group, TyperGroup)
    return sorted(group.commands)


COMMAND_NAMES = command_names()


def imported_packages(
    args: list[str],
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime <args>`` in a fresh interpreter; its top-level imports."""
    env = {name: value for name, value in os.environ.items() if name != "TYPER_USE_RICH"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Each line: "import time: <self us> | <cumulative us> | <indent><module>"
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, {module.split(".")[0] for module in modules}


def test_every_command_is_still_listed() -> None:
    assert set(COMMAND_NAMES) >= {
        "init",
        "seed-demo",
        "create-user",
        "set-time-zone",
        "set-crisis-contacts",
        "import",
        "export",
        "rescore",
        "backup",
        "verify",
    }


def test_the_help_lists_every_command_without_the_heavy_libraries() -> None:
    done, packages = imported_packages(["-m", "data.cli", "--help"])
    assert done.returncode == 0, done.stderr[-2000:]
    for name in COMMAND_NAMES:
        assert name in done.stdout
    # The check is real: the same interpreter does see these imports when they happen.
    assert "data" in packages and "typer" in packages
    assert packages.isdisjoint(HEAVY), sorted(packages & HEAVY)


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_a_commands_help_names_its_options_without_the_heavy_libraries(command: str) -> None:
    done, packages = imported_packages(["-m", "data.cli", command, "--help"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Usage:" in done.stdout and "--help" in done.stdout
    assert packages.isdisjoint(HEAVY), sorted(packages & HEAVY)


def test_importing_the_app_and_building_every_command_stays_light() -> None:
    # What shell completion and `--help` do first: import the app and build each command's
    # parameters from its signature (typer resolves the annotations here).
    code = (
        "import sys\n"
        "from typer.main import get_command\n"
        "from data.cli import app\n"
        "group = get_command(app)\n"
        "for command in group.commands.values():\n"
        "    command.params\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done, _ = imported_packages(["-c", code])
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stdout.split())
    assert "data" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & HEAVY)


def test_a_command_still_imports_what_it_needs_when_it_runs(tmp_path: Path) -> None:
    # The other side of the lazy imports: running a command loads the data layer and works.
    url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    done, packages = imported_packages(
        ["-m", "data.cli", "init", "--clinic-name", "Lakeside", "--database-url", url]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the database schema is up to date" in done.stdout
    assert "created clinic" in done.stdout
    assert "sqlalchemy" in packages
