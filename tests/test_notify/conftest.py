"""Real servers for messages that leave the building: SMTP (aiosmtpd) and an SMS gateway.

``smtp_server``: an aiosmtpd server on 127.0.0.1 (a free port) that keeps every message it
accepts, and can be told to refuse recipients or messages, to answer slowly, or to require a
sign-in. ``sms_gateway``: an HTTP server on 127.0.0.1 in the shape of Twilio's Messages API
that records every request and answers as told. ``outbox_engine``: a migrated database of
each kind whose messages a worker commits (the ``session`` fixture's rollback cannot hold
what another connection or process must see), emptied of messages before each test.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.message
import email.policy
import json
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine, delete

from data.engine import make_engine, transaction
from data.models import Clinic, Patient
from data.notify.models import MessageOptOut, OutboxAttempt, OutboxMessage
from data.schema import upgrade
from data.settings import Settings
from tests.conftest import BACKENDS, _free_port, fresh_database_url

SMTP_USER, SMTP_PASSWORD = "outcomes", "an smtp password"


@dataclass(frozen=True)
class Received:
    """One message the test SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: email.message.EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class _Handler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.delay = 0.0

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed)
            )
        if self.delay:
            # Accepted, but the answer is slow: a worker killed now has sent a message it
            # has not marked sent yet (the case that makes a duplicate).
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: the server answers "535 credentials invalid" itself.
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpTestServer:
    """A running aiosmtpd server; ``settings()`` points the app's SMTP channel at it."""

    port: int
    handler: _Handler
    controller: Controller
    auth: bool = False

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def settings(self, **changes: Any) -> Settings:
        values: dict[str, Any] = {
            "messages_transport": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_starttls": False,
            "smtp_from": "clinic@outcomes.test",
            "smtp_timeout_seconds": 5,
        }
        return Settings(**(values | changes))

    def stop(self) -> None:
        """The server goes away (its port refuses connections); what it received stays."""
        self.controller.stop()

    def start(self) -> None:
        """The server comes back on the same port (a stopped controller cannot restart)."""
        self.controller = _controller(self.handler, self.port, auth=self.auth)
        self.controller.start()


def _controller(
    handler: _Handler, port: int, *, auth: bool, tls: ssl.SSLContext | None = None
) -> Controller:
    if tls is not None:
        # STARTTLS required before anything else, and the sign-in only over it.
        return Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=tls,
            require_starttls=True,
            authenticator=_authenticate,
            auth_required=auth,
        )
    if auth:
        return Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            authenticator=_authenticate,
            auth_require_tls=False,
            auth_required=True,
        )
    return Controller(handler, hostname="127.0.0.1", port=port)


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """An SMTP server on 127.0.0.1 that keeps what it accepts (no STARTTLS, no sign-in)."""
    handler = _Handler()
    port = _free_port()
    controller = _controller(handler, port, auth=False)
    controller.start()
    server = SmtpTestServer(port, handler, controller)
    try:
        yield server
    finally:
        server.controller.stop(no_assert=True)


@pytest.fixture
def smtp_server_with_sign_in() -> Iterator[SmtpTestServer]:
    """An SMTP server that requires AUTH LOGIN/PLAIN (``SMTP_USER``, ``SMTP_PASSWORD``)."""
    handler = _Handler()
    port = _free_port()
    controller = _controller(handler, port, auth=True)
    controller.start()
    server = SmtpTestServer(port, handler, controller, auth=True)
    try:
        yield server
    finally:
        server.controller.stop(no_assert=True)


@dataclass(frozen=True)
class Certificate:
    """A throwaway self-signed certificate for 127.0.0.1 (the test's own authority)."""

    cert_file: Path
    key_file: Path


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """Made with the openssl command line (no Python cryptography package needed)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@pytest.fixture
def smtp_server_with_starttls(certificate: Certificate) -> Iterator[SmtpTestServer]:
    """An SMTP server that requires STARTTLS (its certificate: ``certificate``) and a sign-in
    over it (``SMTP_USER``, ``SMTP_PASSWORD``)."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate.cert_file, certificate.key_file)
    handler = _Handler()
    port = _free_port()
    controller = _controller(handler, port, auth=True, tls=tls)
    controller.start()
    server = SmtpTestServer(port, handler, controller, auth=True)
    try:
        yield server
    finally:
        server.controller.stop(no_assert=True)


@dataclass(frozen=True)
class GatewayRequest:
    """One request the test gateway received."""

    method: str
    path: str
    authorization: str | None
    content_type: str | None
    form: dict[str, str]

    @property
    def credentials(self) -> tuple[str, str] | None:
        if not self.authorization or not self.authorization.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(self.authorization[6:]).decode().partition(":")
        return user, password


@dataclass
class SmsTestGateway:
    """A Twilio-shaped gateway on 127.0.0.1. Set ``replies`` (status, JSON) to answer the
    next requests so; otherwise each text is accepted (201 with a new ``sid``)."""

    url: str
    requests: list[GatewayRequest] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settings(self, **changes: Any) -> Settings:
        values: dict[str, Any] = {
            "messages_transport": "live",
            "sms_base_url": self.url,
            "sms_account_sid": "AC_test_account",
            "sms_auth_token": "a gateway token",
            "sms_from": "+12025550100",
            "sms_timeout_seconds": 5,
        }
        return Settings(**(values | changes))


def _gateway_handler(gateway: SmsTestGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            with gateway.lock:
                gateway.requests.append(
                    GatewayRequest(
                        "POST",
                        self.path,
                        self.headers.get("Authorization"),
                        self.headers.get("Content-Type"),
                        form,
                    )
                )
                reply = gateway.replies.pop(0) if gateway.replies else None
                number = len(gateway.requests)
            status, answer = reply or (201, {"sid": f"SM{number:032d}", "status": "queued"})
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # a quiet test run

    return Handler


@pytest.fixture
def sms_gateway() -> Iterator[SmsTestGateway]:
    """A Twilio-shaped SMS gateway on 127.0.0.1 that records every request."""
    gateway = SmsTestGateway(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _gateway_handler(gateway))
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass(frozen=True)
class OutboxDatabase:
    """A committed database with one clinic and two patients, for workers to send from."""

    engine: Engine
    url: str
    clinic_id: int
    patient_ids: tuple[int, int]


@pytest.fixture(scope="session", params=BACKENDS)
def outbox_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OutboxDatabase]:
    url = fresh_database_url(request.param, request, tmp_path_factory.mktemp("outbox"))
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Outbox clinic")
        session.add(clinic)
        session.flush()
        patients = [
            Patient(clinic_id=clinic.id, external_id=f"MRN-out-{n}", name=f"Outbox {n}")
            for n in (1, 2)
        ]
        session.add_all(patients)
        session.flush()
        database = OutboxDatabase(engine, url, clinic.id, (patients[0].id, patients[1].id))
    yield database
    engine.dispose()


@pytest.fixture
def outbox_db(outbox_database: OutboxDatabase) -> OutboxDatabase:
    """:func:`outbox_database` with no messages, attempts or opt-outs left by another test."""
    with transaction(outbox_database.engine, write=True) as session:
        session.execute(delete(OutboxAttempt))
        session.execute(delete(OutboxMessage))
        session.execute(delete(MessageOptOut))
    return outbox_database
