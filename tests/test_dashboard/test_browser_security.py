"""What a browser may receive, tried in real headless Chromium against the real server.

* Every response carries the security headers; no request ever leaves the server.
* A patient's name as an attacker would write it shows as typed: no image, link or colour.
* A prepared export goes once, to the signed-in browser that asked, and to nobody else;
  Streamlit's media files go to no browser without a signed-in session.
* An idle session clears the screen by itself.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from data.engine import make_engine, transaction
from data.models import AuditEvent, Patient, SafetyAlert, User
from tests.test_dashboard.test_browser import (
    _demo_database,
    _page,
    _sign_in,
    _start_server,
)

pytestmark = pytest.mark.browser

HOSTILE_NAME = (
    "Ann :green[**reviewed, all clear — no action needed**] ![](http://127.0.0.9/track.png) "
    "<img src=http://127.0.0.9/x.png> see www.example.org"
)


def _get(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A demo clinic in which one patient with an open safety alert has a hostile name."""
    url = _demo_database(tmp_path_factory.mktemp("security"))
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        patient_id = session.scalar(
            select(SafetyAlert.patient_id)
            .join(Patient, Patient.id == SafetyAlert.patient_id)
            .outerjoin(User, User.id == Patient.user_id)
            .where(SafetyAlert.acknowledged_at.is_(None))
            .where((User.username.is_(None)) | (User.username != "demo-patient"))
            .limit(1)
        )
        session.execute(update(Patient).where(Patient.id == patient_id).values(name=HOSTILE_NAME))
    engine.dispose()
    process, base = _start_server(url)
    yield base, url
    process.terminate()
    process.wait(timeout=20)


def test_every_response_carries_the_security_headers(clinic: tuple[str, str]) -> None:
    base, _ = clinic
    for path in ("/", "/download/no-such-file", "/media/no-such-file.csv"):
        _, headers, _ = _get(base + path)
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in lower["content-security-policy"]
        assert "default-src 'self'" in lower["content-security-policy"]
        assert lower["x-content-type-options"] == "nosniff"
        assert "HttpOnly" in lower["set-cookie"] and "SameSite=Strict" in lower["set-cookie"]


def test_media_files_need_a_signed_in_browser(clinic: tuple[str, str]) -> None:
    base, _ = clinic
    status, _, body = _get(base + "/media/0123456789abcdef.csv")
    assert status == 403 and b"signed-in session" in body
    # Streamlit's own assets (fonts under /static/media/) are not held back.
    status, _, _ = _get(base + "/")
    assert status == 200


def test_a_hostile_name_is_shown_as_typed_and_nothing_leaves_the_server(  # type: ignore[no-untyped-def]
    clinic: tuple[str, str], browser
) -> None:
    base, _ = clinic
    page = _page(browser)
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((base, "data:", "blob:"))
            else elsewhere.append(request.url)
        ),
    )
    _sign_in(page, base, "demo-clinician")
    page.get_by_role("heading", name="Safety alerts", exact=False).wait_for()
    card = page.get_by_text("Ann :green[**reviewed, all clear", exact=False).first
    card.wait_for()
    # As typed (the invisible word joiners that keep addresses from becoming links aside).
    shown = card.inner_text().replace("\u2060", "")
    assert "![](http://127.0.0.9/track.png)" in shown and "<img src=" in shown
    main = page.locator("[data-testid='stMain']")
    assert main.locator("img").count() == 0
    assert main.locator("a[href*='127.0.0.9'], a[href*='example.org']").count() == 0
    # The name is drawn in the app's red for an alert, never in a forged green.
    colours = card.evaluate(
        "node => Array.from(node.querySelectorAll('*')).map(e => getComputedStyle(e).color)"
    )
    assert not any(colour.startswith("rgb(33, 195") for colour in colours)
    assert elsewhere == []


