"""Files of patient data handed to one signed-in browser, once, for a short time.

Streamlit serves ``st.download_button`` files at ``/media/<id>`` to anyone who has the URL,
with no session at all, until the server cleans them up. Patient data must only ever reach a
signed-in user who may see it, and must not outlive the page that prepared it. So the pages
never hand patient data to Streamlit's media store. Instead:

1. The page checks access and records the audit events in the data layer (committed), then
   puts the file here with :func:`prepare`, bound to the browser that asked.
2. The page shows a link to ``/download/<token>`` (:data:`ROUTE`), served by
   :func:`dashboard.server.download` from :func:`take`.
3. :func:`take` gives the file only to that same browser (its ``HttpOnly`` cookie,
   :data:`BROWSER_COOKIE`), while that browser has a signed-in session, within
   :data:`LIFETIME`, and only once. Signing out, or the idle limit passing, ends it at once.

A browser is told apart by a random cookie set by :mod:`dashboard.server` on every page load
(:func:`new_browser_id`); the page reads it from ``st.context.cookies``. Everything here lives
in the memory of one server process, which is where the session that prepared the file lives.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

__all__ = [
    "BROWSER_COOKIE",
    "LIFETIME",
    "NO_SIGNED_IN_BROWSER",
    "ROUTE",
    "Prepared",
    "forget_browser",
    "is_signed_in",
    "mark_signed_in",
    "new_browser_id",
    "prepare",
    "safe_file_name",
    "take",
]

BROWSER_COOKIE = "io_browser"
"""The ``HttpOnly`` cookie that names a browser (random; carries nothing about its user)."""
ROUTE = "/download/"
LIFETIME = 120.0
"""Seconds a prepared file waits to be fetched before it is dropped unread."""
NO_SIGNED_IN_BROWSER = (
    "This browser has no signed-in session that can receive files: allow this site's cookie, "
    "reload the page and sign in again."
)
_MAX_PREPARED = 1_000
"""More files waiting than this means something is wrong: the oldest are dropped."""


@dataclass(frozen=True)
class Prepared:
    """One file waiting for its browser."""

    browser: str
    content: bytes
    file_name: str
    mime: str
    expires_at: float


_lock = threading.Lock()
_prepared: dict[str, Prepared] = {}
_signed_in_until: dict[str, float] = {}


def _now() -> float:
    return time.monotonic()


def new_browser_id() -> str:
    return secrets.token_urlsafe(32)


def mark_signed_in(browser: str | None, *, idle_seconds: float) -> None:
    """``browser`` has a signed-in session, active now: it may fetch for ``idle_seconds``."""
    if not browser:
        return
    with _lock:
        _signed_in_until[browser] = _now() + idle_seconds


def forget_browser(browser: str | None) -> None:
    """The browser signed out (or timed out): nothing more is handed to it."""
    if not browser:
        return
    with _lock:
        _signed_in_until.pop(browser, None)
        for token in [t for t, p in _prepared.items() if p.browser == browser]:
            del _prepared[token]


def is_signed_in(browser: str | None) -> bool:
    if not browser:
        return False
    with _lock:
        until = _signed_in_until.get(browser)
        if until is None:
            return False
        if until <= _now():
            del _signed_in_until[browser]
            return False
        return True


def safe_file_name(name: str) -> str:
    """A file name for a download header: letters, digits, ``.``, ``-`` and ``_`` only."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return cleaned.strip("._") or "download"


def prepare(browser: str | None, content: bytes | str, *, file_name: str, mime: str) -> str:
    """Keep ``content`` for ``browser`` and return the path that fetches it once.

    Raises
    ------
    ValueError
        The browser is unknown (no cookie: cookies blocked) or has no signed-in session.
    """
    if browser is None or not is_signed_in(browser):
        raise ValueError(NO_SIGNED_IN_BROWSER)
    data = content.encode("utf-8") if isinstance(content, str) else content
    token = secrets.token_urlsafe(32)
    with _lock:
        _purge_expired()
        while len(_prepared) >= _MAX_PREPARED:
            del _prepared[next(iter(_prepared))]
        _prepared[token] = Prepared(
            browser, data, safe_file_name(file_name), mime, _now() + LIFETIME
        )
    return ROUTE + token


def take(token: str, browser: str | None) -> Prepared | None:
    """The file for ``token`` if ``browser`` may have it now; it is then gone for good.

    Nothing is given, and nothing is spent, to another browser or one without a signed-in
    session: a leaked link stays useless to whoever holds it.
    """
    if not browser or not is_signed_in(browser):
        return None
    with _lock:
        _purge_expired()
        prepared = _prepared.get(token)
        if prepared is None or not secrets.compare_digest(prepared.browser, browser):
            return None
        del _prepared[token]
        return prepared


def _purge_expired() -> None:
    now = _now()
    for token in [t for t, p in _prepared.items() if p.expires_at <= now]:
        del _prepared[token]
