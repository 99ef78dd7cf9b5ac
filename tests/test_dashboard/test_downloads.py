"""Prepared files: once, to the signed-in browser that asked, within their lifetime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboard import downloads


@pytest.fixture
def browser() -> Iterator[str]:
    name = downloads.new_browser_id()
    downloads.mark_signed_in(name, idle_seconds=60)
    yield name
    downloads.forget_browser(name)


def _token(path: str) -> str:
    assert path.startswith(downloads.ROUTE)
    return path.removeprefix(downloads.ROUTE)


def test_a_file_goes_once_to_its_browser(browser: str) -> None:
    token = _token(downloads.prepare(browser, "a,b\n", file_name="x.csv", mime="text/csv"))
    prepared = downloads.take(token, browser)
    assert prepared is not None and prepared.content == b"a,b\n"
    assert downloads.take(token, browser) is None


def test_another_browser_gets_nothing_and_spends_nothing(browser: str) -> None:
    other = downloads.new_browser_id()
    downloads.mark_signed_in(other, idle_seconds=60)
    token = _token(downloads.prepare(browser, "x", file_name="x.csv", mime="text/csv"))
    assert downloads.take(token, other) is None
    assert downloads.take(token, None) is None
    assert downloads.take(token, browser) is not None
    downloads.forget_browser(other)


def test_signing_out_drops_what_was_prepared(browser: str) -> None:
    token = _token(downloads.prepare(browser, "x", file_name="x.csv", mime="text/csv"))
    downloads.forget_browser(browser)
    assert downloads.take(token, browser) is None
    with pytest.raises(ValueError, match="signed-in session"):
        downloads.prepare(browser, "x", file_name="x.csv", mime="text/csv")


def test_files_and_sessions_expire(browser: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token(downloads.prepare(browser, "x", file_name="x.csv", mime="text/csv"))
    later = downloads._now() + downloads.LIFETIME + 1
    monkeypatch.setattr(downloads, "_now", lambda: later)
    assert downloads.take(token, browser) is None  # the file's two minutes are over
    monkeypatch.setattr(downloads, "_now", lambda: later + 3600)
    assert not downloads.is_signed_in(browser)  # and so is the idle limit


def test_no_browser_cookie_no_file() -> None:
    with pytest.raises(ValueError, match="allow this site's cookie"):
        downloads.prepare(None, "x", file_name="x.csv", mime="text/csv")


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("MRN-1/2 :x.csv", "MRN-1_2__x.csv"),
        ('a"b\r\nContent-Type: x.csv', "a_b__Content-Type__x.csv"),
        ("../../etc/passwd", "etc_passwd"),
        ("", "download"),
    ],
)
def test_file_names_cannot_break_the_download_header(given: str, safe: str) -> None:
    assert downloads.safe_file_name(given) == safe
