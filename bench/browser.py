"""Browser benchmark (issue 13): what people wait for, timed in real Chromium.

Starts the app as ``make run`` serves it (``streamlit run dashboard/server.py``) against
``--database-url`` on a free loopback port, drives Debian's Chromium (headless, Playwright's
sync API) and times each journey from the click to a *usable* page: the page's own heading
and content on screen, every Plotly chart in view drawn, and Streamlit idle (the script not
running, no "Running..." status widget, no faded element of an earlier run left over).

Journeys (``--journeys``, all by default):

``clinician-signin``
    a clinician presses "Sign in" -> the worklist usable.
``open-patient``
    on the worklist, the first "Open" (or "Open patient") -> that patient's page usable.
``admin-signin``
    an administrator presses "Sign in" -> the outcomes page usable, every chart drawn.
``checkin-submit``
    a patient presses "Submit check-in" -> the confirmation shown.
``my-progress``
    a signed-in patient chooses "My progress" -> the page usable, its charts drawn.

Times are taken by the page's own clock, from the click event to the moment the page first
looks usable (checked every 20 ms in the page). Each journey runs once to warm up (imports,
caches, the browser's own cache of Streamlit's scripts), then ``--repeat`` times; the
median, minimum and maximum of the repeats are reported as a Markdown table, and with
``--json`` written to a file. A page that never becomes usable (a heading or text renamed)
stops the run with what it still misses (the constants ``WORKLIST``, ``PATIENT``, ... below
say what each page must show).

Sign-ins: the demo clinic's (``demo-clinician``, ``demo-admin``, ``demo-patient``, password
``demo``), or the big clinic's (``bench-clinician``, ``bench-admin``, ``bench-patient``, password
``bench``: :mod:`bigclinic`), whichever the database holds.

A check-in is refused when the patient already has one in the window (issue 12). So each run
of ``checkin-submit`` signs in as a *different* patient of the clinic: one with a history of
check-ins but none in the last :data:`QUIET_DAYS` days (longer than any window or stretch
between windows), who had no sign-in; the benchmark issues them one
(:func:`data.account_admin.issue_patient_sign_in`, as the care team would). Every timed
submit is thus that patient's real first check-in of the window, on a real history. Their
answers are "Several days" and "Not at all" to item 9, so no safety alert is raised. The
benchmark writes to the database (sign-ins, check-ins, audit rows): run it on a copy.

Run::

    .venv/bin/python bench/browser.py --database-url sqlite:////tmp/demo.db --label "demo 150"

Not part of ``make test``; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path, and bench/data.py would shadow the data
# package: the repository instead, and bench/ not at all (nothing is imported from it).
sys.path[:] = [
    str(ROOT),
    *(p for p in sys.path if Path(p or os.getcwd()).resolve() != ROOT / "bench"),
]

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import func, select

from data.access import Actor
from data.account_admin import issue_patient_sign_in
from data.bootstrap import prepare
from data.engine import make_engine, printable_url, transaction
from data.models import Assessment, Patient, User

CHROMIUM = "/usr/bin/chromium"
# As the browser tests launch it (tests/test_dashboard/conftest.py).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
# A page of a 10,000-patient clinic took 10 s before issue 13; a loaded machine more.
TIMEOUT_MS = 180_000
# Longer than a window plus the stretch around it (weekly cadence, issue 12): a patient with
# no check-in for this long may check in now, once, whatever the clinic's settings.
QUIET_DAYS = 28
# Still usable this long after it first looked usable: a rerun started by the page itself
# (the session cookie's hand-over, a fragment) is waited for, and the later time counts.
SETTLE_MS = 250

# Issue 13's targets, printed beside the table (never asserted anywhere).
TARGET_DEMO_S = 1.0
TARGET_LARGE_S = 1.5

JOURNEYS: dict[str, str] = {
    "clinician-signin": "clinician sign-in → worklist",
    "open-patient": "worklist → a patient's page",
    "admin-signin": "administrator sign-in → outcomes",
    "checkin-submit": "patient check-in submit → confirmation",
    "my-progress": "patient → My progress",
}


@dataclass(frozen=True)
class Usable:
    """What a usable page shows: its title (``h1``), texts on screen, charts drawn."""

    title: str
    texts: tuple[str, ...] = ()
    min_charts: int = 0


SIGN_IN_PAGE = Usable("", texts=("Password",))
WORKLIST = Usable("Worklist", texts=("Needs attention",))
# "Care team:" is the patient header's line under their name (dashboard/patient_view).
PATIENT = Usable("Patient", texts=("Care team:",), min_charts=1)
OUTCOMES = Usable("Outcomes", texts=("Check-in completeness", "By clinician"), min_charts=1)
CHECKIN_FORM = Usable("Weekly check-in", texts=("Submit check-in",))
CHECKIN_DONE = Usable("Weekly check-in", texts=("Thank you. Your answers are saved",))
CHECKIN_PAGE = Usable("Weekly check-in")
PROGRESS = Usable("My progress", min_charts=1)

# The page's clock (performance.now(), never 0) once the page is usable, else false: usable
# is Streamlit connected and idle, no element of an earlier run still shown faded, the title
# and texts on screen, and every visible Plotly chart drawn (its SVG made), at least
# ``minCharts`` of them.
USABLE_JS = """
(want) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  if (want.title) {
    const titles = [...main.querySelectorAll('h1')].map((h) => h.textContent.trim());
    if (!titles.includes(want.title)) return false;
  }
  const text = main.innerText;
  if (!want.texts.every((t) => text.includes(t))) return false;
  const charts = [...main.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .filter((c) => c.getClientRects().length > 0);
  if (charts.length < want.minCharts) return false;
  if (!charts.every((c) => c.querySelector('.js-plotly-plot .main-svg'))) return false;
  return performance.now();
}
"""
# What is still missing on a page that never became usable (for the error message, so
# that a page whose heading or text changed says so).
MISSING_JS = """
(want) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const titles = [...main.querySelectorAll('h1')].map((h) => h.textContent.trim());
  const charts = [...main.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .filter((c) => c.getClientRects().length > 0);
  const drawn = charts.filter((c) => c.querySelector('.js-plotly-plot .main-svg')).length;
  return [
    app ? `script ${app.getAttribute('data-test-script-state')}` : 'no Streamlit app',
    app ? `connection ${app.getAttribute('data-test-connection-state')}` : '',
    document.querySelector('[data-testid="stStatusWidget"]') ? 'status widget shown' : '',
    `${document.querySelectorAll('[data-stale="true"]').length} stale elements`,
    want.title && !titles.includes(want.title) ? `no title ${want.title}: ${titles}` : '',
    ...want.texts.filter((t) => !main.innerText.includes(t)).map((t) => `no text ${t}`),
    `${drawn} of ${charts.length} charts drawn (${want.minCharts} wanted)`,
  ].filter(Boolean).join('; ');
}
"""
# The page each journey ends on.
END_PAGE = {
    "clinician-signin": WORKLIST,
    "open-patient": PATIENT,
    "admin-signin": OUTCOMES,
    "checkin-submit": CHECKIN_DONE,
    "my-progress": PROGRESS,
}


@dataclass(frozen=True)
class Accounts:
    clinician: str
    admin: str
    patient: str
    password: str


KNOWN_ACCOUNTS = (
    Accounts("demo-clinician", "demo-admin", "demo-patient", "demo"),
    # bench/bigclinic.py's sign-ins
    Accounts("bench-clinician", "bench-admin", "bench-patient", "bench"),
)


@dataclass
class Result:
    journey: str
    warmup_s: float
    times_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "title": JOURNEYS[self.journey],
            "warmup_s": round(self.warmup_s, 3),
            "times_s": [round(t, 3) for t in self.times_s],
            "median_s": round(statistics.median(self.times_s), 3),
            "min_s": round(min(self.times_s), 3),
            "max_s": round(max(self.times_s), 3),
            "charts_drawn": CHARTS_DRAWN.get(END_PAGE[self.journey].title),
        }


# ---------------------------------------------------------------------------------------
# The database: accounts, and patients who may check in now


def find_accounts(url: str) -> Accounts:
    """The first of :data:`KNOWN_ACCOUNTS` whose clinician exists in the database."""
    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            names = set(session.scalars(select(User.username)).all())
    finally:
        engine.dispose()
    for accounts in KNOWN_ACCOUNTS:
        if {accounts.clinician, accounts.admin, accounts.patient} <= names:
            return accounts
    raise SystemExit(
        "no known sign-ins in this database: use `outcomes seed-demo` or bench/bigclinic.py"
    )


def checkin_sign_ins(url: str, count: int, *, clinic_of: str) -> list[tuple[str, str]]:
    """Sign-ins (username, temporary password) of ``count`` patients of the clinic of the
    account ``clinic_of`` who may check in now: a history of check-ins but none in the last
    :data:`QUIET_DAYS` days, and no sign-in yet (the most recently active first)."""
    engine = make_engine(url)
    quiet_since = dt.datetime.now(dt.UTC) - dt.timedelta(days=QUIET_DAYS)
    try:
        with transaction(engine, write=True) as session:
            clinic_id = session.scalar(select(User.clinic_id).where(User.username == clinic_of))
            last = func.max(Assessment.administered_at)
            patient_ids = session.scalars(
                select(Patient.id)
                .join(Assessment, Assessment.patient_id == Patient.id)
                .where(Patient.clinic_id == clinic_id, Patient.user_id.is_(None))
                .group_by(Patient.id)
                .having(last < quiet_since)
                .order_by(last.desc(), Patient.id)
                .limit(count)
            ).all()
            if len(patient_ids) < count:
                raise SystemExit(
                    f"only {len(patient_ids)} patients without a sign-in and without a "
                    f"check-in in {QUIET_DAYS} days; {count} needed"
                )
            actor = Actor.system(int(clinic_id or 0), "browser benchmark")
            issued = [
                issue_patient_sign_in(session, actor=actor, patient_id=int(patient_id))
                for patient_id in patient_ids
            ]
    finally:
        engine.dispose()
    return [(sign_in.username, sign_in.temporary_password) for sign_in in issued]


# ---------------------------------------------------------------------------------------
# The app server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def app_server(url: str) -> Iterator[str]:
    """The app as ``make run`` serves it (dashboard/server.py) on a free loopback port;
    yields its base URL. The database is upgraded first, as ``make run`` does."""
    engine = make_engine(url)
    try:
        prepare(engine, seed_demo_if_empty=False)
    finally:
        engine.dispose()
    port = _free_port()
    # A file, not a pipe: a pipe nobody reads fills up and blocks the server mid-page.
    log = Path(tempfile.mkdtemp(prefix="outcomes-bench-server-")) / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "server.py"),
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
        env={**os.environ, "OUTCOMES_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the app did not start; its log: {log}") from None
                time.sleep(0.3)
        yield base
    except BaseException:
        sys.stderr.write(f"the app server's log: {log}\n")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# ---------------------------------------------------------------------------------------
# The browser


def _want(usable: Usable) -> dict[str, Any]:
    return {"title": usable.title, "texts": list(usable.texts), "minCharts": usable.min_charts}


def wait_usable(page: Page, usable: Usable) -> tuple[float, float]:
    """Wait until the page is usable; return when it first was, by this process's
    ``perf_counter`` and by the page's own clock (milliseconds).

    Looked at every 20 ms in the page itself. A page that stops being usable within
    :data:`SETTLE_MS` (a rerun it started itself) is waited for again, and the later time
    counts.
    """
    want = _want(usable)
    for _ in range(10):
        try:
            handle = page.wait_for_function(USABLE_JS, arg=want, polling=20, timeout=TIMEOUT_MS)
        except PlaywrightTimeoutError:
            missing = page.evaluate(MISSING_JS, want)
            shot = Path(tempfile.mkdtemp(prefix="outcomes-bench-")) / "never-usable.png"
            page.screenshot(path=str(shot))
            raise RuntimeError(f"never usable ({usable}): {missing}; screenshot {shot}") from None
        ready = time.perf_counter()
        in_page = float(handle.json_value())
        page.wait_for_timeout(SETTLE_MS)
        if page.evaluate(USABLE_JS, want):
            return ready, in_page
    raise RuntimeError(f"the page {usable.title!r} never settled")


# The page notes the time of the next click (capture phase: before Streamlit sees it).
ARM_CLICK_JS = """
() => {
  window.__benchClicked = null;
  document.addEventListener('click', () => {
    if (window.__benchClicked === null) window.__benchClicked = performance.now();
  }, {capture: true, once: true});
}
"""
# How many runs were timed by the page's clock, and how many by this process's (reported).
CLOCKS = {"page": 0, "process": 0}
SHOTS: Path | None = None  # --screenshots: each timed page as it was when usable
# Plotly charts drawn on each timed page when it was usable (the last run's), by title.
CHARTS_DRAWN: dict[str, int] = {}
COUNT_CHARTS_JS = """
() => document.querySelectorAll(
  '[data-testid="stMain"] [data-testid="stPlotlyChart"] .js-plotly-plot .main-svg:first-of-type'
).length
"""


def timed(page: Page, act: Callable[[], None], usable: Usable) -> float:
    """Seconds from ``act`` (a click or key press) to the page usable.

    By the page's own clock, from the click event itself (Playwright's checks before it
    clicks are not the user's wait), when the page recorded it; else from the call to ``act``.
    """
    page.evaluate(ARM_CLICK_JS)
    started = time.perf_counter()
    act()
    ready, ready_in_page = wait_usable(page, usable)
    clicked = page.evaluate("() => window.__benchClicked")
    if isinstance(clicked, int | float):
        seconds = (ready_in_page - clicked) / 1000
        CLOCKS["page"] += 1
    else:
        seconds = ready - started
        CLOCKS["process"] += 1
    CHARTS_DRAWN[usable.title] = int(page.evaluate(COUNT_CHARTS_JS))
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%H%M%S')}-{usable.title or 'sign-in'}.png".replace(" ", "-")
        page.screenshot(path=str(SHOTS / name), full_page=True)
    return seconds


def new_page(browser: Browser) -> Page:
    # One context per journey: its cookies are cleared between sign-ins, but its HTTP cache
    # is kept, as a returning user's browser keeps Streamlit's scripts.
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def open_sign_in(page: Page, base: str, username: str, password: str) -> None:
    """The sign-in page, fresh (no session cookie), filled in; not yet sent."""
    page.context.clear_cookies()
    page.goto(base)
    wait_usable(page, SIGN_IN_PAGE)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)


def press_sign_in(page: Page) -> Callable[[], None]:
    return lambda: page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, base: str, username: str, password: str, usable: Usable) -> None:
    open_sign_in(page, base, username, password)
    press_sign_in(page)()
    wait_usable(page, usable)


def answer_checkin(page: Page) -> None:
    """Every question "Several days" ("Somewhat difficult" for the last), item 9 "Not at
    all": a moderate check-in that raises no safety alert."""
    groups = page.get_by_role("radiogroup")
    groups.first.wait_for()
    for index in range(groups.count()):
        group = groups.nth(index)
        label = group.get_attribute("aria-label") or ""
        if label.startswith("9. Thoughts that you would be better off dead"):
            answer = "Not at all"
        elif "difficult" in label:
            answer = "Somewhat difficult"
        else:
            answer = "Several days"
        group.get_by_text(answer, exact=True).click()


