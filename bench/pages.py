"""Benchmark of the app's pages with Streamlit's AppTest (issue #4).

Times the clinician's patient view, the worklist and the administrator's outcomes page (the
whole script run: router, data reads, library, charts) on the demo clinic and on a clinic of
10,000 patients and 1,000,000 assessments (``bench/bigclinic.py``, shared with
``bench/data.py``). Median of ``--repeat`` runs after one warm-up run.

Targets: patient view < 300 ms and <= 1.3x its demo-clinic time; outcomes page < 2 s.

Run: ``.venv/bin/python bench/pages.py``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),  # the repository: its data package comes before this file
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
    str(_HERE),
]

from bigclinic import build

from data.access import Actor
from data.bootstrap import prepare
from data.engine import make_engine, transaction
from data.models import Assessment, Patient, User

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "streamlit_app.py")
PAGES = {
    "patient view": "app_pages/clinician/patient.py",
    "worklist": "app_pages/clinician/worklist.py",
    "outcomes": "app_pages/admin/outcomes.py",
}


def actors(url: str, clinician: str, admin: str) -> tuple[Actor, Actor, int]:
    engine = make_engine(url)
    with transaction(engine) as session:
        staff = {}
        for username in (clinician, admin):
            user = session.scalars(select(User).where(User.username == username)).one()
            staff[username] = Actor(user.id, user.clinic_id, user.role, user.username)  # type: ignore[arg-type]
        # a patient with a typical history: the one with the median number of assessments
        patient_id = session.scalar(
            select(Patient.id)
            .join(Assessment, Assessment.patient_id == Patient.id)
            .group_by(Patient.id)
            .order_by(Patient.id)
            .limit(1)
            .offset(10)
        )
    engine.dispose()
    return staff[clinician], staff[admin], int(patient_id or 0)


def time_page(url: str, actor: Actor, page: str, patient_id: int, repeat: int) -> float:
    os.environ["OUTCOMES_DATABASE_URL"] = url
    app = AppTest.from_file(APP, default_timeout=300)
    app.session_state["actor"] = actor
    app.session_state["signed_in_at"] = dt.datetime.now(dt.UTC)
    app.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    app.session_state["selected_patient"] = patient_id
    app.run()
    times = []
    for _ in range(repeat + 1):
        app.switch_page(page)
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        if app.exception:
            raise RuntimeError(f"{page} failed: {app.exception[0].message}")
    return statistics.median(times[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "outcomes-bench"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    demo_url = f"sqlite:///{args.workdir / 'demo.db'}"
    engine = make_engine(demo_url)
    prepare(engine)
    engine.dispose()
    big_url = f"sqlite:///{args.workdir / 'big.db'}"
    build(big_url)
    clinics = {
        "demo clinic": (demo_url, "demo-clinician", "demo-admin"),
        "10k patients / 1M assessments": (big_url, "bench-clinician", "bench-admin"),
    }
    results: dict[str, dict[str, float]] = {}
    for name, (url, clinician_name, admin_name) in clinics.items():
        clinician, admin, patient_id = actors(url, clinician_name, admin_name)
        results[name] = {}
        for label, page in PAGES.items():
            actor = admin if label == "outcomes" else clinician
            results[name][label] = time_page(url, actor, page, patient_id, args.repeat)
            print(f"{name:<32} {label:<14} {results[name][label]:8.0f} ms", flush=True)
    demo, big = results["demo clinic"], results["10k patients / 1M assessments"]
    ratio = big["patient view"] / demo["patient view"]
    print(f"patient view ratio big/demo: {ratio:.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"pages_ms": results, "patient_view_ratio": ratio}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
