"""What the clinician's patient page costs per run, and what the browser receives (issue 13).

Runs the page in Streamlit's AppTest on a copy of a clinic's database and prints, for a
patient of median history and for the patient with the most assessments: the median wall
time and CPU time of the page script (5 runs after a warm-up), the bytes of every message
the server sends for one run, each figure's JSON bytes, and the number of widgets.

CPU time is the script thread's own (``time.thread_time``): on a busy machine it is the
steadier figure. The browser's own time is measured in ``bench/browser.py``.

Run: ``.venv/bin/python bench/patient_page.py sqlite:////tmp/clinic-copy.db [patient ids]``
(the clinic's sign-in ``demo-clinician``; a copy, since a run writes its audit events).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest, local_script_runner

ROOT = Path(__file__).resolve().parent.parent
# bench/data.py would shadow the data package: the repository comes first.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or os.getcwd()).resolve() != ROOT)]

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import Assessment, User

APP = str(ROOT / "dashboard" / "streamlit_app.py")
PAGE = "app_pages/clinician/patient.py"

_sent: list[int] = []
_cpu: list[float] = []


def _count_messages() -> None:
    """Record the bytes of each run's messages and the script thread's CPU time."""
    parse = local_script_runner.parse_tree_from_messages
    run_script = script_runner.ScriptRunner._run_script

    def counted(messages: list[Any]) -> Any:
        _sent.append(sum(message.ByteSize() for message in messages))
        return parse(messages)

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return run_script(self, *args, **kwargs)
        finally:
            _cpu.append(time.thread_time() - started)

    local_script_runner.parse_tree_from_messages = counted  # type: ignore[assignment]
    script_runner.ScriptRunner._run_script = timed  # type: ignore[method-assign]


def measure(url: str, actor: Actor, patient_id: int, repeat: int) -> str:
    app = AppTest.from_file(APP, default_timeout=300)
    app.session_state["actor"] = actor
    app.session_state["signed_in_at"] = dt.datetime.now(dt.UTC)
    app.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    app.session_state["selected_patient"] = patient_id
    app.run()
    app.switch_page(PAGE).run()
    if app.exception:
        raise RuntimeError(app.exception[0].message)
    walls, cpus = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        app.run()
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu[-1])
    figures = [len(chart.proto.spec) for chart in app.get("plotly_chart")]
    widgets = len(app._tree.get_widget_states().widgets)
    return (
        f"patient {patient_id}: script {statistics.median(walls) * 1000:.0f} ms wall, "
        f"{statistics.median(cpus) * 1000:.0f} ms CPU; sent {_sent[-1]:,} bytes; "
        f"figures {figures} bytes of JSON; {widgets} widgets"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("patients", nargs="*", type=int)
    parser.add_argument("--clinician", default="demo-clinician")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["OUTCOMES_DATABASE_URL"] = args.url
    engine = make_engine(args.url)
    with transaction(engine) as session:
        user = session.scalars(select(User).where(User.username == args.clinician)).one()
        actor = Actor(user.id, user.clinic_id, user.role, user.username)  # type: ignore[arg-type]
        counts = session.execute(
            select(Assessment.patient_id, func.count())
            .group_by(Assessment.patient_id)
            .order_by(func.count(), Assessment.patient_id)
        ).all()
    engine.dispose()
    patients = args.patients or [int(counts[len(counts) // 2][0]), int(counts[-1][0])]
    _count_messages()
    for patient_id in patients:
        print(measure(args.url, actor, patient_id, args.repeat), flush=True)


if __name__ == "__main__":
    main()