def test_an_export_goes_once_to_the_browser_that_prepared_it(  # type: ignore[no-untyped-def]
    clinic: tuple[str, str], browser
) -> None:
    base, url = clinic
    page = _page(browser)
    _sign_in(page, base, "demo-clinician")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_role("link", name="Patient", exact=True).click()
    page.get_by_role("heading", name="Patient", exact=True).wait_for()
    # Nobody is opened until chosen: take the first patient the chooser offers.
    page.get_by_role("combobox").first.click()
    page.get_by_role("option").first.click()
    page.get_by_role("tab", name="Export").click()
    page.get_by_role("button", name="Prepare download").click()
    link = page.get_by_role("link", name="Download Questionnaires (CSV)")
    link.wait_for()
    href = link.get_attribute("href") or ""
    assert href.startswith("/download/")
    # A stranger with the link (no cookie, or another browser's) gets nothing, and spends
    # nothing: the clinician's browser can still fetch it afterwards, once.
    assert _get(base + href)[0] == 404
    assert _get(base + href, cookie="io_browser=someone-else")[0] == 404
    first = page.context.request.get(base + href)
    assert first.status == 200
    assert first.headers["content-disposition"].startswith("attachment;")
    assert first.headers["cache-control"] == "no-store"
    assert first.text().startswith("patient_id,instrument,administered_at")
    engine = make_engine(url)
    with transaction(engine) as session:
        exports = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "export_assessments", AuditEvent.actor_name == "demo-clinician"
            )
        )
    engine.dispose()
    assert exports == 1  # recorded before the file existed
    assert page.context.request.get(base + href).status == 404
    # Signed out, the browser gets nothing more, even a file prepared a moment ago.
    page.get_by_role("button", name="Prepare download").click()
    page.wait_for_timeout(1500)
    href = page.get_by_role("link", name="Download Questionnaires (CSV)").get_attribute("href")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.context.request.get(base + str(href)).status == 404


def test_an_idle_session_clears_the_screen_by_itself(  # type: ignore[no-untyped-def]
    clinic: tuple[str, str], browser, tmp_path: Path
) -> None:
    _, url = clinic
    # Six seconds of idleness; the screen must clear without a click.
    process, base = _start_server(url, OUTCOMES_SESSION_IDLE_MINUTES="0.1")
    try:
        page = _page(browser)
        _sign_in(page, base, "demo-clinician")
        page.get_by_role("heading", name="Safety alerts", exact=False).wait_for()
        page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
        page.get_by_text("signed out after a period of inactivity", exact=False).wait_for()
        # Nothing of the worklist stays on screen (Streamlit drops stale elements as the
        # sign-in page finishes drawing).
        page.get_by_role("heading", name="Safety alerts", exact=False).wait_for(state="detached")
        assert page.locator("[data-testid='stMain']").get_by_text("PHQ-9 item 9").count() == 0
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_damaged_database_is_explained_never_shown_as_a_traceback(  # type: ignore[no-untyped-def]
    clinic: tuple[str, str], browser, tmp_path: Path
) -> None:
    from tests.test_data.test_backup import damage

    _, url = clinic
    copy = tmp_path / "damaged.db"
    shutil.copyfile(url.removeprefix("sqlite:///"), copy)
    damage(copy, first_page=3, pages=400)
    process, base = _start_server(f"sqlite:///{copy}")
    try:
        page = _page(browser)
        page.goto(base)
        page.get_by_text("database file is damaged", exact=False).first.wait_for()
        shown = page.locator("[data-testid='stMain']").inner_text()
        assert "restore the newest backup" in shown
        for leak in ("Traceback", "Ask Google", "DatabaseError", 'File "/'):
            assert leak not in shown
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_signed_in_administrator_still_downloads_aggregates(  # type: ignore[no-untyped-def]
    clinic: tuple[str, str], browser
) -> None:
    """Streamlit's own download buttons (aggregates only) go through /media/, which now
    needs a signed-in browser: the administrator's is one."""
    base, _ = clinic
    page = _page(browser)
    _sign_in(page, base, "demo-admin")
    page.get_by_role("heading", name="Outcomes").wait_for()
    page.get_by_role("tab", name="By clinician and protocol").click()
    button = page.get_by_role("button", name="Comparison (CSV)")
    # The last button of a long page: give it the time the page takes under a loaded CI.
    button.wait_for(timeout=60_000)
    with page.expect_download() as download:
        button.click()
    assert download.value.failure() is None
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("group,treated,followed,not_followed,responded,response_rate")
