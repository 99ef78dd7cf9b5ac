"""Kill the worker mid-batch, start it again: every message arrives, at most one duplicate per
kill (issue 14, "never loses a message").

A real ``outcomes worker`` process sends 200 e-mails to the test SMTP server, which answers
each slowly (20 ms after taking it), so that a kill lands while a message is accepted but not
yet marked sent: the one case that can send a message twice. The worker is SIGKILLed twice
mid-batch and started again each time; the last one sends the rest. The duplicates measured
are printed (``pytest -s``) and must be at most one per kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.test_notify.conftest import OutboxDatabase, SmtpTestServer
from tests.test_notify.test_worker import queue_many, statuses

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 200
KILL_AT = (40, 110)  # messages received when each kill lands


def _worker(db: OutboxDatabase, smtp: SmtpTestServer) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env |= {
        "OUTCOMES_DATABASE_URL": db.url,
        "OUTCOMES_MESSAGES_TRANSPORT": "smtp",
        "OUTCOMES_SMTP_HOST": "127.0.0.1",
        "OUTCOMES_SMTP_PORT": str(smtp.port),
        "OUTCOMES_SMTP_STARTTLS": "false",
        "OUTCOMES_SMTP_FROM": "clinic@outcomes.test",
        "OUTCOMES_MESSAGES_BATCH_SIZE": "20",
        # A killed worker's lease runs out soon, so that the test need not wait long.
        "OUTCOMES_MESSAGES_LEASE_SECONDS": "2",
        "OUTCOMES_WORKER_INTERVAL_SECONDS": "0.2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "data.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_killed_worker_loses_nothing_and_duplicates_at_most_one_per_kill(
    outbox_db: OutboxDatabase, smtp_server: SmtpTestServer
) -> None:
    ids = queue_many(outbox_db, MESSAGES, prefix="kill")
    smtp_server.handler.delay = 0.02
    kills = 0
    worker = _worker(outbox_db, smtp_server)
    try:
        for count in KILL_AT:
            assert _wait_for(lambda n=count: len(smtp_server.received) >= n, 120)
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
            kills += 1
            assert statuses(outbox_db)["queued"] > 0, "the kill came after the batch"
            worker = _worker(outbox_db, smtp_server)
        assert _wait_for(lambda: statuses(outbox_db) == Counter({"sent": MESSAGES}), 180)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    received = Counter(r.message_id for r in smtp_server.received)
    expected = {f"<outbox.{outbox_db.clinic_id}.{i}@outcomes.test>" for i in ids}
    duplicates = sum(received.values()) - len(received)
    print(f"\nkill test: {MESSAGES} messages, {kills} kills, {duplicates} duplicate(s)")  # noqa: T201 (the measured figure, shown by pytest -s)
    assert set(received) == expected, "a message was lost"
    assert duplicates <= kills
