"""The clinical vocabulary of an infusion record: routes of administration and side effects.

Plain data, so a page can offer the choices and the data layer can check them without either
importing the other's machinery (the ORM, a form).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ROUTES: tuple[str, ...] = ("iv", "im", "intranasal_esketamine", "sublingual_oral")
"""Routes of administration, as stored."""

ROUTE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "iv": "IV",
        "im": "IM",
        "intranasal_esketamine": "intranasal esketamine",
        "sublingual_oral": "sublingual/oral",
    }
)
"""Each route in words."""

SIDE_EFFECTS: tuple[str, ...] = (
    "nausea",
    "dizziness",
    "headache",
    "hallucinations",
    "confusion",
    "elevated_blood_pressure",
    "irregular_heart_rate",
)
"""Side effects recorded by code; anything else goes in the free-text note."""