# ---------------------------------------------------------------------------------------
# The journeys: each returns the times of its runs, the warm-up first


def run_signin(
    browser: Browser, base: str, username: str, password: str, usable: Usable, runs: int
) -> list[float]:
    page = new_page(browser)
    times = []
    for _ in range(runs):
        open_sign_in(page, base, username, password)
        times.append(timed(page, press_sign_in(page), usable))
    page.context.close()
    return times


def run_open_patient(browser: Browser, base: str, accounts: Accounts, runs: int) -> list[float]:
    page = new_page(browser)
    sign_in(page, base, accounts.clinician, accounts.password, WORKLIST)
    times = []
    for _ in range(runs):
        # The first patient listed: a row's "Open", else an alert card's "Open patient".
        button = (
            page.get_by_role("button", name="Open", exact=True)
            .or_(page.get_by_role("button", name="Open patient", exact=True))
            .first
        )
        times.append(timed(page, button.click, PATIENT))
        page.get_by_role("link", name="Worklist").click()
        wait_usable(page, WORKLIST)
    page.context.close()
    return times


def run_checkin(browser: Browser, base: str, sign_ins: Sequence[tuple[str, str]]) -> list[float]:
    page = new_page(browser)
    times = []
    for username, password in sign_ins:
        sign_in(page, base, username, password, CHECKIN_FORM)
        answer_checkin(page)
        wait_usable(page, CHECKIN_FORM)
        submit = page.get_by_role("button", name="Submit check-in")
        times.append(timed(page, submit.click, CHECKIN_DONE))
    page.context.close()
    return times


