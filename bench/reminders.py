"""Computing due reminders for a 10,000-patient clinic (issue 14: target under 5 s).

Builds the clinic of ``bench/schedule.py --due-patients`` (each patient six infusions twice a
week from a start in the last 200 days, some booked ahead, and three earlier check-ins),
gives every patient an e-mail address and a phone number (the worst case: two messages and
two links per due patient), switches reminders on with no quiet hours (so the figure does
not depend on the hour it runs at), then times :func:`data.notify.reminders.
queue_due_reminders` as a worker pass runs it (its own write transaction, committed):

* the first pass, which queues every due reminder (``due_checkins``, the addresses,
  a check-in link and an opt-out link per patient, the wording, the outbox rows);
* a second pass at the same moment, which queues nothing (the keys are queued already).

Each is the median of ``--repeat`` rounds; between rounds the clinic's messages and links
are deleted, so each first pass starts from an empty outbox. ``--profile`` also times
``due_checkins`` alone, to say where the time goes.

Run: ``.venv/bin/python bench/reminders.py`` (SQLite; ``--backend postgres`` or ``both``
starts a throwaway PostgreSQL server on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from load_harness import loopback_postgres, postgres_database
from schedule import build_big_clinic
from sqlalchemy import bindparam, delete, func, select, update

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import ClinicSettings, Patient
from data.notify.models import AccessLink, OutboxMessage
from data.notify.reminders import queue_due_reminders
from data.schedule import due_checkins

TARGET_SECONDS = 5.0


def prepare(url: str, patients: int) -> int:
    """The big clinic, every patient reachable by e-mail and text, reminders on."""
    clinic_id = build_big_clinic(url, patients)
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        table = Patient.__table__
        ids = session.scalars(select(Patient.id).where(Patient.clinic_id == clinic_id)).all()
        session.execute(
            update(table)
            .where(table.c.id == bindparam("pid"))
            .values(email=bindparam("address"), phone=bindparam("number")),
            [
                # Valid US numbers: 202-555-0000 to 202-555-9999.
                {
                    "pid": i,
                    "address": f"patient{i}@patients.example",
                    "number": f"+1202555{i % 10_000:04d}",
                }
                for i in ids
            ],
        )
        session.add(
            ClinicSettings(
                clinic_id=clinic_id,
                reminders_on_since=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
                quiet_hours_start="00:00",
                quiet_hours_end="00:00",  # none: the figure must not depend on the hour
            )
        )
    engine.dispose()
    return clinic_id


def timed_pass(url: str, now: dt.datetime) -> tuple[float, int]:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with transaction(engine, write=True) as session:
            queued = queue_due_reminders(session, now)
        return time.perf_counter() - started, queued
    finally:
        engine.dispose()


def forget_messages(url: str, clinic_id: int) -> None:
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        session.execute(delete(OutboxMessage).where(OutboxMessage.clinic_id == clinic_id))
        session.execute(delete(AccessLink).where(AccessLink.clinic_id == clinic_id))
    engine.dispose()


def due_only(url: str, clinic_id: int, now: dt.datetime) -> tuple[float, int]:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with transaction(engine, write=True) as session:
            found = due_checkins(session, actor=Actor.system(clinic_id, "bench"), at=now)
        return time.perf_counter() - started, len(found)
    finally:
        engine.dispose()


def run(url: str, backend: str, *, patients: int, repeat: int, profile: bool) -> None:
    clinic_id = prepare(url, patients)
    first: list[float] = []
    second: list[float] = []
    queued = again = 0
    for _ in range(repeat):
        forget_messages(url, clinic_id)
        now = dt.datetime.now(dt.UTC)
        seconds, queued = timed_pass(url, now)
        first.append(seconds)
        seconds, again = timed_pass(url, now)
        second.append(seconds)
    with transaction(make_engine(url)) as session:
        messages = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.clinic_id == clinic_id)
        )
    median = statistics.median(first)
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(
        f"{backend}: reminders for {patients} patients: first pass {median:.2f} s "
        f"(median of {repeat}: {', '.join(f'{s:.2f}' for s in first)}), queued {queued} "
        f"messages ({messages} in the outbox); second pass {statistics.median(second):.2f} s, "
        f"queued {again}; {verdict} the target of {TARGET_SECONDS:.0f} s"
    )
    if profile:
        seconds, found = due_only(url, clinic_id, dt.datetime.now(dt.UTC))
        print(f"{backend}: of which due_checkins alone: {seconds:.2f} s ({found} due)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="also time due_checkins alone")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    options = {"patients": args.patients, "repeat": args.repeat, "profile": args.profile}
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                run(f"sqlite:///{folder}/reminders.db", backend, **options)
            else:
                with loopback_postgres(None, "reminders") as server:
                    url = postgres_database(server, f"reminders_{uuid.uuid4().hex[:6]}")
                    run(url, backend, **options)


if __name__ == "__main__":
    main()
