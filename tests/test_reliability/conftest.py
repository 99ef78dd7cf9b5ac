"""Helpers shared by the reliability tests: the load bench as a module, consistency checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench_module(name: str) -> ModuleType:
    key = f"outcomes_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _bench_load() -> ModuleType:
    return _bench_module("load")


@pytest.fixture(scope="session")
def bench_load() -> ModuleType:
    """``bench/load.py``: the same code the long run uses, in a short version (it also
    re-exports the harness's ``create_clinic``, which the fault and fuzz tests use)."""
    return _bench_load()


@pytest.fixture(scope="session")
def bench_signin_flood() -> ModuleType:
    """``bench/signin_flood.py``, for a short sign-in flood beside check-ins."""
    return _bench_module("signin_flood")


@pytest.fixture(scope="session")
def bench_load_during_import() -> ModuleType:
    """``bench/load_during_import.py``, for check-ins during a short import."""
    return _bench_module("load_during_import")


@pytest.fixture(scope="session")
def bench_soak() -> ModuleType:
    """``bench/soak.py``, for a short version of the soak run."""
    return _bench_module("soak")