def run_my_progress(browser: Browser, base: str, accounts: Accounts, runs: int) -> list[float]:
    page = new_page(browser)
    sign_in(page, base, accounts.patient, accounts.password, CHECKIN_PAGE)
    times = []
    for _ in range(runs):
        link = page.get_by_role("link", name="My progress")
        times.append(timed(page, link.click, PROGRESS))
        page.get_by_role("link", name="Check-in").click()
        wait_usable(page, CHECKIN_PAGE)
    page.context.close()
    return times


def run_journey(
    journey: str, browser: Browser, base: str, accounts: Accounts, url: str, runs: int
) -> list[float]:
    if journey == "clinician-signin":
        return run_signin(browser, base, accounts.clinician, accounts.password, WORKLIST, runs)
    if journey == "open-patient":
        return run_open_patient(browser, base, accounts, runs)
    if journey == "admin-signin":
        return run_signin(browser, base, accounts.admin, accounts.password, OUTCOMES, runs)
    if journey == "checkin-submit":
        return run_checkin(browser, base, checkin_sign_ins(url, runs, clinic_of=accounts.admin))
    if journey == "my-progress":
        return run_my_progress(browser, base, accounts, runs)
    raise ValueError(journey)


# ---------------------------------------------------------------------------------------
# Report


def markdown_table(label: str, results: Sequence[Result]) -> str:
    lines = ["| journey | clinic | median s | min | max |", "|---|---|---|---|---|"]
    for result in results:
        s = result.summary()
        lines.append(
            f"| {s['title']} | {label} | {s['median_s']:.2f} | {s['min_s']:.2f} | "
            f"{s['max_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", required=True, help="the clinic to time (it is written to: a copy)"
    )
    parser.add_argument("--label", default="", help='the clinic in the table, e.g. "demo 150"')
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument(
        "--journeys", nargs="+", choices=list(JOURNEYS), default=list(JOURNEYS), metavar="J"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--screenshots", type=Path, help="save each timed page, as it was when usable, here"
    )
    args = parser.parse_args(argv)
    global SHOTS
    SHOTS = args.screenshots
    if args.repeat < 1:
        parser.error("--repeat needs at least 1")
    url: str = args.database_url
    label: str = args.label or printable_url(url)
    accounts = find_accounts(url)
    load_before = os.getloadavg()
    started = dt.datetime.now(dt.UTC)
    results: list[Result] = []
    with app_server(url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for journey in args.journeys:
                times = run_journey(journey, browser, base, accounts, url, args.repeat + 1)
                result = Result(journey, warmup_s=times[0], times_s=times[1:])
                results.append(result)
                s = result.summary()
                sys.stderr.write(
                    f"{label}: {s['title']}: median {s['median_s']:.2f} s "
                    f"(runs {', '.join(f'{t:.2f}' for t in result.times_s)}; "
                    f"warm-up {result.warmup_s:.2f}; {s['charts_drawn']} charts drawn)\n"
                )
        finally:
            browser.close()
    load_after = os.getloadavg()
    cores = os.cpu_count()
    print(markdown_table(label, results))
    print(
        f"\n{args.repeat} runs after a warm-up, {started:%Y-%m-%d %H:%M} UTC; machine: "
        f"{cores} cores, load average {load_before[0]:.1f} before and {load_after[0]:.1f} after."
        f"\nTargets (issue 13): every journey {TARGET_DEMO_S} s or less on the demo clinic, "
        f"{TARGET_LARGE_S} s or less on 10,000 patients and on 1,000,000 assessments."
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "label": label,
            "database": printable_url(url),
            "started": started.isoformat(),
            "repeat": args.repeat,
            "cores": cores,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "runs_timed_by": CLOCKS,
            "journeys": [result.summary() for result in results],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
