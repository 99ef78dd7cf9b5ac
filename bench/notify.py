"""Benchmark of sending (issue 14): 1,000 e-mails from the outbox to a local SMTP server.

Queues 1,000 reminder e-mails in a fresh database (SQLite by default, or ``--database-url``
for an empty PostgreSQL database), starts an aiosmtpd server on 127.0.0.1 (in a process of
its own) that accepts and counts them, and times one worker's
:func:`data.notify.worker.send_due` over SMTP (no STARTTLS) until all are sent: each
message claimed, sent and marked in its own transaction, as in production. Repeated
``--runs`` times (a fresh batch each), the median is printed in messages per second, beside
the machine's load average.

Target: at least 50 messages/s.

Run: ``.venv/bin/python bench/notify.py [--messages 1000] [--runs 3] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),  # the repository: its data package comes before bench/data.py
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from data.engine import make_engine, transaction
from data.models import Clinic, utcnow
from data.notify.queue import NewMessage, queue_message
from data.notify.worker import send_due
from data.schema import upgrade
from data.settings import Settings


class Counting:
    """An SMTP handler that accepts every message and counts it."""

    def __init__(self, count: Synchronized[int]) -> None:
        self.count = count

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def serve(port: int, count: Synchronized[int], ready: EventType, stop: EventType) -> None:
    """The SMTP server, in a process of its own (as a real one is): it does not compete with
    the worker for this process's interpreter lock."""
    controller = Controller(Counting(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def queue_batch(engine: object, clinic_id: int, run: int, messages: int) -> None:
    due = utcnow() - dt.timedelta(minutes=1)
    with transaction(engine, write=True) as session:  # type: ignore[arg-type]
        for n in range(messages):
            queue_message(
                session,
                NewMessage(
                    clinic_id=clinic_id,
                    kind="checkin_reminder",
                    channel="email",
                    recipient=f"patient{n}@example.org",
                    subject="Your check-in with the bench clinic is due",
                    body="Your check-in is due: https://clinic.example/c/abcdefgh\n",
                    dedupe_key=f"bench:{run}:{n}",
                    not_before=due,
                ),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinic = Clinic(name=f"Bench clinic {os.getpid()}")
            session.add(clinic)
            session.flush()
            clinic_id = clinic.id
        port = free_port()
        count: Synchronized[int] = multiprocessing.Value("i", 0)
        ready, stop = multiprocessing.Event(), multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(port, count, ready, stop))
        server.start()
        if not ready.wait(30):
            raise SystemExit("the SMTP server did not start")
        settings = Settings(
            messages_transport="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            smtp_from="clinic@outcomes.test",
        )
        rates = []
        try:
            for run in range(args.runs):
                queue_batch(engine, clinic_id, run, args.messages)
                before = count.value
                started = time.perf_counter()
                counts = send_due(engine, settings=settings)
                elapsed = time.perf_counter() - started
                received = count.value - before
                if counts.sent != args.messages or received != args.messages:
                    raise SystemExit(f"run {run}: sent {counts.sent}, received {received}")
                rates.append(args.messages / elapsed)
                print(f"run {run + 1}: {args.messages} e-mails in {elapsed:.2f} s")
        finally:
            stop.set()
            server.join(30)
            engine.dispose()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{backend}: median {statistics.median(rates):.0f} messages/s over {args.runs} runs "
        f"(target >= 50); load average {load}"
    )


if __name__ == "__main__":
    main()
