"""Benchmark of the clinician's worklist page with Streamlit's AppTest (issue 13).

Times the whole script run of the worklist (router, reads, worklist, rows) for a clinician of
an existing clinic database, median of ``--repeat`` runs after one warm-up run, and counts
what the page sends the browser: every element of the rendered tree, and the widgets among
them (buttons, form fields, radios), which the browser must each build and keep in step.

The database must be at the current schema (``data.schema.upgrade``), for example a copy of
the 10,000-patient demo clinic (``outcomes seed-demo --patients 10000``).

Run: ``.venv/bin/python bench/worklist_page.py --url sqlite:////tmp/clinic.db``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
]

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import User

APP = str(_HERE.parent / "dashboard" / "streamlit_app.py")
PAGE = "app_pages/clinician/worklist.py"
WIDGETS = {
    "button",
    "text_input",
    "radio",
    "selectbox",
    "checkbox",
    "form_submit_button",
    "number_input",
    "text_area",
}


def clinician(url: str, username: str) -> Actor:
    engine = make_engine(url)
    with transaction(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        actor = Actor(user.id, user.clinic_id, user.role, user.username)  # type: ignore[arg-type]
    engine.dispose()
    return actor


def element_types(node: Any, counts: Counter[str]) -> None:
    """Count every element below ``node`` by type (blocks and containers included)."""
    counts[str(getattr(node, "type", "?"))] += 1
    for child in getattr(node, "children", {}).values():
        element_types(child, counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", default="demo-clinician")
    parser.add_argument("--scope", choices=("mine", "clinic"), default="mine")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    actor = clinician(args.url, args.user)
    os.environ["OUTCOMES_DATABASE_URL"] = args.url
    app = AppTest.from_file(APP, default_timeout=600)
    app.session_state["actor"] = actor
    app.session_state["signed_in_at"] = dt.datetime.now(dt.UTC)
    app.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    app.session_state["worklist_scope"] = args.scope
    times = []
    for _ in range(args.repeat + 1):
        app.switch_page(PAGE)
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        if app.exception:
            raise RuntimeError(f"worklist failed: {app.exception[0].message}")
    counts: Counter[str] = Counter()
    element_types(app._tree, counts)
    widgets = sum(n for kind, n in counts.items() if kind in WIDGETS)
    median = statistics.median(times[1:]) * 1000
    print(
        f"worklist ({args.scope}) on {args.url}: median {median:.0f} ms"
        f" of {args.repeat} runs (warm-up {times[0] * 1000:.0f} ms); "
        f"{sum(counts.values())} elements, {widgets} widgets"
    )
    print("  " + ", ".join(f"{kind} {n}" for kind, n in counts.most_common(12)))


if __name__ == "__main__":
    main()
