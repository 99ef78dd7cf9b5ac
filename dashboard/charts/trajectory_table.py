"""The trajectory as words: what the chart draws, one row per dated event, for a screen
reader and for anyone who reads a table faster than a chart (WCAG 2.1 1.1.1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.charts.style import ROUTE_NAMES, calendar_day, calendar_days
from dashboard.charts.trajectory import EpisodeLike
from dashboard.plain import alert_label
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules

TABLE_COLUMNS = ("date", "days since first infusion", "what", "detail")
# Events of one day in the order the chart reads them: the infusion, then the score it led
# to, what that score meant, and any alert raised.
_ORDER = {"infusion": 0, "score": 1, "response": 2, "relapse": 3, "alert": 4}


def _present(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def trajectory_lines(
    instrument: str | Instrument,
    course: Mapping[str, Any] | None,
    *,
    rules: Rules = DEFAULT_RULES,
) -> str:
    """The chart's reference lines in a sentence: ``Baseline 20; a response is 10 or lower;
    remission is 4 or lower.`` (blank parts are left out)."""
    definition = get_instrument(instrument)
    parts = []
    baseline = None if course is None else course.get("baseline_total")
    if _present(baseline):
        parts.append(f"Baseline {float(baseline):g}")
        keep = float(1 - rules.response_min_drop)
        parts.append(f"a response is {float(baseline) * keep:g} or lower")
    remission = rules.for_instrument(definition).remission_max_total
    if remission is not None:
        parts.append(f"remission is {remission} or lower")
    return ("; ".join(parts) + ".") if parts else ""


def trajectory_table(
    instrument: str | Instrument,
    scores: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    episodes: Sequence[EpisodeLike] = (),
    alerts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every score, infusion, response, relapse and safety alert of the trajectory figure
    (:func:`dashboard.charts.trajectory.trajectory_figure`), oldest first.

    Parameters
    ----------
    instrument : str or Instrument
    scores : DataFrame
        ``administered_at``, ``total`` (NA totals are left out, as on the chart) and
        optionally ``severity``.
    infusions : DataFrame
        ``administered_at``, ``route`` and optionally ``dose_mg_per_kg``.
    episodes : sequence
        The response episodes, as given to the figure.
    alerts : DataFrame, optional
        ``created_at``, ``kind`` and ``acknowledged_at``.

    Returns
    -------
    DataFrame
        Columns :data:`TABLE_COLUMNS`, all text: the day as the chart places it
        (``5 Jan 2026``), the day number counted from the first infusion (blank before it or
        without infusions), what happened and its detail (``14, moderate``; ``IV ketamine,
        0.50 mg per kg``; ``not yet acknowledged``).
    """
    definition = get_instrument(instrument)
    ordered = infusions.sort_values("administered_at")
    first = calendar_days(ordered["administered_at"]).iloc[0] if len(ordered) else None
    rows: list[tuple[pd.Timestamp, str, str, str]] = []

    for number, (_, infusion) in enumerate(ordered.iterrows(), start=1):
        route = str(infusion.get("route") or "")
        detail = ROUTE_NAMES.get(route, route)
        dose = infusion.get("dose_mg_per_kg")
        if _present(dose):
            # "per kg" in words: a screen reader says it, and the infusion form's own
            # "0.50 mg/kg" stays the one on the page a person (or a test) looks for.
            detail += f", {float(dose):.2f} mg per kg"
        rows.append(
            (calendar_day(infusion["administered_at"]), "infusion", f"Infusion {number}", detail)
        )
    valid = scores[scores["total"].notna()]
    for _, score in valid.iterrows():
        detail = f"{int(score['total'])}"
        severity = score.get("severity")
        if _present(severity):
            detail += f", {str(severity).replace('_', ' ')}"
        rows.append(
            (calendar_day(score["administered_at"]), "score", f"{definition.name} total", detail)
        )
    for episode in sorted(episodes, key=lambda e: int(e.number)):
        name = "Response" if int(episode.number) == 1 else f"Response, episode {episode.number}"
        if _present(episode.response_date):
            rows.append((calendar_day(episode.response_date), "response", name, ""))
        if _present(episode.relapse_date):
            rows.append(
                (
                    calendar_day(episode.relapse_date),
                    "relapse",
                    f"Relapse, episode {episode.number}",
                    "confirmed on the next score",
                )
            )
    if alerts is not None:
        for _, alert in alerts.iterrows():
            seen = alert["acknowledged_at"]
            rows.append(
                (
                    calendar_day(alert["created_at"]),
                    "alert",
                    f"Safety alert: {alert_label(str(alert['kind']))}",
                    f"acknowledged {_day_text(seen)}" if _present(seen) else "not yet acknowledged",
                )
            )

    rows.sort(key=lambda row: (row[0], _ORDER[row[1]]))
    return pd.DataFrame(
        [
            (
                _day_text(day),
                "" if first is None or day < first else str((day - first).days),
                what,
                detail,
            )
            for day, _, what, detail in rows
        ],
        columns=list(TABLE_COLUMNS),
    )


def _day_text(day: Any) -> str:
    stamp = calendar_day(day)
    return f"{stamp.day} {stamp:%b %Y}"
