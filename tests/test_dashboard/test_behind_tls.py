"""The reverse-proxy recipe of docs/deployment.md, run as written in front of the real app.

Debian's nginx gets the recipe's own ``nginx`` block (only ports, certificate paths and the
app's address are changed, to loopback and a throwaway self-signed certificate), and Chromium
signs in through it: TLS, the WebSocket, HSTS, the redirect from plain HTTP and the ``Secure``
download cookie all work as the docs promise.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data.engine import make_engine, transaction
from data.models import AuditEvent
from tests.test_dashboard.test_browser import _demo_database, _sign_in, _start_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recipe() -> str:
    """The nginx block of docs/deployment.md, as a reader would copy it."""
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, "docs/deployment.md should hold one nginx recipe"
    return str(blocks[0])


def localised(block: str, *, http: int, https: int, app: int, folder: Path) -> str:
    """The recipe on loopback ports with a throwaway certificate; nothing else changes."""
    changes = [
        ("listen 80;", f"listen 127.0.0.1:{http};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("/etc/ssl/outcomes/fullchain.pem", str(folder / "cert.pem")),
        ("/etc/ssl/outcomes/privkey.pem", str(folder / "key.pem")),
        ("http://127.0.0.1:8501", f"http://127.0.0.1:{app}"),
    ]
    for old, new in changes:
        assert old in block, f"the recipe no longer has {old!r}: update this test"
        block = block.replace(old, new)
    return f"""
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{block}
}}
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(https URL, http URL, database URL) of nginx in front of the app, as the recipe sets
    it up."""
    folder = tmp_path_factory.mktemp("tls")
    url = _demo_database(folder)
    # As docs/deployment.md says to run the app behind this proxy.
    app, app_base = _start_server(url, OUTCOMES_TRUST_FORWARDED_FOR="1")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", str(folder / "key.pem"),
            "-out", str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    http, https = _free_port(), _free_port()
    app_port = int(app_base.rsplit(":", 1)[1])
    config = folder / "nginx.conf"
    config.write_text(localised(recipe(), http=http, https=https, app=app_port, folder=folder))
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(config), "-g", "daemon off; master_process off;"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", https)) == 0:
                break
        time.sleep(0.2)
    try:
        yield f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", url
    finally:
        nginx.terminate()
        nginx.wait(timeout=20)
        app.terminate()
        app.wait(timeout=20)


def test_plain_http_is_sent_to_https(proxied: tuple[str, str, str]) -> None:
    _, http, _ = proxied

    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(Keep).open(http + "/", timeout=10)
    assert answer.value.code == 301
    assert answer.value.headers["Location"].startswith("https://")


def test_a_clinician_signs_in_over_tls_through_the_proxy(  # type: ignore[no-untyped-def]
    proxied: tuple[str, str, str], browser
) -> None:
    https, _, _ = proxied
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    first = page.goto(https)
    headers = first.all_headers()
    assert headers["strict-transport-security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    _sign_in(page, https, "demo-clinician")
    # The worklist only draws once the WebSocket through the proxy works.
    page.get_by_role("heading", name="Safety alerts", exact=False).wait_for()
    cookie = next(c for c in context.cookies() if c["name"] == "io_browser")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    context.close()


def _failed_sign_ins(url: str) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "sign_in_failed")
        )
    engine.dispose()
    return int(count or 0)


def test_behind_the_proxy_the_throttle_counts_each_browsers_own_address(  # type: ignore[no-untyped-def]
    proxied: tuple[str, str, str], browser
) -> None:
    """Runs last in this module: it uses up the address's allowance of failures.

    Through the proxy, the app counts failures by the address nginx writes: after 20 failed
    sign-ins (unknown usernames, so no account locks), even the right password is refused."""
    https, _, url = proxied
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(https)
    for attempt in range(20):
        before = _failed_sign_ins(url)
        page.get_by_role("textbox", name="Username").fill(f"nobody-{attempt}")
        page.get_by_role("textbox", name="Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        deadline = time.monotonic() + 20
        while _failed_sign_ins(url) == before and time.monotonic() < deadline:
            time.sleep(0.1)  # each attempt is counted before the next is made
    _sign_in(page, https, "demo-clinician")
    page.get_by_text("sign-in pauses", exact=False).first.wait_for()
    page.wait_for_timeout(2000)
    assert page.get_by_role("heading", name="Safety alerts", exact=False).count() == 0
    context.close()
