"""Docs and registry agree (after datasette's test_docs): every instrument and every rule
setting is documented, every instrument has a golden test."""

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
