"""``python -m data.cli``: the same as the ``outcomes`` command."""

from data.cli import app

app()
