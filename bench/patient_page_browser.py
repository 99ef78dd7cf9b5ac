"""The clinician's patient page in Debian's Chromium, on a copy of a clinic (issue 13).

Signs in as demo-clinician and chooses the patient with MRN ``MRN``; then six times: opens
the worklist, opens the patient page from the menu (the patient still chosen) and times until
both figures are drawn and the script has stopped, and reruns the page by switching its time
axis twice. Prints the medians, the first round left out as a warm-up.

Run: ``.venv/bin/python bench/patient_page_browser.py REPO DATABASE_FILE MRN``, e.g.
``.venv/bin/python bench/patient_page_browser.py . /tmp/demo.db DEMO-0001``. ``REPO`` is the
checkout whose app is served, so that two versions can be timed on one clinic.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
STOPPED = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def serve(repo: Path, database: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The app of ``repo`` on a free loopback port, on a copy of ``database``."""
    work = Path(tempfile.mkdtemp(prefix="patient-page-"))
    shutil.copy(database, work / "clinic.db")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "OUTCOMES_DATABASE_URL": f"sqlite:///{work / 'clinic.db'}",
        "PYTHONPATH": str(repo),
    }
    with (work / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(repo / "dashboard" / "server.py"),
                "--server.address=127.0.0.1",
                f"--server.port={port}",
                "--server.headless=true",
                "--browser.gatherUsageStats=false",
                "--server.fileWatcherType=none",
            ],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                return server, base
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("the server did not start")


def journeys(page: Any, base: str, mrn: str) -> tuple[list[float], list[float]]:
    page.goto(base)
    page.get_by_role("textbox", name="Username").fill("demo-clinician")
    page.get_by_role("textbox", name="Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_role("link", name="Patient", exact=True).click()
    search = page.get_by_role("textbox", name="Find a patient (name or MRN)")
    search.fill(mrn)
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_role("combobox").first.click()
    page.get_by_role("option").first.click()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    search.fill("")
    page.keyboard.press("Enter")
    page.wait_for_timeout(2000)
    opens: list[float] = []
    reruns: list[float] = []
    for _ in range(6):
        page.get_by_role("link", name="Worklist", exact=True).click()
        page.get_by_role("heading", name="Worklist").wait_for()
        page.wait_for_function(STOPPED)
        page.wait_for_timeout(500)
        started = time.perf_counter()
        page.get_by_role("link", name="Patient", exact=True).click()
        page.locator(".js-plotly-plot").nth(1).wait_for(state="visible")
        page.wait_for_function(STOPPED)
        opens.append(time.perf_counter() - started)
        for label in ("days since first infusion", "calendar dates"):
            started = time.perf_counter()
            page.get_by_text(label, exact=True).first.click()
            page.wait_for_timeout(50)
            page.wait_for_function(STOPPED)
            page.locator(".js-plotly-plot").nth(1).wait_for(state="visible")
            reruns.append(time.perf_counter() - started)
    return opens, reruns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("database", type=Path)
    parser.add_argument("mrn")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server, base = serve(args.repo.resolve(), args.database)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(120_000)
            opens, reruns = journeys(page, base, args.mrn)
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
    print(f"open the patient page: median {statistics.median(opens[1:]):.2f} s")
    print(f"rerun it (time axis): median {statistics.median(reruns[2:]):.2f} s")


if __name__ == "__main__":
    main()
