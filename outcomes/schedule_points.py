"""A protocol's measurement schedule as stored and edited (course-and-reporting §4).

What :mod:`outcomes.schedule` turns into windows: the kinds of point, their settings with
their defaults and limits, :data:`DEFAULT_SCHEDULE` (the spec's), and the one reading of the
stored form (``measurement_schedule.points``), :func:`parse_schedule`, with messages that
name the point and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outcomes.errors import RulesError
from outcomes.instruments import instrument_ids

__all__ = [
    "DEFAULT_SCHEDULE",
    "KINDS",
    "KIND_LABELS",
    "Schedule",
    "ScheduleError",
    "SchedulePoint",
    "parse_schedule",
    "schedule_json",
]

# kind -> its settings, each with (default, lowest, highest)
_SETTINGS: dict[str, dict[str, tuple[int, int, int]]] = {
    "baseline": {"days_before": (7, 1, 60)},
    "before_infusion": {"hours_before": (48, 1, 336)},
    "between_infusions": {"every_days": (7, 1, 90)},
    "end_of_induction": {"from_day": (14, 1, 365), "to_day": (31, 1, 365)},
    "maintenance": {"every_days": (28, 7, 365)},
    "before_booster": {"hours_before": (48, 1, 336)},
}
KINDS = tuple(_SETTINGS)
KIND_LABELS = {
    "baseline": "Baseline",
    "before_infusion": "Before an induction infusion",
    "between_infusions": "Weekly between infusions",
    "end_of_induction": "End of induction",
    "maintenance": "Maintenance",
    "before_booster": "Before a booster",
}


class ScheduleError(RulesError):
    """A schedule that cannot be used, with a message that names the point and the field."""


@dataclass(frozen=True)
class SchedulePoint:
    """One kind of measurement: its questionnaires and its settings (see the module)."""

    kind: str
    instruments: tuple[str, ...]
    settings: tuple[tuple[str, int], ...]

    def setting(self, name: str) -> int:
        return dict(self.settings)[name]


@dataclass(frozen=True)
class Schedule:
    """A protocol's schedule: how many infusions make the induction, and its points."""

    induction_infusions: int
    points: tuple[SchedulePoint, ...]

    def point(self, kind: str) -> SchedulePoint | None:
        return next((p for p in self.points if p.kind == kind), None)


def _point(kind: str, instruments: tuple[str, ...]) -> SchedulePoint:
    return SchedulePoint(
        kind, instruments, tuple((name, spec[0]) for name, spec in _SETTINGS[kind].items())
    )


DEFAULT_SCHEDULE = Schedule(
    induction_infusions=6,
    points=(
        _point("baseline", ("phq9", "gad7")),
        *(
            _point(kind, ("phq9", "gad7"))
            for kind in KINDS
            if kind != "baseline"  # the spec's baseline questionnaires at every point
        ),
    ),
)
"""Course-and-reporting §4's default: six induction infusions, PHQ-9 and GAD-7 at each point."""


def parse_schedule(points: object, *, induction_infusions: object) -> Schedule:
    """A schedule from its stored form (``measurement_schedule.points``), checked.

    Parameters
    ----------
    points : list of dict
        One dict per point: ``kind`` (one of :data:`KINDS`, each at most once),
        ``instruments`` (known questionnaire ids) and the kind's settings (whole numbers;
        a missing one takes its default).
    induction_infusions : int
        How many infusions make the induction (1 to 20).

    Raises
    ------
    ScheduleError
        With every problem found, each naming the point and the field.
    """
    problems: list[str] = []
    if (
        not isinstance(induction_infusions, int)
        or isinstance(induction_infusions, bool)
        or not 1 <= induction_infusions <= 20
    ):
        problems.append("induction infusions must be a whole number from 1 to 20")
    if not isinstance(points, list) or not points:
        raise ScheduleError("; ".join([*problems, "a schedule needs a list of at least one point"]))
    known = set(instrument_ids())
    parsed: list[SchedulePoint] = []
    seen: set[str] = set()
    for number, raw in enumerate(points, start=1):
        if not isinstance(raw, Mapping) or raw.get("kind") not in _SETTINGS:
            problems.append(f"point {number}: kind must be one of {', '.join(KINDS)}")
            continue
        kind = str(raw["kind"])
        where = f"point {number} ({KIND_LABELS[kind].lower()})"
        if kind in seen:
            problems.append(f"{where}: this kind is listed twice")
        seen.add(kind)
        extra = set(raw) - {"kind", "instruments", *_SETTINGS[kind]}
        if extra:
            problems.append(f"{where}: unknown field {', '.join(sorted(map(str, extra)))}")
        names = raw.get("instruments")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            problems.append(f"{where}: instruments must be a list of questionnaire ids")
            names = []
        unknown = [n for n in names if n not in known]
        if unknown:
            problems.append(f"{where}: unknown questionnaire {', '.join(unknown)}")
        settings: list[tuple[str, int]] = []
        for name, (default, low, high) in _SETTINGS[kind].items():
            value = raw.get(name, default)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                problems.append(f"{where}: {name} must be a whole number from {low} to {high}")
                value = default
            settings.append((name, value))
        if kind == "end_of_induction" and dict(settings)["from_day"] > dict(settings)["to_day"]:
            problems.append(f"{where}: from_day must not be after to_day")
        parsed.append(SchedulePoint(kind, tuple(dict.fromkeys(names)), tuple(settings)))
    if problems:
        raise ScheduleError("; ".join(problems))
    assert isinstance(induction_infusions, int)
    return Schedule(induction_infusions=induction_infusions, points=tuple(parsed))


def schedule_json(schedule: Schedule) -> list[dict[str, object]]:
    """The stored form of a schedule (what :func:`parse_schedule` reads back)."""
    return [
        {"kind": p.kind, "instruments": list(p.instruments), **dict(p.settings)}
        for p in schedule.points
    ]
