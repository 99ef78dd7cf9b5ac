"""What an instrument is: the frozen dataclasses every registry entry is built from.

An :class:`Instrument` is data: items, response range, domains, severity bands, safety items,
triage levels, LOINC codes, citation and licence (with ``anchors_licensed``: whether that
licence lets a rater see the anchor descriptions). :mod:`outcomes.scoring` reads these
fields and has no branch for any particular instrument.

How items combine
-----------------
Items are grouped into *domains*. A domain's score is the maximum of its answered items,
and the total is the sum of the domain scores. For a plain sum scale every item is its own
domain (:func:`one_item_domains`); QIDS-SR16 groups sleep, appetite/weight and psychomotor
items (Rush et al. 2003). A domain is present when at least one of its items is answered;
``max_missing`` domains may be absent, and are then prorated (scoring-spec §1.4).

The C-SSRS screener has no total: its ``severity`` is a triage risk level, chosen by the first
:class:`RiskLevel` whose conditions hold (scoring-spec §2.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Rater = Literal["patient", "clinician"]


@dataclass(frozen=True)
class Item:
    """One question of an instrument.

    ``scored=False`` marks an item that is stored but never enters total, severity,
    validity or flags (PHQ-9 item 10, spec §2.1).
    """

    key: str
    short_name: str
    scored: bool = True
    loinc: str | None = None
    text: str | None = None
    # Answer labels of this item when they differ from the instrument's (PHQ-9 item 10).
    answer_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """Items whose answers combine by maximum into one domain score."""

    name: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Band:
    """A severity band: totals from ``lower`` to ``upper`` inclusive get ``label``."""

    label: str
    lower: int
    upper: int


@dataclass(frozen=True)
class SafetyItem:
    """An item whose answer at or above a threshold raises ``flag``, whatever the total."""

    item: str
    flag: str
    threshold: int = 1


@dataclass(frozen=True)
class TotalFlag:
    """A flag raised when the (valid) total is at or above ``cutoff``."""

    flag: str
    cutoff: int


@dataclass(frozen=True)
class Condition:
    """``item`` answered with ``equals``."""

    item: str
    equals: int


@dataclass(frozen=True)
class RiskLevel:
    """A triage level: holds when all conditions of any one clause hold.

    A level with no clauses always holds; it is the fallback and must come last.
    """

    level: str
    flag: str | None
    any_of: tuple[tuple[Condition, ...], ...] = ()


@dataclass(frozen=True)
class Requirement:
    """``items`` must be answered (when ``when`` holds, or always if it is ``None``)."""

    items: tuple[str, ...]
    when: Condition | None = None


@dataclass(frozen=True)
class Instrument:
    """One questionnaire: its items and every rule needed to score it.

    The thresholds here are the defaults of the spec; a clinic overrides them through
    :class:`outcomes.rules.Rules`, never by editing this entry.
    """

    id: str
    name: str
    rater: Rater
    items: tuple[Item, ...]
    min_value: int
    max_value: int
    domains: tuple[Domain, ...]
    citation: str
    licence: str
    bands: tuple[Band, ...] = ()
    safety_items: tuple[SafetyItem, ...] = ()
    total_flags: tuple[TotalFlag, ...] = ()
    risk_levels: tuple[RiskLevel, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    assume_when_missing: Mapping[str, int] = field(default_factory=dict)
    max_missing: int = 0
    remission_max_total: int | None = None
    relapse_floor: int | None = None
    reliable_change_points: int | None = None
    mcid_points: int | None = None
    loinc_panel: str | None = None
    loinc_total: str | None = None
    answer_loinc: tuple[str, ...] = ()
    answer_labels: tuple[str, ...] = ()
    stem: str | None = None
    # What the instrument measures, in a patient's words ("Mood"); None where no plain word fits.
    topic: str | None = None
    # Whether the licence allows this software to show the instrument's anchor descriptions
    # (item text and answer labels) to a rater. False until verified: a rater then sees the
    # items' short names and the numbers only (the clinician's rating form reads this).
    anchors_licensed: bool = False

    @property
    def has_total(self) -> bool:
        """Whether the instrument has a sum score (the C-SSRS screener does not)."""
        return bool(self.domains)

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    @property
    def scored_item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items if item.scored)

    @property
    def max_total(self) -> int | None:
        """Highest possible total, or ``None`` for an instrument without a total."""
        if not self.has_total:
            return None
        return len(self.domains) * self.max_value

    @property
    def flag_names(self) -> tuple[str, ...]:
        """Every flag the instrument can raise, sorted (``prorated`` only if it may prorate)."""
        names = {s.flag for s in self.safety_items} | {t.flag for t in self.total_flags}
        names |= {r.flag for r in self.risk_levels if r.flag is not None}
        return tuple(sorted(names))

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"{self.id} has no item {key!r}; its items are {', '.join(self.item_keys)}")


def one_item_domains(keys: tuple[str, ...]) -> tuple[Domain, ...]:
    """One domain per item: the domains of a plain sum scale."""
    return tuple(Domain(name=key, items=(key,)) for key in keys)


def severity_bands(*edges: tuple[str, int, int]) -> tuple[Band, ...]:
    """Bands from ``(label, lower, upper)`` triples, lowest first."""
    return tuple(Band(label=label, lower=lower, upper=upper) for label, lower, upper in edges)
