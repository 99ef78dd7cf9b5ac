"""MADRS: the clinician-rated depression scale, items 0-6 (Montgomery & Åsberg 1979)."""

from __future__ import annotations

from outcomes.instruments.model import (
    Instrument,
    Item,
    SafetyItem,
    one_item_domains,
    severity_bands,
)

__all__ = ["MADRS"]

MADRS = Instrument(
    id="madrs",
    name="MADRS",
    rater="clinician",
    stem="Rate each item 0-6: anchors are defined at 0, 2, 4 and 6.",
    items=tuple(
        Item(f"madrs_{i}", name)
        for i, name in enumerate(
            (
                "apparent sadness",
                "reported sadness",
                "inner tension",
                "reduced sleep",
                "reduced appetite",
                "concentration difficulties",
                "lassitude",
                "inability to feel",
                "pessimistic thoughts",
                "suicidal thoughts",
            ),
            start=1,
        )
    ),
    min_value=0,
    max_value=6,
    domains=one_item_domains(tuple(f"madrs_{i}" for i in range(1, 11))),
    bands=severity_bands(
        ("normal", 0, 6), ("mild", 7, 19), ("moderate", 20, 34), ("severe", 35, 60)
    ),
    safety_items=(SafetyItem("madrs_10", "madrs_item10_positive"),),
    max_missing=0,
    remission_max_total=12,
    relapse_floor=22,
    citation=(
        "Montgomery SA, Åsberg M. A new depression scale designed to be sensitive to change. "
        "Br J Psychiatry. 1979;134:382-389. doi:10.1192/bjp.134.4.382. Bands: Snaith RP et al. "
        "Br J Psychiatry. 1986;148:599-601. Relapse floor 22: Daly EJ et al. JAMA Psychiatry. "
        "2019;76(9):893-903 (SUSTAIN-1)."
    ),
    licence="Published 1979 in the BJP; copyright for electronic use not verified (spec §6).",
    # Electronic use is not verified (spec §6): the form shows short names and numbers only.
    anchors_licensed=False,
)
