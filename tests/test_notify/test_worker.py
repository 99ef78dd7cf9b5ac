"""The worker's passes on a committed database: outages lose nothing, two workers never send
one message twice, a broken step does not stop the pass, and the command line (issue 14)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.access import Actor
from data.engine import transaction
from data.models import utcnow
from data.notify import steps
from data.notify.health import delivery_health
from data.notify.models import OutboxMessage
from data.notify.queue import NewMessage, queue_message
from data.notify.worker import run_pass, send_due
from tests.test_notify.conftest import OutboxDatabase, SmtpTestServer

ROOT = Path(__file__).resolve().parents[2]


def queue_many(db: OutboxDatabase, count: int, *, prefix: str = "m") -> list[int]:
    """``count`` e-mails to patients of the clinic, due a minute ago, committed."""
    ids = []
    with transaction(db.engine, write=True) as session:
        for n in range(count):
            queued = queue_message(
                session,
                NewMessage(
                    clinic_id=db.clinic_id,
                    kind="checkin_reminder",
                    channel="email",
                    recipient=f"patient{n}@example.org",
                    subject="Your check-in is due",
                    body=f"Your check-in is due: https://clinic.example/c/{prefix}{n}",
                    dedupe_key=f"{prefix}:{n}",
                    patient_id=db.patient_ids[n % 2],
                    not_before=utcnow() - dt.timedelta(minutes=1),
                ),
            )
            assert queued is not None
            ids.append(queued)
    return ids


def statuses(db: OutboxDatabase) -> Counter[str]:
    with transaction(db.engine) as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return Counter({str(status): int(count) for status, count in rows})


def test_an_smtp_outage_keeps_messages_queued_and_the_health_says_so(
    outbox_db: OutboxDatabase, smtp_server: SmtpTestServer
) -> None:
    ids = queue_many(outbox_db, 5)
    settings = smtp_server.settings()
    smtp_server.stop()
    now = utcnow()
    down = send_due(outbox_db.engine, settings=settings, now=now)
    assert (down.sent, down.retried) == (0, 5)
    assert statuses(outbox_db) == Counter({"queued": 5})
    with transaction(outbox_db.engine) as session:
        health = delivery_health(session, actor=Actor.system(outbox_db.clinic_id), now=now)
    assert health.queued == 5 and health.failed_last_hour == 5 and health.stuck
    assert "cannot reach the SMTP server" in str(health.last_error)

    smtp_server.start()
    up = send_due(outbox_db.engine, settings=settings, now=now + dt.timedelta(minutes=2))
    assert up.sent == 5
    assert statuses(outbox_db) == Counter({"sent": 5})
    received = Counter(r.message_id for r in smtp_server.received)
    expected = {f"<outbox.{outbox_db.clinic_id}.{i}@outcomes.test>" for i in ids}
    assert set(received) == expected and set(received.values()) == {1}
    with transaction(outbox_db.engine) as session:
        later = delivery_health(
            session, actor=Actor.system(outbox_db.clinic_id), now=now + dt.timedelta(hours=2)
        )
    assert (later.queued, later.oldest_waiting, later.failed_last_hour, later.stuck) == (
        0,
        None,
        0,
        False,
    )


def test_two_workers_at_once_never_send_one_message_twice(
    outbox_db: OutboxDatabase, smtp_server: SmtpTestServer
) -> None:
    ids = queue_many(outbox_db, 60)
    settings = smtp_server.settings(messages_batch_size=5)
    smtp_server.handler.delay = 0.005  # both workers are mid-batch at once
    errors: list[BaseException] = []

    def work() -> None:
        try:
            send_due(outbox_db.engine, settings=settings)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not errors
    received = Counter(r.message_id for r in smtp_server.received)
    assert len(received) == len(ids)
    assert max(received.values()) == 1, "a message was sent twice"
    assert statuses(outbox_db) == Counter({"sent": len(ids)})
    with transaction(outbox_db.engine) as session:
        workers_used = session.scalars(select(OutboxMessage.provider_id)).all()
    assert len(set(workers_used)) == len(ids)


def test_a_failing_step_does_not_stop_the_pass(
    outbox_db: OutboxDatabase, smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: Session, now: dt.datetime) -> int:
        queue_many_in(session, outbox_db, "broken")
        raise RuntimeError("a step's bug")

    def working(session: Session, now: dt.datetime) -> int:
        return queue_many_in(session, outbox_db, "working")

    monkeypatch.setattr(steps, "STEPS", [("broken", broken), ("working", working)])
    counts = run_pass(outbox_db.engine, settings=smtp_server.settings())
    assert counts.step_errors == ["broken"]
    assert (counts.queued, counts.sent) == (1, 1)
    # The broken step's message was rolled back with it; the working one's was sent.
    assert [r.message["To"] for r in smtp_server.received] == ["working@example.org"]


def queue_many_in(session: Session, db: OutboxDatabase, name: str) -> int:
    queued = queue_message(
        session,
        NewMessage(
            clinic_id=db.clinic_id,
            kind="safety_alert",
            channel="email",
            recipient=f"{name}@example.org",
            subject="A patient safety alert needs review",
            body="A patient safety alert needs review. Sign in: https://clinic.example/a/1",
            dedupe_key=f"step:{name}",
            not_before=utcnow() - dt.timedelta(minutes=1),
        ),
    )
    return 0 if queued is None else 1


def _env(db: OutboxDatabase, smtp: SmtpTestServer | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env |= {"OUTCOMES_DATABASE_URL": db.url, "OUTCOMES_WORKER_INTERVAL_SECONDS": "0.2"}
    if smtp is not None:
        env |= {
            "OUTCOMES_MESSAGES_TRANSPORT": "smtp",
            "OUTCOMES_SMTP_HOST": "127.0.0.1",
            "OUTCOMES_SMTP_PORT": str(smtp.port),
            "OUTCOMES_SMTP_STARTTLS": "false",
            "OUTCOMES_SMTP_FROM": "clinic@outcomes.test",
        }
    return env


def test_send_due_sends_once_and_prints_its_counts(
    outbox_db: OutboxDatabase, smtp_server: SmtpTestServer
) -> None:
    queue_many(outbox_db, 3)
    done = subprocess.run(
        [sys.executable, "-m", "data.cli", "send-due"],
        cwd=ROOT,
        env=_env(outbox_db, smtp_server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "sent 3" in done.stdout and "failed 0" in done.stdout
    assert len(smtp_server.received) == 3
    assert "check-in is due" not in done.stdout + done.stderr  # no message body is printed


def test_the_worker_stops_on_sigterm_between_messages(
    outbox_db: OutboxDatabase, smtp_server: SmtpTestServer
) -> None:
    queue_many(outbox_db, 2)
    worker = subprocess.Popen(
        [sys.executable, "-m", "data.cli", "worker"],
        cwd=ROOT,
        env=_env(outbox_db, smtp_server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(smtp_server.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr
    assert "stopped" in stderr
    assert statuses(outbox_db) == Counter({"sent": 2})


# How the worker follows the app does not depend on the database: SQLite only.
@pytest.mark.parametrize("outbox_database", ["sqlite"], indirect=True)
def test_the_apps_worker_stops_when_the_app_stops(
    outbox_db: OutboxDatabase, tmp_path: Path
) -> None:
    """``make run`` starts the worker beside the server; when the server's process ends, so
    does the worker (here the 'app' is a process that starts it and exits at once)."""
    log = tmp_path / "app.log"
    with log.open("w") as stderr:
        # The worker logs to the app's stderr: a file, which the test does not wait on.
        app = subprocess.run(
            [
                sys.executable,
                "-c",
                "from dashboard.launch import start_worker; print(start_worker().pid)",
            ],
            cwd=ROOT,
            env=_env(outbox_db),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=60,
        )
    assert app.returncode == 0, log.read_text()
    child = int(app.stdout.strip())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child), "the worker outlived the app that started it"
    assert "the app that started this worker has stopped" in log.read_text()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
