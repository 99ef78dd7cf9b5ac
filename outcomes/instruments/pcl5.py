"""PCL-5: the PTSD checklist, 20 items 0-4, a probable-PTSD cut-point and no bands (spec §2.6)."""

from __future__ import annotations

from outcomes.instruments.model import Instrument, Item, TotalFlag, one_item_domains

__all__ = ["PCL5"]

_PCL5_NAMES = (
    "intrusive memories",
    "disturbing dreams",
    "flashbacks",
    "upset at reminders",
    "physical reactions to reminders",
    "avoiding memories",
    "avoiding external reminders",
    "trouble remembering",
    "negative beliefs",
    "blame",
    "negative feelings",
    "loss of interest",
    "feeling distant",
    "trouble with positive feelings",
    "irritability or anger",
    "risk taking",
    "hypervigilance",
    "easily startled",
    "difficulty concentrating",
    "trouble sleeping",
)

PCL5 = Instrument(
    id="pcl5",
    name="PCL-5",
    rater="patient",
    items=tuple(Item(f"pcl5_{i}", name) for i, name in enumerate(_PCL5_NAMES, start=1)),
    min_value=0,
    max_value=4,
    domains=one_item_domains(tuple(f"pcl5_{i}" for i in range(1, 21))),
    # No empirically derived severity ranges exist (spec §2.6): severity is always null.
    total_flags=(TotalFlag("pcl5_probable_ptsd", 33),),
    max_missing=0,
    citation=(
        "Weathers FW, Litz BT, Keane TM, et al. The PTSD Checklist for DSM-5 (PCL-5). National "
        "Center for PTSD, 2013. Provisional cut-point 31-33: Bovin MJ et al. Psychol Assess. "
        "2016;28(11):1379-1391. doi:10.1037/pas0000254."
    ),
    licence="Public domain (VA National Center for PTSD) (spec §6).",
)
