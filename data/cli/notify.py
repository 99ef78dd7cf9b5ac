"""`outcomes worker` and `send-due`: send the messages of the outbox (issue 14).

``send-due`` runs one pass (for cron or a systemd timer) and prints its counts; ``worker``
runs passes until stopped (SIGTERM or Ctrl-C ends it between two messages). Both read the
channels from ``OUTCOMES_MESSAGES_TRANSPORT`` and the ``OUTCOMES_SMTP_*`` and
``OUTCOMES_SMS_*`` settings (data/settings.py); they never print a message or a password.
"""

from __future__ import annotations

from typing import Annotated

import typer

# Only light modules here, so that `outcomes --help` answers at once: each command imports
# what it uses when it runs (data/cli/common.py says why).
from data.cli.common import DatabaseUrl, app, open_engine, refusals


def _logging() -> None:
    import logging

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The schema check at start-up is Alembic's; its notes say nothing to an operator.
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command("send-due")
def send_due_command(database_url: DatabaseUrl = None) -> None:
    """Send the messages that are due now, once, and print what happened (exit status 0).

    Runs the pass's steps (due reminders, safety escalations), then sends through the
    configured channels. Messages a server cannot take now stay queued for the next pass.
    For cron or a systemd timer, e.g. every minute: outcomes send-due
    """
    from data.notify.worker import run_pass
    from data.settings import get_settings

    _logging()
    with open_engine(database_url) as engine, refusals():
        counts = run_pass(engine, settings=get_settings())
    typer.echo(counts.summary())
    for step in counts.step_errors:
        typer.echo(f"warning: the step {step!r} failed (see the log above)", err=True)


@app.command("worker")
def worker_command(
    database_url: DatabaseUrl = None,
    parent_pid: Annotated[
        int | None,
        typer.Option(
            "--stop-with-parent",
            hidden=True,
            help="Stop when this process, the one that started the worker, ends (make run).",
        ),
    ] = None,
) -> None:
    """Send messages as they fall due, pass after pass, until stopped (SIGTERM or Ctrl-C).

    Several workers may run at once, on one database. A worker stopped or killed mid-batch
    loses nothing: the next one sends what it had not marked sent (a message it had just
    sent may go twice, once per kill at most).
    """
    from data.notify.worker import run_forever
    from data.settings import get_settings

    _logging()
    with open_engine(database_url) as engine, refusals():
        run_forever(engine, settings=get_settings(), parent_pid=parent_pid)
