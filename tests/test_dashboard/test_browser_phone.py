"""A patient's check-in on a phone (390 × 844) in real Chromium (issue 12, "Phone layout",
"Missing answers", "Crisis panel").

Streamlit keeps the main area's scroll position from one run of a page to the next, so the
view after "Submit" at the bottom of the long form opened scrolled down (crisis help partly
above the screen); the menu was an unlabelled "»" and stayed open over the page after a page
was chosen; a missing answer was reported below the button, off-screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_dashboard.test_browser import (
    _answer_checkin,
    _demo_database,
    _page,
    _shot,
    _sign_in,
    _start_server,
)

pytestmark = pytest.mark.browser

HEADER = 60  # Streamlit's fixed header covers the top 3.75rem of the screen

_SCROLL_TOP = "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop"


@pytest.fixture(scope="module")
def phone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # A demo clinic of its own: the other browser tests' check-ins do not change this one.
    url = _demo_database(tmp_path_factory.mktemp("phone"))
    process, base = _start_server(url)
    yield base
    process.terminate()
    process.wait(timeout=20)


def _in_view(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return (
        box is not None and box["y"] >= HEADER - 8 and box["y"] + min(box["height"], 200) <= height
    )


def _sidebar_open(page: Any) -> bool:
    box = page.get_by_test_id("stSidebar").bounding_box()
    return box is not None and box["width"] > 0 and box["x"] + box["width"] > 0


def test_a_patient_on_a_phone_finds_the_menu_the_missing_answer_and_crisis_help(
    phone_server: str, browser: Any
) -> None:
    page = _page(browser, width=390, height=844)
    _sign_in(page, phone_server, "demo-patient")
    title = page.get_by_role("heading", name="Weekly check-in")
    title.wait_for()
    assert page.evaluate(_SCROLL_TOP) == 0 and _in_view(page, title)

    # The menu is a button named "Menu", in words on screen too.
    menu = page.get_by_role("button", name="Menu", exact=True)
    menu.wait_for()
    after = page.evaluate(
        "() => getComputedStyle(document.querySelector("
        "'[data-testid=\"stExpandSidebarButton\"]'), '::after').content"
    )
    assert after == '"Menu"'
    # Choosing a page closes the sidebar again: the page is not hidden behind it.
    menu.click()
    page.get_by_role("link", name="My progress").click()
    page.get_by_role("heading", name="My progress").wait_for()
    page.wait_for_function(
        "() => { const s = document.querySelector('[data-testid=\"stSidebar\"]');"
        " const b = s.getBoundingClientRect(); return b.right <= 0 || b.width === 0; }"
    )
    assert not _sidebar_open(page)
    page.get_by_role("button", name="Menu", exact=True).click()
    page.get_by_role("link", name="Check-in").click()
    title.wait_for()
    page.wait_for_timeout(500)
    assert not _sidebar_open(page)

    # One answer only, then Submit at the bottom: the first unanswered question is marked in
    # words right above it and brought into view (not a line below the button, off-screen).
    page.get_by_role("radiogroup").first.locator("label").first.click()
    page.get_by_role("button", name="Submit check-in").click()
    first = page.locator(".st-key-first_unanswered")
    first.wait_for()
    assert "Please answer: Feeling down, depressed, or hopeless" in first.inner_text()
    page.wait_for_function(
        "(header) => { const b = document.querySelector('.st-key-first_unanswered')"
        ".getBoundingClientRect(); return b.top >= header - 8 && b.bottom <= innerHeight; }",
        arg=HEADER,
    )
    _shot(page, "patient-phone-missing-answer")

    # A self-harm answer, submitted at the bottom of the form: the result opens at its top,
    # crisis help in view, its numbers links to tap, each at least 44 px high.
    _answer_checkin(page, self_harm="More than half the days")
    page.get_by_text("Thank you. Your answers are saved", exact=False).wait_for()
    panel = page.locator(".st-key-crisis_panel")
    panel.wait_for()
    page.wait_for_function(f"() => ({_SCROLL_TOP})() === 0")
    assert _in_view(page, title) and _in_view(page, panel)
    links = page.locator(".crisis-links a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "tel:988",
        "sms:988",
        "tel:911",
    ]
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44
    assert page.get_by_role("link", name="Call 911 (emergency)").is_visible()
    assert "has been told" not in panel.inner_text()
    _shot(page, "patient-phone-crisis-panel")
