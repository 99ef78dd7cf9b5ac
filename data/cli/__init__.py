"""``outcomes``: the operator's command line for a clinic's records.

One module per group of commands, on the plumbing they share (:mod:`data.cli.common`):
:mod:`data.cli.setup` (``init``, ``seed-demo``, ``create-user``), :mod:`data.cli.records`
(``import``, ``export``, ``rescore``) and :mod:`data.cli.maintenance` (``backup``,
``verify``). ``docs/records.md`` has examples of every command.

``outcomes --help`` must answer at once (issue 13), so a command module imports only the
standard library, typer, :mod:`data.cli.common` and other light modules at module level; what
a command uses (SQLAlchemy, the models, pandas, the FHIR models, argon2, ...) is imported in
its function, when it runs. ``tests/test_data/test_cli_startup.py`` checks every command's help.
"""

from __future__ import annotations

from data.cli.common import app

# Importing the command modules registers their commands on the one Typer app, in the order
# `outcomes --help` lists them.
# isort: off
from data.cli import setup
from data.cli import records
from data.cli import maintenance
from data.cli import verify  # replaces maintenance's verify: it runs it first
from data.cli import notify

# isort: on

__all__ = ["app", "maintenance", "notify", "records", "setup", "verify"]
