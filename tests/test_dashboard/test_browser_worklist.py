"""The paged worklist in headless Chromium (issue 13): "Show more" (pressed by keyboard) and
"Open" work from the list, which is a fragment (``st.fragment``) whose buttons rerun it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from data.course_state import build_clinic
from data.engine import make_engine, transaction
from data.models import Patient
from tests.test_dashboard.test_browser import _demo_database, _page, _sign_in, _start_server

pytestmark = pytest.mark.browser

NEWCOMERS = 25  # registered today, nothing recorded: more than a page of "no baseline"


@dataclass(frozen=True)
class Served:
    base: str
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    url = _demo_database(tmp_path_factory.mktemp("worklist"))
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        clinic_id = 1
        session.add_all(
            Patient(clinic_id=clinic_id, external_id=f"NEW-{n:02d}", name=f"Newcomer {n:02d}")
            for n in range(NEWCOMERS)
        )
        session.flush()
        # The demo's course state, as upgrade() and the writers keep it.
        build_clinic(session, clinic_id=clinic_id)
    engine.dispose()
    process, base = _start_server(url)
    yield Served(base, url)
    process.terminate()
    process.wait(timeout=20)


def test_show_more_and_open_work_from_the_paged_list(served: Served, browser) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser)
    _sign_in(page, served.base, "demo-clinician")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_text("Whole clinic", exact=True).click()
    # Until the rerun for the whole clinic lands, the heading still counts "My patients" (a
    # few): wait for the clinic's count, which holds the 25 newcomers (two digits or more).
    heading = page.get_by_role("heading", name=re.compile(r"^No baseline score \(\d{2,}\)$"))
    heading.wait_for()
    total = int(re.findall(r"\d+", heading.inner_text())[0])
    assert total > 20
    rows = page.locator("[data-testid='stMarkdown']").filter(has_text="new patient")
    page.get_by_text(f"Showing 20 of {total} patients, longest waiting first.").wait_for()
    before = rows.count()

    more = page.get_by_role("button", name=re.compile(r"^Show \d+ more: no baseline score$"))
    adds = int(re.findall(r"\d+", more.inner_text())[0])
    # By keyboard: the button takes the focus and Enter presses it.
    more.focus()
    page.keyboard.press("Enter")
    shown = min(total, 20 + adds)
    page.get_by_text(
        f"Showing {shown} of {total} patients" if shown < total else f"All {total} patients shown"
    ).first.wait_for()
    assert rows.count() == before + adds

    # "Open" on the last row shown (one "Show more" added) opens that patient.
    opens = page.locator("[class*='st-key-open_no_baseline_']")
    assert opens.count() == shown
    last = opens.last
    key = re.findall(r"st-key-open_no_baseline_(\d+)", last.get_attribute("class") or "")[0]
    engine = make_engine(served.url)
    with transaction(engine) as session:
        opened = session.get(Patient, int(key))
        assert opened is not None
        mrn = opened.external_id
    engine.dispose()
    last.get_by_role("button", name="Open").click()
    page.get_by_role("heading", name="Patient", exact=True).wait_for()
    page.get_by_role("heading").filter(has_text=f"MRN {mrn}").wait_for()
