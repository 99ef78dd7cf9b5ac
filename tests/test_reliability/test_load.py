"""A short version of ``bench/load.py``: concurrent check-ins are stored exactly once.

The long run (50 patients, 60 s per database) lives in ``bench/``; this one runs 8 patients
for 3 s on each database with the same code and the same checks: every accepted submission
stored once (keys compared; both copies of a double submit name one record), every self-harm
answer with its alert and no other, one audit event per record, no error of any kind.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from data import engine as engine_module
from data.engine import database_unavailable, make_engine, transaction
from data.errors import DatabaseUnavailable
from data.schema import upgrade
from tests.conftest import fresh_database_url


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_concurrent_checkins_are_stored_exactly_once_with_their_alerts(
    backend: str, bench_load: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, request, tmp_path)
    result = bench_load.run_load(url, backend=backend, patients=8, seconds=3.0)
    assert result.errors == 0, result.error_kinds
    assert result.problems == []
    assert result.stored == result.forms > 50
    assert result.resends > 0 and result.submissions == result.forms + result.resends
    assert result.self_harm_forms > 0 and result.alerts == result.self_harm_forms
    assert result.audit_events == result.stored


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_checkins_go_through_while_sign_in_attempts_flood_the_app(
    backend: str, bench_signin_flood: ModuleType, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Issue 9, item 3, short version of ``bench/load.py --signin-flood 200``: 200 sign-in
    attempts a second through the sign-in function, from few addresses so the per-address
    throttle shows, while patients check in. Before, every attempt held SQLite's write lock
    for its argon2 verification and check-ins failed with "records are busy"."""
    url = fresh_database_url(backend, request, tmp_path)
    result = bench_signin_flood.run_signin_flood(
        url,
        backend=backend,
        patients=8,
        seconds=3.0,
        rate=200,
        addresses=8,
        usernames=40,
        think_seconds=0.05,
    )
    checkins = result.checkins
    assert checkins.errors == 0, checkins.error_kinds
    assert checkins.problems == []
    assert checkins.stored == checkins.forms > 0
    assert result.unexpected == 0, result.unexpected_kinds
    assert result.attempts > 300
    assert result.throttled > 0
    assert result.refused > 0  # the slots refused what the throttle let through
    # Every attempt was verified once, throttled or refused as busy: nothing else.
    assert result.verified + result.throttled + result.refused == (
        result.attempts + result.legit_attempts
    )


def test_many_sqlite_writers_queue_instead_of_hearing_database_is_locked(
    bench_load: ModuleType, tmp_path: Path
) -> None:
    """More writers than SQLite's busy handler serves fairly: they wait their turn.

    Before the write queue in ``data.engine``, 150 writers with their own connections got
    "database is locked" after 15 s of waiting; here 40 connections for 3 s must all pass.
    """
    url = f"sqlite:///{tmp_path / 'many.db'}"
    result = bench_load.run_load(
        url,
        backend="sqlite",
        patients=40,
        seconds=3.0,
        engine_options={"pool_size": 40, "max_overflow": 0},
    )
    assert result.errors == 0, result.error_kinds
    assert result.problems == []
    # First come, first served: nobody waits far longer than the rest.
    assert result.max_ms < 5_000


def test_a_write_that_cannot_get_its_turn_says_the_database_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    upgrade(engine)
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 200)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction(engine, write=True):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with (
            pytest.raises(DatabaseUnavailable, match="try again") as refused,
            transaction(engine, write=True),
        ):
            pass  # pragma: no cover - never reached
        assert time.monotonic() - started < 2
        assert database_unavailable(refused.value)
    finally:
        release.set()
        holder.join()
    with transaction(engine, write=True):  # the queue is free again
        pass
    engine.dispose()


def test_a_short_soak_checks_every_window_and_the_whole_run(
    bench_soak: ModuleType, tmp_path: Path
) -> None:
    """``bench/soak.py`` in three one-second windows: each window reported, the whole run
    checked as one load run is, and nothing judged wrong."""
    result = bench_soak.run_soak(
        f"sqlite:///{tmp_path / 'soak.db'}",
        backend="sqlite",
        patients=6,
        minutes=3 / 60,
        window_seconds=1.0,
        think_seconds=0.02,
    )
    assert len(result.windows) == 3
    assert all(w.submissions > 0 and w.errors == 0 for w in result.windows)
    assert all(w.rss_mb > 0 and w.database_mb > 0 for w in result.windows)
    check = result.check
    assert check is not None and check.problems == [] and check.errors == 0
    assert check.submissions == sum(w.submissions for w in result.windows)
    assert check.stored == check.forms and check.audit_events == check.stored
    assert result.problems == [] and result.ok


def test_checkins_during_a_large_import_are_all_stored(
    bench_load_during_import: ModuleType, tmp_path: Path
) -> None:
    """``bench/load.py --during-import`` in short: patients check in while ``outcomes import``
    (another process) imports into another clinic of the same SQLite file. The import reads
    and checks its file before it takes the write lock, so check-ins wait at most for its
    writing: none fails, every one is stored once, and the import stores every row."""
    result = bench_load_during_import.run_load_during_import(
        f"sqlite:///{tmp_path / 'import.db'}",
        backend="sqlite",
        patients=4,
        rows=20_000,
        think_seconds=0.05,
    )
    assert result.import_exit == 0, result.import_stderr
    assert result.import_rows == 20_000
    assert result.submissions > 0
    assert result.errors == 0, result.error_kinds
    assert result.problems == []
    assert result.stored == result.forms and result.audit_events == result.stored
