"""The web server: Streamlit's own app plus what a clinic's app needs on every response.

``make run`` (and the browser tests) start this file with ``streamlit run``, which finds
:data:`app`, a Streamlit ``st.App`` served by uvicorn. On top of Streamlit it adds:

* **security headers** on every HTTP response: no framing by other sites
  (``X-Frame-Options``, CSP ``frame-ancestors``), a content security policy that allows
  this server only (no third-party scripts, styles, fonts or images), ``nosniff`` and no
  referrer;
* **a browser cookie** (random, ``HttpOnly``, ``SameSite=Strict``) that ties a download to
  the browser that prepared it (:mod:`dashboard.downloads`);
* **the download route** ``/download/<token>``: a prepared file, once, to that browser
  while it is signed in;
* **the session routes** ``/session/claim`` and ``/session/end``: the signed-in page trades
  its one-time ticket for the ``HttpOnly``, ``SameSite=Strict`` session cookie that lets a
  reload find the user again (:mod:`data.sessions`), and a signed-out page drops it; both
  only for a same-origin request of the browser that signed in;
* **Streamlit's media files** (``/media/...``) only to a browser with a signed-in session.

TLS is the reverse proxy's job: see ``docs/deployment.md``.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard import downloads, resources, state
from data import sessions
from data.engine import DAMAGED_MESSAGE, database_damaged, transaction
from data.settings import Settings

logger = logging.getLogger("dashboard.server")
PAGE_FAILED = (
    "Something went wrong on this page. Nothing you had already saved is lost. Please reload "
    "the page; if it happens again, tell the clinic's administrator the time it happened."
)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        # Streamlit's own bundle sets inline styles and evaluates compiled code paths.
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _is_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            return bool(value.decode("latin-1").strip().lower() == "https")
    return False


def _is_media(path: str) -> bool:
    """Whether ``path`` asks for one of Streamlit's media files (not its static assets)."""
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}/media/" if base else "/media/"
    return path.startswith(prefix)


class ClinicProtections:
    """Security headers, the browser cookie, and signed-in-only media, on every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        browser = Request(scope).cookies.get(downloads.BROWSER_COOKIE)
        cookie = None
        if not browser:
            cookie = (
                f"{downloads.BROWSER_COOKIE}={downloads.new_browser_id()}; Path=/; HttpOnly; "
                "SameSite=Strict" + ("; Secure" if _is_https(scope) else "")
            )

        async def send_protected(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if cookie is not None:
                    headers.append("Set-Cookie", cookie)
            await send(message)

        if _is_media(scope.get("path", "")) and not downloads.is_signed_in(browser):
            refused = PlainTextResponse(
                "Files from Infusion Outcomes are only sent to a signed-in session.",
                status_code=403,
                headers={"Cache-Control": "no-store"},
            )
            await refused(scope, receive, send_protected)
            return
        await self.app(scope, receive, send_protected)


async def download(request: Request) -> Response:
    """Hand a prepared file to the browser it was prepared for, once."""
    prepared = downloads.take(
        request.path_params["token"], request.cookies.get(downloads.BROWSER_COOKIE)
    )
    if prepared is None:
        return PlainTextResponse(
            "This download has expired or was already used. Go back to Infusion Outcomes "
            "and prepare the file again.",
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        prepared.content,
        media_type=prepared.mime,
        headers={
            "Content-Disposition": f'attachment; filename="{prepared.file_name}"',
            "Cache-Control": "no-store",
        },
    )


SESSION_ROUTE = "/session/"
SESSION_REFUSED = (
    "This browser could not be kept signed in: reload the page and sign in again, from the "
    "address of Infusion Outcomes itself."
)


def _same_origin(request: Request) -> bool:
    """A request the app's own page made: never a form or script of another site.

    The browser says so in ``Sec-Fetch-Site`` (sent by every current browser), and its
    ``Origin`` names this server's host (the port is not compared: behind the proxy of
    docs/deployment.md the ``Host`` header carries none).
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = urlsplit(request.headers.get("origin") or "").hostname
    host = urlsplit("//" + (request.headers.get("host") or "")).hostname
    return origin is not None and origin == host


def _session_cookie(value: str, *, max_age: int, https: bool) -> str:
    return (
        f"{sessions.SESSION_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; "
        "SameSite=Strict" + ("; Secure" if https else "")
    )


def _refused(status: int = 403) -> Response:
    return PlainTextResponse(
        SESSION_REFUSED, status_code=status, headers={"Cache-Control": "no-store"}
    )


def _claim(ticket: str, browser: str | None) -> str | None:
    """The signed cookie value for a ticket of this browser, or None (in a worker thread)."""
    idle_minutes = Settings().session_idle_minutes
    with transaction(resources.engine(), write=True) as session:
        token = sessions.claim_ticket(
            session, ticket=ticket, browser=browser, idle_minutes=idle_minutes
        )
    return None if token is None else sessions.cookie_value(token, secret=state.cookie_secret())


async def claim_session(request: Request) -> Response:
    """``POST /session/claim`` with ``{"ticket": ...}``: the session cookie, once.

    JSON only: a cross-site form cannot send it without the browser asking first.
    """
    if not _same_origin(request):
        return _refused()
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _refused(415)
    try:
        body = await request.json()
    except ValueError:
        return _refused(400)
    ticket = body.get("ticket") if isinstance(body, dict) else None
    if not isinstance(ticket, str):
        return _refused(400)
    browser = request.cookies.get(downloads.BROWSER_COOKIE)
    value = await run_in_threadpool(_claim, ticket, browser)
    if value is None:
        return _refused()
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    max_age = int(sessions.SESSION_LIFETIME.total_seconds())
    response.headers.append(
        "Set-Cookie", _session_cookie(value, max_age=max_age, https=_is_https(request.scope))
    )
    return response


def _end(value: str | None) -> None:
    token = sessions.token_from_cookie(value, secret=state.cookie_secret())
    if token is None:
        return  # a forged or damaged cookie reads nothing
    with transaction(resources.engine(), write=True) as session:
        sessions.end_session_with_token(session, token=token)


async def end_session(request: Request) -> Response:
    """``POST /session/end``: revoke this browser's session and drop its cookie."""
    if not _same_origin(request):
        return _refused()
    await run_in_threadpool(_end, request.cookies.get(sessions.SESSION_COOKIE))
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.headers.append(
        "Set-Cookie", _session_cookie("", max_age=0, https=_is_https(request.scope))
    )
    return response


def show_plain_error(error: Exception) -> bool:
    """Any error a page did not handle: a plain message on screen, never a traceback.

    The log gets the error's kind and where it happened, not its text or local values,
    which could hold patient data.
    """
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown"
    logger.error("a page failed with %s at %s", type(error).__name__, where)
    st.error(DAMAGED_MESSAGE if database_damaged(error) else PAGE_FAILED, icon=":material/error:")
    return True  # Streamlit shows nothing more


app = st.App(
    Path(__file__).resolve().parent / "streamlit_app.py",
    routes=[
        Route(downloads.ROUTE + "{token}", download, methods=["GET"]),
        Route(SESSION_ROUTE + "claim", claim_session, methods=["POST"]),
        Route(SESSION_ROUTE + "end", end_session, methods=["POST"]),
    ],
    middleware=[Middleware(ClinicProtections)],
    on_script_error=show_plain_error,
)
