"""Per-patient time-point facts, stored with the course state, and the rates they give.

:func:`outcomes.timepoints.response_rates` reads a clinic's every score. What it needs of one
patient does not change with the day it is seen: for each time point, the total it chose (or
none) and the day, counted from the first infusion, on which the time point's window closes
(after which the patient counts among everyone who started). :func:`patient_timepoints`
states that for one patient in plain Python (cheap enough for every check-in's transaction,
``data.course_state``); :func:`rates_from_timepoints` turns a cohort's stored facts into
exactly the table ``response_rates`` gives for any today (``tests/test_outcomes/
test_stored_rates.py`` checks it with Hypothesis). The rules are those of
:mod:`outcomes.timepoints`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.course_days import calendar_days
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.timepoints import (
    ORKA1_WINDOW,
    RATE_COLUMNS,
    rate_row_of,
    within_weeks_timepoint,
)

TimepointFacts = dict[str, dict[str, int | bool | None]]
"""Time point to ``{"total": int or None, "closes": int}`` (plus ``"qualifies"`` for the
ORKA-1 window): see :func:`patient_timepoints`."""


def patient_timepoints(
    infusion_dates: Sequence[dt.date],
    assessments: Iterable[tuple[dt.date, int | None]],
    *,
    rules: Rules | None = None,
    weeks: Iterable[int] = (4, 8, 12),
    orka1_window: bool = True,
    within_weeks: Iterable[int] = (6,),
    induction_days: int = 21,
    induction_gap_days: int = 6,
) -> TimepointFacts | None:
    """What :func:`response_rates` needs of one patient at each time point, on no particular day.

    Parameters
    ----------
    infusion_dates : sequence of date
        The patient's infusions (calendar days, UTC; a day may repeat), in any order.
    assessments : iterable of (date, int or None)
        The patient's scores of one instrument in the order they are read (a same-day tie
        goes to the one read first, as in :func:`response_rates`); None for an invalid one.
    rules, weeks, orka1_window, within_weeks, induction_days, induction_gap_days
        As :func:`response_rates`.

    Returns
    -------
    dict or None
        None for a patient without an infusion (in no denominator). Otherwise, for each
        time point of :func:`response_rates`, ``{"total": ..., "closes": ...}``: the total
        the time point chose (None when no valid score falls in its window) and the day after
        the first infusion on which the window closes. The ORKA-1 window adds
        ``"qualifies"``: the first induction series had 4 to 8 infusions. JSON as it is:
        strings, integers, booleans and null only.

    Notes
    -----
    Each rule is :func:`response_rates`' own (see its Notes); whether the patient has a
    baseline or completed induction is read from the course facts when rates are computed
    (:func:`rates_from_timepoints`), so these facts never depend on them.
    """
    rules = rules or DEFAULT_RULES
    given = sorted(infusion_dates)
    if not given:
        return None
    first = given[0]
    # Valid scores after the first infusion's day, as (day since the first infusion, total).
    valid = [
        ((day - first).days, total)
        for day, total in assessments
        if total is not None and (day - first).days > 0
    ]

    def first_after(anchor: int, low: int, high: int) -> int | None:
        """The total of the first valid score ``low`` to ``high`` days after ``anchor``."""
        best: tuple[int, int] | None = None
        for day, score in valid:
            since = day - anchor
            if low <= since <= high and (best is None or since < best[0]):
                best = (since, score)
        return None if best is None else best[1]

    facts: TimepointFacts = {}
    needed = rules.induction_infusions
    window = rules.end_of_induction_window_days
    if 1 <= needed <= len(given):
        anchor = (given[needed - 1] - first).days
        facts["end_of_induction"] = {
            "total": first_after(anchor, 1, window),
            "closes": anchor + window,
        }
    else:
        facts["end_of_induction"] = {"total": None, "closes": induction_days + window}
    if orka1_window:
        series = [given[0]]
        for day in given[1:]:
            if (day - series[-1]).days > induction_gap_days:
                break
            series.append(day)
        end = (series[-1] - first).days
        if 4 <= len(series) <= 8:
            facts[ORKA1_WINDOW] = {
                "total": first_after(end, 14, 31),
                "closes": end + 31,
                "qualifies": True,
            }
        else:
            facts[ORKA1_WINDOW] = {"total": None, "closes": induction_days + 31, "qualifies": False}
    for within in within_weeks:
        target = 7 * int(within)
        early = [score for since, score in valid if since <= target]
        facts[within_weeks_timepoint(within)] = {
            "total": min(early) if early else None,
            "closes": target,
        }
    for week in sorted(int(week) for week in weeks):
        target = 7 * week
        nearest: tuple[int, int, int] | None = None
        for since, score in valid:
            distance = abs(since - target)
            if distance <= rules.timepoint_window_days and (
                nearest is None or (distance, since) < nearest[:2]
            ):
                nearest = (distance, since, score)
        facts[f"week_{week}"] = {
            "total": None if nearest is None else nearest[2],
            "closes": target + rules.timepoint_window_days,
        }
    return facts


def timepoint_facts(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    rules: Rules | None = None,
    **timepoints: Any,
) -> pd.Series:
    """:func:`patient_timepoints` of every patient with an infusion, from the frames of
    :func:`response_rates` (``timepoints``: its time-point keywords); a Series by patient.
    """
    definition = get_instrument(instrument)
    if "instrument" in assessments.columns:
        assessments = assessments[assessments["instrument"] == definition.id]
    scores: dict[Any, list[tuple[dt.date, int | None]]] = {}
    if len(assessments):
        days = calendar_days(assessments["administered_at"])
        totals = assessments["total"].tolist()
        for patient, day, total in zip(assessments["patient_id"], days, totals, strict=True):
            scores.setdefault(patient, []).append(
                (_EPOCH + dt.timedelta(days=int(day)), None if pd.isna(total) else int(total))
            )
    given: dict[Any, list[dt.date]] = {}
    if len(infusions):
        days = calendar_days(infusions["administered_at"])
        for patient, day in zip(infusions["patient_id"], days, strict=True):
            given.setdefault(patient, []).append(_EPOCH + dt.timedelta(days=int(day)))
    return pd.Series(
        {
            patient: patient_timepoints(dates, scores.get(patient, []), rules=rules, **timepoints)
            for patient, dates in given.items()
        },
        dtype=object,
    )


_EPOCH = dt.date(1970, 1, 1)


def timepoint_columns(
    *,
    weeks: Iterable[int] = (4, 8, 12),
    orka1_window: bool = True,
    within_weeks: Iterable[int] = (6,),
) -> tuple[tuple[str, str, str], ...]:
    """The facts :func:`rates_from_timepoints` reads, as (column, time point, key).

    The column is ``"<time point>.<key>"``: ``total`` and ``closes`` of every time point,
    and ``qualifies`` of the ORKA-1 window. Integers (or None), and a boolean.
    """
    names = ["end_of_induction", *(f"week_{int(week)}" for week in weeks)]
    names += [within_weeks_timepoint(within) for within in within_weeks]
    columns = [(f"{n}.{key}", n, key) for n in names for key in ("total", "closes")]
    if orka1_window:
        columns += [(f"{ORKA1_WINDOW}.{key}", ORKA1_WINDOW, key) for key in ("total", "closes")]
        columns.append((f"{ORKA1_WINDOW}.qualifies", ORKA1_WINDOW, "qualifies"))
    return tuple(columns)


def flat_timepoints(facts: pd.Series, **timepoints: Any) -> pd.DataFrame:
    """:func:`patient_timepoints` facts (a Series of dicts or None) as the
    :func:`timepoint_columns` (``timepoints``: the same keywords), one row per patient."""
    columns = timepoint_columns(**timepoints)
    return pd.DataFrame(
        {
            column: [None if one is None else one[name][key] for one in facts]
            for column, name, key in columns
        },
        index=facts.index,
        dtype=object,
    )


def rates_from_timepoints(
    instrument: str | Instrument,
    courses: pd.DataFrame,
    *,
    today: dt.date,
    weeks: Iterable[int] = (4, 8, 12),
    rules: Rules | None = None,
    orka1_window: bool = True,
    within_weeks: Iterable[int] = (6,),
    induction_days: int = 21,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`response_rates` from the stored facts of a cohort, on ``today``.

    Parameters
    ----------
    courses : DataFrame
        One row per patient of the cohort (index: patient, or a pseudonym):
        ``baseline_total``, ``completed_induction``, ``first_infusion_date`` (the course
        facts) and the :func:`timepoint_columns` of :func:`patient_timepoints` with the same
        keywords (:func:`flat_timepoints`; a database can extract them from its JSON).
    today, weeks, rules, orka1_window, within_weeks, induction_days, confidence
        As :func:`response_rates`; the time-point keywords must be those the facts were
        computed with.

    Returns
    -------
    DataFrame
        Exactly :func:`response_rates` of the cohort's assessments and infusions.
    """
    definition = get_instrument(instrument)
    rules = rules or DEFAULT_RULES
    # Positional arrays over the patients with a first infusion (everyone else is in no
    # denominator: a baseline needs a first infusion): no per-patient index lookups.
    followed = courses[courses["first_infusion_date"].notna()]
    baseline = pd.to_numeric(followed["baseline_total"], errors="coerce").to_numpy(dtype=float)
    has_baseline = ~np.isnan(baseline)
    completed = followed["completed_induction"].to_numpy(dtype=bool)
    elapsed = np.array(
        [(today - first).days for first in followed["first_infusion_date"]], dtype=np.int64
    )

    def fact(name: str, key: str) -> npt.NDArray[np.float64]:
        values = pd.to_numeric(followed[f"{name}.{key}"], errors="coerce")
        return values.to_numpy(dtype=float)

    def row(
        name: str, target_day: int | None, eligible: npt.NDArray[np.bool_]
    ) -> dict[str, object]:
        totals = fact(name, "total")
        chosen = eligible & ~np.isnan(totals)
        started = elapsed >= fact(name, "closes")
        return rate_row_of(
            name,
            target_day,
            int(eligible.sum()),
            baseline[chosen].astype(np.int64),
            totals[chosen].astype(np.int64),
            started[chosen],
            int(started.sum()),
            definition,
            rules,
            confidence,
        )

    rows = [row("end_of_induction", None, has_baseline & completed)]
    extra: list[tuple[int, dict[str, object]]] = []
    if orka1_window:
        qualifies = fact(ORKA1_WINDOW, "qualifies") == 1
        extra.append(
            (
                induction_days + 14,
                row(ORKA1_WINDOW, None, has_baseline & qualifies),
            )
        )
    for within in within_weeks:
        target = 7 * int(within)
        extra.append((target, row(within_weeks_timepoint(within), target, has_baseline)))
    for week in sorted(int(week) for week in weeks):
        target = 7 * week
        rows.extend(placed for day, placed in extra if day < target)
        extra = [(day, placed) for day, placed in extra if day >= target]
        rows.append(row(f"week_{week}", target, has_baseline))
    rows.extend(placed for _, placed in extra)
    result = pd.DataFrame(rows, columns=list(RATE_COLUMNS))
    result["target_day"] = result["target_day"].astype("Int64")
    return result
