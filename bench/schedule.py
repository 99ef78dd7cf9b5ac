"""The measurement schedule's costs (issue 14): a check-in's window check, and reminders.

* ``--checkins N``: one thread submits N PHQ-9 check-ins through
  :func:`data.checkin.submit_checkin` (each in its own write transaction, as the page does)
  for ``--patients`` patients in turn, each with one infusion long ago and the clinic's
  schedule a weekly maintenance point (so that forms dated a week apart are one per window on
  the weekly cadence and on the schedule alike: the same script runs on the code before
  issue 14). Reports the median and p95 of a submit, in ms.
* ``--due-patients N``: a clinic of N patients, each with six infusions (some booked ahead)
  and a few check-ins, and times :func:`data.schedule.due_checkins` (what the reminders step
  reads: every patient's window open now), median of ``--repeat`` runs. Target < 5 s for
  10,000 patients.

Run: ``.venv/bin/python bench/schedule.py --checkins 400 --backend sqlite``,
``.venv/bin/python bench/schedule.py --due-patients 10000 --backend both``
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

from load_harness import create_clinic, loopback_postgres, postgres_database
from sqlalchemy import insert

from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.models import Assessment, Clinic, Infusion, Patient
from data.notify.models import MeasurementSchedule, PlannedInfusion
from data.schema import upgrade

WEEKLY = [{"kind": "maintenance", "instruments": ["phq9"], "every_days": 7}]


def bench_checkins(url: str, *, checkins: int, patients: int) -> tuple[float, float]:
    engine = make_engine(url)
    actors = create_clinic(engine, patients)
    now = dt.datetime.now(dt.UTC)
    with transaction(engine, write=True) as session:
        clinic_id = actors[0].clinic_id
        session.add(
            MeasurementSchedule(
                clinic_id=clinic_id, protocol="", induction_infusions=1, points=WEEKLY
            )
        )
        for actor in actors:
            session.add(
                Infusion(
                    clinic_id=clinic_id,
                    patient_id=actor.patient_id,
                    administered_at=now - dt.timedelta(days=7 * (checkins // patients + 10)),
                    route="iv",
                )
            )
    seconds: list[float] = []
    for n in range(checkins):
        actor = actors[n % patients]
        week = n // patients
        started = time.perf_counter()
        with transaction(engine, write=True) as session:
            submit_checkin(
                session,
                actor=actor,
                patient_id=actor.patient_id or 0,
                instrument="phq9",
                answers={f"phq9_{i}": (n + i) % 3 for i in range(1, 9)} | {"phq9_9": 0},
                administered_at=now - dt.timedelta(days=7 * week),
                idempotency_key=uuid.uuid4().hex,
            )
        seconds.append(time.perf_counter() - started)
    engine.dispose()
    ordered = sorted(seconds)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * len(ordered))] * 1000


def build_big_clinic(url: str, patients: int) -> int:
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name=f"Schedule {uuid.uuid4().hex[:6]}")
        session.add(clinic)
        session.flush()
        clinic_id = clinic.id
        session.execute(
            insert(Patient),
            [
                {"clinic_id": clinic_id, "external_id": f"S-{n}", "name": f"Patient {n}"}
                for n in range(patients)
            ],
        )
        ids = list(
            session.scalars(
                Patient.__table__.select()
                .with_only_columns(Patient.id)
                .where(Patient.clinic_id == clinic_id)
            )
        )
        infusions, planned, scores = [], [], []
        for n, patient_id in enumerate(ids):
            # Courses started on different days over the last 200 days, twice a week.
            start = now - dt.timedelta(days=n % 200, hours=n % 9)
            for k in range(6):
                at = start + dt.timedelta(days=3 * k + (k // 2))
                row = {"clinic_id": clinic_id, "patient_id": patient_id}
                if at < now:
                    infusions.append(row | {"administered_at": at, "route": "iv"})
                else:
                    planned.append(row | {"planned_at": at})
            for days in (1, 5, 12):
                scores.append(
                    {
                        "clinic_id": clinic_id,
                        "patient_id": patient_id,
                        "instrument": "phq9",
                        "administered_at": start - dt.timedelta(days=days),
                        "source": "checkin",
                        "answers": {},
                        "total": 10,
                        "valid": True,
                        "scoring_version": "bench",
                    }
                )
        for model, rows in (
            (Infusion, infusions),
            (PlannedInfusion, planned),
            (Assessment, scores),
        ):
            for done in range(0, len(rows), 5000):
                session.execute(insert(model), rows[done : done + 5000])
    engine.dispose()
    return clinic_id


def bench_due(url: str, *, patients: int, repeat: int) -> tuple[float, int]:
    from data.schedule import due_checkins  # the code since issue 14 only

    clinic_id = build_big_clinic(url, patients)
    engine = make_engine(url)
    actor = Actor.system(clinic_id, "bench")
    timings: list[float] = []
    found = 0
    for _ in range(repeat):
        with transaction(engine, write=True) as session:
            started = time.perf_counter()
            found = len(due_checkins(session, actor=actor, at=dt.datetime.now(dt.UTC)))
            timings.append(time.perf_counter() - started)
    engine.dispose()
    return statistics.median(timings), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=0)
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--due-patients", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                urls = iter(f"sqlite:///{folder}/bench-{n}.db" for n in range(2))
                run(args, backend, urls)
            else:
                with loopback_postgres(None, "schedule") as server:
                    urls = iter(
                        postgres_database(server, f"bench_{n}_{uuid.uuid4().hex[:6]}")
                        for n in range(2)
                    )
                    run(args, backend, urls)


def run(args: argparse.Namespace, backend: str, urls: object) -> None:
    assert hasattr(urls, "__next__")
    if args.checkins:
        median, p95 = bench_checkins(next(urls), checkins=args.checkins, patients=args.patients)
        print(f"{backend}: {args.checkins} check-ins, median {median:.2f} ms, p95 {p95:.2f} ms")
    if args.due_patients:
        seconds, found = bench_due(next(urls), patients=args.due_patients, repeat=args.repeat)
        print(
            f"{backend}: due_checkins over {args.due_patients} patients: {seconds:.2f} s "
            f"(median of {args.repeat}), {found} with a window open"
        )


if __name__ == "__main__":
    main()
