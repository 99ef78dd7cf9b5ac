"""The administrator's outcomes page in AppTest, with Streamlit's cache cold and warm (issue 13).

For each database URL: migrate it (``data.schema.upgrade``, which builds any missing course
state), then time the whole script run of the outcomes page as the given administrator,
median of ``--repeat`` runs after one warm-up run, twice: with every cache cleared before
each run (the first visitor after a write) and without (every later visitor and rerun).

Run: ``.venv/bin/python bench/outcomes_page.py sqlite:////tmp/demo.db --admin demo-admin``, and
for bench/bigclinic.py's clinic ``--admin bench-admin --first-from 2025-01-01``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

# bench/data.py would shadow the data package: bench's own modules are looked up last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [
    str(_HERE.parent),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE),
]

import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data.access import Actor
from data.engine import make_engine, transaction
from data.models import User
from data.schema import upgrade

APP = str(_HERE.parent / "dashboard" / "streamlit_app.py")
PAGE = "app_pages/admin/outcomes.py"


def admin_actor(url: str, username: str) -> Actor:
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        actor = Actor(user.id, user.clinic_id, "administrator", user.username)
    engine.dispose()
    return actor


def time_page(
    url: str, actor: Actor, repeat: int, *, cold: bool, first_from: dt.date | None
) -> float:
    os.environ["OUTCOMES_DATABASE_URL"] = url
    app = AppTest.from_file(APP, default_timeout=600)
    app.session_state["actor"] = actor
    app.session_state["signed_in_at"] = dt.datetime.now(dt.UTC)
    app.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    app.run()
    if first_from is not None:
        # The page's period filter defaults to the last 18 months: widen it to the clinic's.
        app.switch_page(PAGE).run()
        app.date_input[0].set_value((first_from, dt.date.today())).run()
    times = []
    for _ in range(repeat + 1):
        if cold:
            st.cache_data.clear()
        app.switch_page(PAGE)
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        if app.exception:
            raise RuntimeError(f"{PAGE} failed: {app.exception[0].message}")
        if app.info and "Fewer than 5 patients" in str(app.info[0].value):
            raise RuntimeError("no patient matches the page's filters: see --first-from")
    return statistics.median(times[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--admin", default="demo-admin")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--first-from",
        type=dt.date.fromisoformat,
        help="first day of the page's period filter (bench/bigclinic.py starts 2025-01-06)",
    )
    args = parser.parse_args()
    for url in args.urls:
        actor = admin_actor(url, args.admin)
        for cold in (True, False):
            took = time_page(url, actor, args.repeat, cold=cold, first_from=args.first_from)
            label = "cache cleared" if cold else "cache warm"
            print(f"{url:<48} {label:<14} {took:8.0f} ms", flush=True)


if __name__ == "__main__":
    main()
