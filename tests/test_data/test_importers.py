"""The table of import formats (data/interchange/importers.py) and the command line agree."""

from __future__ import annotations

import inspect

from data.cli.common import ImportKind
from data.interchange.importers import IMPORTERS


def test_the_command_line_offers_every_importer_and_no_other() -> None:
    assert [kind.value for kind in ImportKind] == list(IMPORTERS)


def test_every_importer_prepares_with_the_same_keywords() -> None:
    """outcomes import calls each one the same way (data/cli/records.py)."""
    for name, importer in IMPORTERS.items():
        parameters = inspect.signature(importer.prepare).parameters
        for keyword in ("actor", "source", "create_patients"):
            assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY, (name, keyword)
