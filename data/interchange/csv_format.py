"""The CSV formats: the columns of an assessments file and of an infusions file.

One definition for the importer that reads them and the export that writes them, so that an
export always re-imports unchanged.
"""

from __future__ import annotations

from dataclasses import fields

from data.infusions import InfusionInput
from outcomes import INSTRUMENTS

__all__ = [
    "ASSESSMENT_COLUMNS",
    "INFUSION_COLUMNS",
    "INFUSION_NUMBERS",
    "INFUSION_VALUES",
    "ITEM_KEYS",
    "REPORTED_TOTAL",
]

ASSESSMENT_COLUMNS = ("patient_id", "instrument", "administered_at")
"""The columns every assessments file has; item columns and ``total`` follow."""
REPORTED_TOTAL = "total"
ITEM_KEYS: tuple[str, ...] = tuple(key for i in INSTRUMENTS for key in i.item_keys)
"""Every item column an assessments file may have, in registry order."""

INFUSION_VALUES = tuple(
    f.name for f in fields(InfusionInput) if f.name not in ("administered_at", "route")
)
INFUSION_COLUMNS = ("patient_id", "administered_at", "route", *INFUSION_VALUES)
"""Every column of an infusions file, in export order; only the first three are required."""
INFUSION_NUMBERS = tuple(
    name for name in INFUSION_VALUES if name not in ("side_effects", "side_effects_note")
)
