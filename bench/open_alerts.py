"""The worklist's alert page in a clinic with many open alerts: one page of 20, most urgent
first, against reading every open alert.

    .venv/bin/python -P bench/open_alerts.py [database-url] [open-alerts]

(``-P``: bench/data.py would otherwise hide the data package.)

Builds (in a temporary SQLite file by default) a clinic whose patients each have one PHQ-9
with item 9 answered 1-3 and an open alert, then times ``open_alerts`` paged and unpaged.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import Assessment, Clinic, Patient, SafetyAlert, User
from data.records.alert_review import open_alerts
from data.schema import upgrade


def build(url: str, count: int) -> Actor:
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Bench clinic")
        session.add(clinic)
        session.flush()
        user = User(
            clinic_id=clinic.id,
            username="bench-clinician",
            display_name="Bench Clinician",
            role="clinician",
            password_hash="x",
        )
        session.add(user)
        session.flush()
        session.execute(
            insert(Patient),
            [
                {
                    "clinic_id": clinic.id,
                    "external_id": f"ALERT-{n:06d}",
                    "name": f"Patient {n}",
                    "date_of_birth": dt.date(1980, 1, 1) + dt.timedelta(days=n % 9000),
                }
                for n in range(count)
            ],
        )
        patient_ids = list(session.scalars(select(Patient.id).order_by(Patient.id)))
        session.execute(
            insert(Assessment),
            [
                {
                    "clinic_id": clinic.id,
                    "patient_id": pid,
                    "instrument": "phq9",
                    "administered_at": now - dt.timedelta(minutes=n),
                    "source": "patient",
                    "answers": {f"phq9_{i}": 1 for i in range(1, 9)} | {"phq9_9": 1 + n % 3},
                    "total": 9 + n % 3,
                    "severity": "mild",
                    "flags": ["phq9_item9_positive"],
                    "valid": True,
                    "scoring_version": "bench",
                    "created_at": now,
                }
                for n, pid in enumerate(patient_ids)
            ],
        )
        rows = session.execute(select(Assessment.id, Assessment.patient_id)).all()
        session.execute(
            insert(SafetyAlert),
            [
                {
                    "clinic_id": clinic.id,
                    "patient_id": row.patient_id,
                    "assessment_id": row.id,
                    "kind": "phq9_item9_positive",
                    "created_at": now - dt.timedelta(minutes=n),
                }
                for n, row in enumerate(rows)
            ],
        )
        actor = Actor(user.id, clinic.id, "clinician", "bench-clinician")
    engine.dispose()
    return actor


def main() -> None:
    default = f"sqlite:///{Path(tempfile.mkdtemp()) / 'alerts.db'}"
    url = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else default
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    actor = build(url, count)
    engine = make_engine(url)
    for label, limit in (("one page of 20", 20), ("every open alert", None)):
        best = float("inf")
        for _ in range(5):
            with transaction(engine) as session:
                started = time.perf_counter()
                frame = open_alerts(session, actor=actor, limit=limit)
                best = min(best, time.perf_counter() - started)
        print(
            f"{count} open alerts, {label}: {len(frame)} rows in {best * 1000:.1f} ms (best of 5)"
        )
    engine.dispose()


if __name__ == "__main__":
    main()
