"""Issue 12, "A reload signs you out": in real headless Chromium against the real server.

A clinician and a patient sign in, reload, and are still signed in; the cookie that does it
is ``HttpOnly`` and ``SameSite=Strict``; after signing out, a reload shows the sign-in page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data.sessions import SESSION_COOKIE
from tests.test_dashboard.test_browser import _demo_database, _page, _sign_in, _start_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _demo_database(tmp_path_factory.mktemp("reload"))
    process, base = _start_server(url)
    yield base
    process.terminate()
    process.wait(timeout=20)


def _session_cookie(page) -> dict[str, object] | None:  # type: ignore[no-untyped-def]
    for cookie in page.context.cookies():
        if cookie["name"] == SESSION_COOKIE:
            return dict(cookie)
    return None


@pytest.mark.parametrize(
    ("username", "heading", "width"),
    [("demo-clinician", "Worklist", 1280), ("demo-patient", "Weekly check-in", 390)],
    ids=["clinician", "patient-on-a-phone"],
)
def test_a_reload_keeps_you_signed_in_until_you_sign_out(  # type: ignore[no-untyped-def]
    server: str, browser, username: str, heading: str, width: int
) -> None:
    page = _page(browser, width=width, height=900 if width > 600 else 844)
    _sign_in(page, server, username)
    page.get_by_role("heading", name=heading).wait_for()
    # The page trades its ticket for the cookie in the background.
    for _ in range(50):
        if _session_cookie(page) is not None:
            break
        page.wait_for_timeout(100)
    cookie = _session_cookie(page)
    assert cookie is not None, "the signed-in page did not receive its session cookie"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"

    page.reload()
    page.get_by_role("heading", name=heading).wait_for()
    assert page.get_by_role("textbox", name="Password").count() == 0

    if width < 600:  # the menu is closed on a phone: open it to reach "Sign out"
        page.locator("[data-testid='stExpandSidebarButton']").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.reload()
    page.get_by_role("textbox", name="Password").wait_for()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_role("heading", name=heading).count() == 0
    # The sign-in page dropped the cookie as well (revoked on the server either way).
    for _ in range(50):
        if _session_cookie(page) is None:
            break
        page.wait_for_timeout(100)
    assert _session_cookie(page) is None
    page.context.close()


def test_another_site_cannot_claim_or_end_a_session(server: str) -> None:
    """A cross-site request to the session routes is refused whatever it carries."""
    import urllib.error
    import urllib.request

    for path in ("/session/claim", "/session/end"):
        request = urllib.request.Request(
            server + path,
            data=b'{"ticket": "x"}',
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Origin": "https://evil.example",
                "Sec-Fetch-Site": "cross-site",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
