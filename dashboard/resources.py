"""Shared resources of the app: the engine (cached) and a transaction per page action.

Only the engine is cached. Streamlit's caches are shared by every user of the server, so no
patient data is ever cached here (``STYLE.md`` §14).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from data.engine import make_engine, transaction
from data.settings import Settings


def database_url() -> str:
    return Settings().database_url


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Any:
    return make_engine(url)


def engine() -> Any:
    """The engine for ``OUTCOMES_DATABASE_URL`` (one per URL per server process)."""
    return _engine(database_url())


@contextmanager
def session_scope(*, write: bool = False) -> Iterator[Any]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with transaction(engine(), write=write) as session:
        yield session
