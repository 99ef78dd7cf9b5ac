"""Helpers shared by the reliability tests: the load bench as a module, consistency checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench_load() -> ModuleType:
    if "outcomes_bench_load" in sys.modules:
        return sys.modules["outcomes_bench_load"]
    spec = importlib.util.spec_from_file_location("outcomes_bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench_load() -> ModuleType:
    """``bench/load.py``: the same code the long run uses, in a short version."""
    return _bench_load()
