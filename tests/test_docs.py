"""Docs and registry agree (after datasette's test_docs): every instrument and every rule
setting is documented, every instrument has a golden test, every module has its line in
docs/architecture.md."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from outcomes import INSTRUMENTS
from outcomes.rules import InstrumentRules, Rules

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
def test_every_instrument_is_in_the_readme(instrument) -> None:
    assert f"`{instrument.id}`" in README, f"README has no row for {instrument.id}"


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
def test_every_instrument_has_a_golden_test(instrument) -> None:
    golden = (ROOT / "tests" / "test_outcomes" / "test_spec_scoring.py").read_text()
    assert f'"{instrument.id}"' in golden


@pytest.mark.parametrize(
    "name",
    [f.name for f in dataclasses.fields(Rules) if f.name != "instruments"]
    + [f.name for f in dataclasses.fields(InstrumentRules)],
)
def test_every_rule_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in README, f"README does not document the rule {name}"
    source = (ROOT / "outcomes" / "rules.py").read_text()
    assert f"{name} :" in source, f"rules.py docstring does not describe {name}"


# One file per schema change: listed as a folder, not one by one.
UNLISTED_FOLDERS = ("data/migrations/versions/",)


def _modules() -> list[str]:
    return sorted(
        path.relative_to(ROOT).as_posix()
        for package in ("outcomes", "data", "dashboard")
        for path in (ROOT / package).rglob("*.py")
        if not path.relative_to(ROOT).as_posix().startswith(UNLISTED_FOLDERS)
    )


def test_the_module_list_is_found() -> None:
    modules = _modules()
    assert "outcomes/course.py" in modules and "dashboard/app_pages/admin/outcomes.py" in modules
    assert not [m for m in modules if m.startswith(UNLISTED_FOLDERS)]


@pytest.mark.parametrize("module", _modules())
def test_every_module_has_a_line_in_the_architecture_doc(module: str) -> None:
    """A newcomer finds every module, and where its kind of change lives, in one page."""
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert f"`{module}`" in architecture, (
        f"docs/architecture.md has no line for {module}: add one saying what it does"
    )
