"""The patient header's words fit their place, in Chromium: only a browser lays text out.

Issue 11: the status metric was cut off ("not yet respon…"). A metric's value is large type
that Streamlit cuts at its column's edge with an ellipsis, so this renders the header
(:func:`dashboard.patient_view.course_summary.show_course_summary`) beside a sidebar, as the
app shows it, for the longest status words, and checks that no value, label or delta is
wider than its box.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from outcomes.status import STATUS_LABELS
from tests.test_dashboard.test_browser import ROOT, _free_port

pytestmark = pytest.mark.browser

HEADER = """
import datetime as dt

import streamlit as st

from dashboard.patient_view.course_summary import show_course_summary
from data.clinic import ClinicConfig
from outcomes.rules import DEFAULT_RULES

st.set_page_config(layout="wide")
st.sidebar.write("Worklist")
course = {
    "baseline_total": 27, "latest_total": 27, "status": st.query_params["status"],
    "days_to_response": 140, "infusions_to_response": 12, "durable_response_days": 365,
    "censored": True, "latest_date": dt.date.today(), "losing_response": False,
}
show_course_summary(course, ClinicConfig(1, ("phq9",), 7, "", DEFAULT_RULES))
"""
LONGEST = sorted(STATUS_LABELS, key=lambda s: len(STATUS_LABELS[s]))[-3:]


@pytest.fixture(scope="module")
def header_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    script = tmp_path_factory.mktemp("header") / "header.py"
    script.write_text(HEADER)
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


OVERFLOWING = """() => [...document.querySelectorAll(
    '[data-testid="stMetricValue"] div, [data-testid="stMetricLabel"] p,'
    + ' [data-testid="stMetricDelta"] div')]
    .filter(e => e.scrollWidth > e.clientWidth).map(e => e.innerText)"""


@pytest.mark.parametrize("width", [1024, 390])
def test_the_status_and_the_figures_fit_beside_the_menu(
    browser: object, header_server: str, width: int
) -> None:
    for status in LONGEST:
        page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
        page.goto(f"{header_server}/?status={status}")
        page.get_by_text(STATUS_LABELS[status], exact=True).wait_for(timeout=30_000)
        page.wait_for_timeout(500)  # the columns settle after the first paint
        assert page.evaluate(OVERFLOWING) == [], (width, status)
        page.close()
