"""Every import format, by the name ``outcomes import`` gives it: one row per importer.

A new format is a reader module beside these (``docs/architecture.md``, "an importer") and one
row here; the command line (:mod:`data.cli.records`) takes its choices from this table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from data.interchange.csv_assessments import prepare_assessments_csv
from data.interchange.csv_infusions import prepare_infusions_csv
from data.interchange.fhir_read import prepare_fhir_bundle
from data.interchange.pipeline import PreparedImport

__all__ = ["IMPORTERS", "Importer"]


@dataclass(frozen=True)
class Importer:
    """One import format.

    Attributes
    ----------
    prepare : callable
        ``prepare(session, *, actor, source, create_patients)``: read and check a file without
        writing, returning the :class:`~data.interchange.pipeline.PreparedImport` to write.
    numbered_rows : bool
        Whether refusals name spreadsheet rows (CSV: the header is row 1), so that the
        command line explains the numbering; a FHIR Bundle names its entries instead.
    """

    prepare: Callable[..., PreparedImport]
    numbered_rows: bool


IMPORTERS: Final[Mapping[str, Importer]] = {
    "assessments": Importer(prepare_assessments_csv, numbered_rows=True),
    "infusions": Importer(prepare_infusions_csv, numbered_rows=True),
    "fhir": Importer(prepare_fhir_bundle, numbered_rows=False),
}
