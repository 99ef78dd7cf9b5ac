"""QIDS-SR16: nine domains, three of them the maximum of several items (Rush et al. 2003).

Only short item names are stored: the item text is not licensed for embedding (spec §6).
"""

from __future__ import annotations

from outcomes.instruments.model import Domain, Instrument, Item, SafetyItem, severity_bands

__all__ = ["QIDS_SR16"]

_QIDS_NAMES = (
    "sleep-onset insomnia",
    "mid-nocturnal insomnia",
    "early-morning insomnia",
    "hypersomnia",
    "sad mood",
    "decreased appetite",
    "increased appetite",
    "weight decrease",
    "weight increase",
    "concentration/decision-making",
    "view of self",
    "thoughts of death or suicide",
    "general interest",
    "energy",
    "feeling slowed down",
    "feeling restless",
)


def _qids(*numbers: int) -> tuple[str, ...]:
    return tuple(f"qids_{n}" for n in numbers)


QIDS_SR16 = Instrument(
    id="qids_sr16",
    name="QIDS-SR16",
    rater="patient",
    topic="Mood",
    items=tuple(Item(f"qids_{i}", name) for i, name in enumerate(_QIDS_NAMES, start=1)),
    min_value=0,
    max_value=3,
    domains=(
        Domain("sleep", _qids(1, 2, 3, 4)),
        Domain("mood", _qids(5)),
        Domain("appetite/weight", _qids(6, 7, 8, 9)),
        Domain("concentration", _qids(10)),
        Domain("self-view", _qids(11)),
        Domain("suicidal ideation", _qids(12)),
        Domain("interest", _qids(13)),
        Domain("energy", _qids(14)),
        Domain("psychomotor", _qids(15, 16)),
    ),
    bands=severity_bands(
        ("none", 0, 5),
        ("mild", 6, 10),
        ("moderate", 11, 15),
        ("severe", 16, 20),
        ("very_severe", 21, 27),
    ),
    safety_items=(SafetyItem("qids_12", "qids_item12_positive"),),
    max_missing=0,
    remission_max_total=5,
    relapse_floor=11,
    citation=(
        "Rush AJ, Trivedi MH, Ibrahim HM, et al. The 16-item Quick Inventory of Depressive "
        "Symptomatology (QIDS), clinician rating (QIDS-C), and self-report (QIDS-SR). "
        "Biol Psychiatry. 2003;54(5):573-583. doi:10.1016/S0006-3223(02)01866-8. Remission <=5: "
        "Trivedi MH et al. Am J Psychiatry. 2006;163:28-40 (STAR*D)."
    ),
    licence=(
        "© UT Southwestern: paper versions free to clinicians and researchers; the IVR version is "
        "licensed to Healthcare Technology Systems. Confirm terms before embedding the item text "
        "(spec §6): only short names are stored here."
    ),
)
