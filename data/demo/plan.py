"""What a synthetic patient is before it becomes rows: planned infusions and check-ins.

A :class:`Plan` is the whole story of one patient (course, visits, relapse, weekly
check-ins with their expected totals); :mod:`data.demo.courses` and :mod:`data.demo.cohort`
make plans, and the writers of :mod:`data.demo.seed` turn them into records. Nothing here
touches the database or a random generator's state but through the helpers' ``rng``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Visit:
    """One planned infusion."""

    day: dt.date
    minute: int
    dose_mg_per_kg: float | None
    dose_mg: float | None
    duration_minutes: int | None


@dataclass
class Checkin:
    """One planned weekly check-in; ``depression``/``anxiety`` are expected totals."""

    moment: dt.datetime
    depression: float
    anxiety: float
    exact: bool = False
    qids: bool = False
    force_item9: bool = False


@dataclass
class Plan:
    """Everything about one synthetic patient before it becomes rows."""

    route: str
    protocol: str
    first_day: dt.date
    weight_kg: float
    date_of_birth: dt.date
    clinician: int
    baseline: int
    anxiety_baseline: int
    improvement_max: float
    anxiety_improvement_max: float
    onset: int
    suicidality: float
    vitals: tuple[float, float, float]
    visits: list[Visit] = field(default_factory=list)
    relapse: tuple[dt.date, dt.date] | None = None
    relapse_depth: float = 0.0
    checkins: list[Checkin] = field(default_factory=list)
    ended_on: dt.date | None = None
    has_account: bool = False
    waiting: bool = False
    name: str = ""

    def improvement(self, day: dt.date) -> float:
        """Fraction of ``improvement_max`` reached on ``day`` (before that day's infusion)."""
        before = [visit.day for visit in self.visits if visit.day < day]
        if len(before) < self.onset:
            return 0.0
        level = min(1.0, 0.8 + 0.2 * (len(before) - self.onset))
        if self.relapse is not None and self.relapse[0] <= day <= self.relapse[1]:
            level *= self.relapse_depth
        # The effect wears off once infusions stop (half-life about two months).
        wearing = (day - before[-1]).days - 21
        if wearing > 0:
            level *= 0.5 ** (wearing / 60)
        return level

    def expected(self, day: dt.date) -> tuple[float, float]:
        """Expected PHQ-9 and GAD-7 totals on ``day``."""
        level = self.improvement(day)
        return (
            self.baseline * (1 - self.improvement_max * level),
            self.anxiety_baseline * (1 - self.anxiety_improvement_max * level),
        )


def at(day: dt.date, minute: int) -> dt.datetime:
    """The UTC time ``minute`` minutes after midnight of ``day``."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(minutes=minute)


def clip(value: float, low: float, high: float) -> float:
    """``value`` held within ``low`` and ``high``."""
    return max(low, min(high, value))


def choose(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    """One value of ``(value, weight)`` pairs, drawn in proportion to the weights."""
    return rng.choices([value for value, _ in weighted], weights=[w for _, w in weighted])[0]
