"""Accessibility in real headless Chromium (issue 12, "Accessible").

axe-core (the pinned release that ``scripts/ensure-axe-core.sh`` fetches from the npm
registry) is injected into each page and run against WCAG 2.1 A and AA; any serious or
critical violation fails the test, printed with its rule, impact and elements. One walk
through the pages a patient, a clinician and an administrator see, in one browser, because
each start and sign-in costs seconds. On the check-in, on a phone, the walk also does by
keyboard what axe-core cannot: where the Tab key goes before the first question, and whether
the focused answer can be seen.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.test_dashboard.test_browser import (
    ROOT,
    _answer_checkin,
    _demo_database,
    _page,
    _sign_in,
    _start_server,
)

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


@dataclass(frozen=True)
class Clinic:
    """The app's address and the database it serves."""

    base: str
    url: str


@pytest.fixture(scope="module")
def axe_core() -> Path:
    """axe.min.js of the pinned axe-core release, fetched once into the cache (make test
    runs the same script first; a bare ``pytest`` fetches it here)."""
    printed = subprocess.run(
        [str(ROOT / "scripts" / "ensure-axe-core.sh")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(printed.splitlines()[-1])


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    # A demo clinic of its own: the walk's check-in raises an alert no other test expects.
    url = _demo_database(tmp_path_factory.mktemp("accessible"))
    process, base = _start_server(url)
    yield Clinic(base, url)
    process.terminate()
    process.wait(timeout=20)


_IDLE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return (!app || app.getAttribute("data-test-script-state") !== "running")
        && !document.querySelector("[data-testid='stStatusWidget'] svg, [data-stale='true']");
}"""


def _settled(page: Any) -> None:
    """Wait until Streamlit has finished running the page and charts have drawn.

    Checked again after a pause: a click's rerun (a tab opened) may begin only after the first
    check passed, and a scan of the faded page then reads its stale elements' low contrast.
    """
    page.wait_for_function(_IDLE)
    page.wait_for_timeout(600)
    page.wait_for_function(_IDLE)


def _scan(page: Any, axe_core: Path) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it stands."""
    _settled(page)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Injected as inline script text: the server's CSP allows 'unsafe-inline' only.
        page.add_script_tag(path=str(axe_core))
    result = page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return found.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                targets: v.nodes.map((n) => {
                    const why = n.any.concat(n.all, n.none).map((c) => c.message);
                    return `${n.target.join(" ")}: ${why.join("; ")}`;
                }),
            }));
        }""",
        WCAG_TAGS,
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def _contrast(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio of two opaque CSS colours (``rgb(r, g, b)``)."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# Where the keyboard's focus is, and whether a person can see it there.
_FOCUSED = """() => {
    // The first opaque background behind an element (white at the top).
    const behind = (node) => {
        for (; node; node = node.parentElement) {
            const colour = getComputedStyle(node).backgroundColor;
            if (colour !== "transparent" && !colour.startsWith("rgba(0, 0, 0, 0)")) return colour;
        }
        return "rgb(255, 255, 255)";
    };
    const element = document.activeElement;
    const box = element.getBoundingClientRect();
    const shown = element.closest("label") || element;
    const style = getComputedStyle(shown);
    return {
        name: (element.getAttribute("aria-label") || element.innerText || element.value || "")
            .replace(/\\s+/g, " ").trim().slice(0, 60),
        tag: element.tagName,
        radio: element.type === "radio",
        group: (element.closest("[role='radiogroup']") || {}).ariaLabel || null,
        visible: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
            && box.left < window.innerWidth && box.top < window.innerHeight
            && getComputedStyle(element).visibility !== "hidden",
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        outlineColor: style.outlineColor,
        page: behind(shown.parentElement),
    };
}"""


# How many controls the Tab key stops at inside each chart drawn on the page.
_CHART_TAB_STOPS = """() => Array.from(document.querySelectorAll(".js-plotly-plot")).map(
    (chart) => Array.from(chart.querySelectorAll("a[href], button, input, [tabindex]"))
        .filter((e) => e.tabIndex >= 0 && getComputedStyle(e).visibility !== "hidden").length
)"""


def _keyboard_on_a_phone(browser: Any, base: str) -> list[str]:
    """Tab from the top of the check-in on a phone to the first answer: every stop on the way
    is on screen, and the focused answer has an outline of at least 2 px and 3:1."""
    problems: list[str] = []
    page = _page(browser, width=390, height=844)
    _sign_in(page, base, "demo-patient")
    first_question = page.get_by_role("radiogroup").first
    first_question.wait_for()
    _settled(page)
    wanted = first_question.get_attribute("aria-label")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # from the top
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused["radio"] and focused["group"] == wanted:
            break
        if not focused["visible"]:
            problems.append(
                f"phone check-in: Tab stops on {focused['tag']} '{focused['name']}', "
                "which is not on screen"
            )
    else:
        problems.append("phone check-in: 12 presses of Tab never reached question 1")
        return problems
    outline = focused["outlineWidth"] if focused["outlineStyle"] != "none" else 0.0
    ratio = _contrast(focused["outlineColor"], focused["page"]) if outline else 1.0
    if outline < 2 or ratio < 3:
        problems.append(
            f"phone check-in: the focused answer of question 1 has a {outline:g} px outline "
            f"at {ratio:.2f}:1 against the page (needs 2 px at 3:1)"
        )
    page.context.close()
    return problems


def _report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for violation in violations:
            lines.append(f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"    {target}" for target in violation["targets"][:8])
            if len(violation["targets"]) > 8:
                lines.append(f"    ... and {len(violation['targets']) - 8} more")
    return "\n".join(lines)


def test_every_page_passes_axe_core(clinic: Clinic, browser: Any, axe_core: Path) -> None:  # type: ignore[no-untyped-def]
    found: dict[str, list[dict[str, Any]]] = {}
    page = _page(browser)

    page.goto(clinic.base)
    page.get_by_role("textbox", name="Username").wait_for()
    found["sign-in"] = _scan(page, axe_core)

    # The patient: the check-in, its result with a self-harm answer (the crisis panel), progress.
    _sign_in(page, clinic.base, "demo-patient")
    page.get_by_role("heading", name="Weekly check-in").wait_for()
    found["check-in"] = _scan(page, axe_core)
    keyboard = _keyboard_on_a_phone(browser, clinic.base)
    _answer_checkin(page, self_harm="More than half the days")
    page.get_by_text("988", exact=False).first.wait_for()
    found["crisis"] = _scan(page, axe_core)
    page.get_by_role("link", name="My progress").click()
    page.get_by_role("heading", name="My progress").wait_for()
    found["progress"] = _scan(page, axe_core)
    page.get_by_role("button", name="Sign out", exact=True).click()

    # The clinician: the worklist (with the alert just raised), the patient page and its tabs.
    _sign_in(page, clinic.base, "demo-clinician")
    page.get_by_role("heading", name="Worklist").wait_for()
    found["worklist"] = _scan(page, axe_core)
    page.get_by_role("button", name="Open patient").first.click()
    page.locator(".js-plotly-plot").first.wait_for()
    found["patient"] = _scan(page, axe_core)
    # Plotly's toolbar put eight Tab stops on each chart; drawn without it, a chart has none.
    keyboard += [
        f"patient page: a chart has {stops} Tab stop(s)"
        for stops in page.evaluate(_CHART_TAB_STOPS)
        if stops
    ]
    for tab in ("Infusion log", "Record infusion", "Clinician rating", "Export"):
        page.get_by_role("tab", name=tab).click()
        found[f"patient, {tab} tab"] = _scan(page, axe_core)
    page.get_by_role("button", name="Sign out", exact=True).click()

    # The administrator: outcomes.
    _sign_in(page, clinic.base, "demo-admin")
    page.get_by_role("heading", name="Outcomes").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    found["outcomes"] = _scan(page, axe_core)
    for tab, heading in (
        ("Time to response", "Time to response and durability"),
        ("Induction", "Induction completion"),
        ("Mean by week", "Mean PHQ-9 by week"),
        ("Check-in completeness", "Check-in completeness"),
        ("By clinician and protocol", "By clinician and protocol"),
    ):
        page.get_by_role("tab", name=tab).click()
        page.get_by_role("heading", name=heading).wait_for()
        found[f"outcomes, {tab} tab"] = _scan(page, axe_core)

    failing = {where: violations for where, violations in found.items() if violations}
    assert not failing, "axe-core (WCAG 2.1 A/AA) found:\n" + _report(failing)
    assert not keyboard, "\n".join(keyboard)
