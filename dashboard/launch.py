"""``make run``: get the database ready, say how to sign in, and start the app.

The message worker (``outcomes worker``, issue 14) starts with it as a child process: on the
embedded default it keeps messages in the app's local outbox (``OUTCOMES_MESSAGES_TRANSPORT``
is ``local`` unless set), so a newcomer sees reminders and alert notifications happen without
a mail server. This process then becomes the Streamlit server (``exec``, same process id); the
worker notices when that process ends (its parent changes) and stops, and Ctrl-C stops both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from data.bootstrap import prepare
from data.demo import DEMO_SIGN_INS
from data.engine import DatabaseDamaged, make_engine, printable_url
from data.sessions import secret_key
from data.settings import Settings

HOST, PORT = "127.0.0.1", 8501


def start_worker() -> subprocess.Popen[bytes]:
    """Start ``outcomes worker`` as a child that stops with this process.

    It reads the same settings from the same environment (the database URL is not put on
    its command line, where ``ps`` would show a password). Its log goes to this terminal's
    stderr, as the app's does."""
    return subprocess.Popen(
        [sys.executable, "-m", "data.cli", "worker", "--stop-with-parent", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
    )


def main() -> None:
    settings = Settings()
    try:
        # Made (or checked) now, so that a bad OUTCOMES_SECRET_KEY stops the start, before
        # the database is touched, rather than a page.
        secret_key(database_url=settings.database_url)
    except ValueError as problem:
        sys.stderr.write(f"Infusion Outcomes cannot start: {problem}\n")
        sys.exit(1)
    engine = make_engine(settings.database_url)
    try:
        readiness = prepare(engine)
    except DatabaseDamaged as damaged:
        sys.stderr.write(f"Infusion Outcomes cannot start: {damaged}\n")
        sys.exit(1)
    finally:
        engine.dispose()
    # Never the password, in whatever form the URL carries it.
    lines = ["", "Infusion Outcomes", f"  database: {printable_url(settings.database_url)}"]
    if readiness.seeded_demo:
        lines.append("  seeded the demo clinic (synthetic patients only)")
    if readiness.demo:
        lines.append("  demo sign-ins (password 'demo'):")
        lines += [f"    {s.username:<15} {s.role:<14} {s.what_to_try}" for s in DEMO_SIGN_INS]
    lines.append(f"  messages: {_transport_line(settings)}")
    lines += [f"  open http://{HOST}:{PORT}", ""]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    start_worker()
    # The server file wraps the app in the clinic's protections (dashboard/server.py).
    app = Path(__file__).resolve().parent / "server.py"
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.address",
            HOST,
            "--server.port",
            str(PORT),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
    )


def _transport_line(settings: Settings) -> str:
    if settings.messages_transport == "local":
        return "kept in the app, where an administrator reads them; none leave the machine"
    return f"sent ({settings.messages_transport}) by the worker started with the app"


if __name__ == "__main__":
    main()
