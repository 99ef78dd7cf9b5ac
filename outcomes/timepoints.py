"""Response and remission at each time point, assessed only and everyone who started.

Every rate comes with its numerator, its denominator and its Wilson 95% interval, two ways
side by side (course-and-reporting §5): over the patients *assessed* at the time point
(observed cases), and over *everyone who started* long enough ago for the time point to
have passed, a missing assessment counting as no response (non-responder imputation).
Frames are those of :mod:`outcomes.course`.

Rules (each a setting of :class:`outcomes.rules.Rules` or a keyword of
:func:`response_rates`)
------------------------------------------------------------------------------------------
* Response at a time point is a *point* status: the assessment at that time point is at
  least 50% below baseline (spec §3 criterion). Remission likewise uses the instrument's
  remission criterion, and patients whose baseline already met it are not eligible.
* **End of induction** [D]: the first valid assessment dated after the
  ``induction_infusions``-th infusion and within ``end_of_induction_window_days`` of it,
  for patients who received that many infusions.
* **Week w** [D]: the valid post-baseline assessment nearest to day ``7*w`` after the first
  infusion, within ``timepoint_window_days`` either side (ties: the earlier one).
* **ORKA-1 window** and **within 6 weeks**: the definitions of the two published
  references (:data:`outcomes.reporting.REFERENCES`), see :func:`response_rates`.

References
----------
.. [1] Trivedi MH et al. Am J Psychiatry. 2006;163(1):28-40 (response and remission).
.. [2] Rush AJ et al. Acute and longer-term outcomes in depressed outpatients requiring one or
   several treatment steps: a STAR*D report. Am J Psychiatry. 2006;163(11):1905-1917.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.alignment import align
from outcomes.course import _at_most, course_outcomes
from outcomes.course_days import calendar_days
from outcomes.errors import ScoringError
from outcomes.instruments import Instrument, get_instrument
from outcomes.rates import wilson_interval
from outcomes.rules import DEFAULT_RULES, Rules

RATE_COLUMNS = (
    "timepoint",
    "target_day",
    "eligible",
    "assessed",
    "missing",
    "responders",
    "response_rate",
    "response_low",
    "response_high",
    "remission_eligible",
    "remitters",
    "remission_rate",
    "remission_low",
    "remission_high",
    "started",
    "started_assessed",
    "started_missing",
    "started_responders",
    "started_response_rate",
    "started_response_low",
    "started_response_high",
    "started_remitters",
    "started_remission_rate",
    "started_remission_low",
    "started_remission_high",
)
"""The columns of :func:`response_rates`, in order."""

ORKA1_WINDOW = "orka1_window"
"""The time point of ORKA-1's definition (McInnes et al. 2022): see :func:`response_rates`."""


def within_weeks_timepoint(weeks: int) -> str:
    """The id of the "response within *w* weeks" time point (Oliver et al. 2022 reports 6)."""
    return f"within_{int(weeks)}_weeks"


def timepoint_label(timepoint: str) -> str:
    """A time point of :func:`response_rates` in words, as a page or chart shows it.

    >>> [timepoint_label(t) for t in ("end_of_induction", "week_4", "orka1_window")]
    ['End of induction', 'Week 4', 'ORKA-1 window']
    >>> timepoint_label("within_6_weeks")
    'Within 6 weeks'
    """
    if timepoint == "end_of_induction":
        return "End of induction"
    if timepoint == ORKA1_WINDOW:
        return "ORKA-1 window"
    parts = timepoint.split("_")
    if len(parts) == 2 and parts[0] == "week" and parts[1].isdigit():
        return f"Week {int(parts[1])}"
    if len(parts) == 3 and parts[0] == "within" and parts[1].isdigit():
        return f"Within {int(parts[1])} weeks"
    return timepoint.replace("_", " ").capitalize()


def valid_assessments(
    instrument: Instrument, assessments: pd.DataFrame, infusions: pd.DataFrame, rules: Rules
) -> pd.DataFrame:
    """Valid scores of ``instrument`` placed on their course: ``patient_id``, ``day`` (days
    since the first infusion) and ``total``; patients without an infusion are left out."""
    if "instrument" in assessments.columns:
        assessments = assessments[assessments["instrument"] == instrument.id]
    aligned = align(assessments, infusions, rules=rules)
    aligned = aligned[aligned["total"].notna() & aligned["days_since_first_infusion"].notna()]
    return pd.DataFrame(
        {
            "patient_id": aligned["patient_id"].to_numpy(),
            "day": aligned["days_since_first_infusion"].to_numpy(dtype=np.int64),
            "total": aligned["total"].to_numpy(dtype=np.int64),
        }
    )


def _rate_row(
    name: str,
    target_day: int | None,
    eligible: pd.Series,
    chosen: pd.DataFrame,
    started: pd.Index,
    instrument: Instrument,
    rules: Rules,
    confidence: float,
) -> dict[str, object]:
    """Rates from one chosen assessment per patient; ``eligible`` maps patient to baseline.

    ``started`` holds everyone whose window has closed (the everyone-who-started
    denominator); a patient of it with no chosen assessment counts as not responding.
    """
    return _rate_row_of(
        name,
        target_day,
        len(eligible),
        eligible.reindex(chosen["patient_id"]).to_numpy(dtype=np.int64),
        chosen["total"].to_numpy(dtype=np.int64),
        chosen["patient_id"].isin(started).to_numpy(dtype=bool),
        len(started),
        instrument,
        rules,
        confidence,
    )


def _rate_row_of(
    name: str,
    target_day: int | None,
    n_eligible: int,
    baseline: npt.NDArray[np.int64],
    totals: npt.NDArray[np.int64],
    in_started: npt.NDArray[np.bool_],
    n_started: int,
    instrument: Instrument,
    rules: Rules,
    confidence: float,
) -> dict[str, object]:
    """:func:`_rate_row` from arrays over the chosen assessments: each one's patient's
    baseline, its total and whether the patient is among the ``n_started``."""
    keep = 1 - rules.response_min_drop
    # Exact integer products, beyond int64 too (a float rule such as 1e-20), as the courses.
    responded = (baseline > 0) & _at_most(totals, baseline, keep)
    remission_max = rules.for_instrument(instrument).remission_max_total
    if remission_max is None:
        remission_eligible = np.zeros(len(totals), dtype=bool)
        remitted = remission_eligible
    else:
        remission_eligible = baseline > remission_max
        remitted = remission_eligible & (totals <= remission_max)
    assessed = len(totals)
    n_remission = int(remission_eligible.sum())
    counts = {
        "responders": int(responded.sum()),
        "remitters": int(remitted.sum()),
        "started_responders": int((responded & in_started).sum()),
        "started_remitters": int((remitted & in_started).sum()),
    }
    low, high = wilson_interval(
        [
            counts["responders"],
            counts["remitters"],
            counts["started_responders"],
            counts["started_remitters"],
        ],
        [assessed, n_remission, n_started, n_started],
        confidence=confidence,
    )
    return {
        "timepoint": name,
        "target_day": target_day,
        "eligible": n_eligible,
        "assessed": assessed,
        "missing": n_eligible - assessed,
        "responders": counts["responders"],
        "response_rate": counts["responders"] / assessed if assessed else np.nan,
        "response_low": low[0],
        "response_high": high[0],
        "remission_eligible": n_remission,
        "remitters": counts["remitters"],
        "remission_rate": counts["remitters"] / n_remission if n_remission else np.nan,
        "remission_low": low[1],
        "remission_high": high[1],
        "started": n_started,
        "started_assessed": int(in_started.sum()),
        "started_missing": n_started - int(in_started.sum()),
        "started_responders": counts["started_responders"],
        "started_response_rate": (
            counts["started_responders"] / n_started if n_started else np.nan
        ),
        "started_response_low": low[2],
        "started_response_high": high[2],
        "started_remitters": counts["started_remitters"],
        "started_remission_rate": (
            counts["started_remitters"] / n_started if n_started else np.nan
        ),
        "started_remission_low": low[3],
        "started_remission_high": high[3],
    }


def response_rates(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    weeks: Iterable[int] = (4, 8, 12),
    rules: Rules | None = None,
    courses: pd.DataFrame | None = None,
    today: dt.date | None = None,
    orka1_window: bool = True,
    within_weeks: Iterable[int] = (6,),
    induction_days: int = 21,
    induction_gap_days: int = 6,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Response and remission rates at each time point, assessed only and everyone who started.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument the ``total`` column belongs to.
    assessments, infusions : DataFrame
        See :mod:`outcomes.course`.
    weeks : iterable of int, default (4, 8, 12)
        Weeks after the first infusion.
    rules : Rules, optional
        Rule settings (time-point windows, induction length, thresholds).
    courses : DataFrame, optional
        ``course_outcomes(instrument, assessments, infusions, rules=rules)``, when the caller
        already has it (the outcomes page shows it too), so that it is not computed twice.
        Only ``baseline_total`` and ``completed_induction`` are read. It must come from the
        same frames and rules; that is not checked, and other courses give wrong rates.
    today : date, optional
        The day the everyone-who-started denominators are counted on (default: today).
    orka1_window : bool, default True
        Add the ``"orka1_window"`` time point, ORKA-1's definition (see Notes).
    within_weeks : iterable of int, default (6,)
        Add a "response within *w* weeks" time point for each (Oliver et al. 2022's
        definition, see Notes).
    induction_days : int, default 21
        How long an induction is expected to take (six infusions over two to three weeks)
        [D]: a patient who has not completed induction counts in the end-of-induction and
        ORKA-1 denominators of everyone who started once their first infusion is this many
        days plus the window's length ago.
    induction_gap_days : int, default 6
        The ORKA-1 induction series ends at the first gap between infusions longer than
        this (induction is two or three infusions a week; weekly or rarer ones are
        maintenance) [D].
    confidence : float, default 0.95
        Coverage of the Wilson score intervals.

    Returns
    -------
    DataFrame
        One row per time point, in the columns :data:`RATE_COLUMNS`, in the order
        ``end_of_induction``, ``week_4``, ``orka1_window``, ``within_6_weeks``, then the
        later weeks (``week_8``, ``week_12``): each extra time point goes after the last
        week that ends before it.

        Assessed only (completers): ``eligible`` (patients with a baseline; for the
        induction time points, who also completed the induction the point asks for),
        ``assessed`` (the denominator), ``missing`` (eligible, not assessed),
        ``responders``, ``response_rate`` with its interval ``response_low`` and
        ``response_high``, ``remission_eligible`` (assessed patients whose baseline was not
        already in remission), ``remitters``, ``remission_rate``, ``remission_low``,
        ``remission_high``.

        Everyone who started (non-responder imputation, course-and-reporting §5 [D]):
        ``started`` (the denominator: every patient with a first infusion whose window for
        the point has closed by ``today``, baseline or not), ``started_assessed``,
        ``started_missing`` (started, no assessment at the point: counted as not
        responding), ``started_responders``, ``started_response_rate`` with
        ``started_response_low`` and ``started_response_high``, and the same for
        remission (``started_remitters`` ...; a patient already in remission at baseline
        counts as not remitting).

        ``target_day`` is days after the first infusion (NA for the induction time
        points). Rates and intervals are NaN when their denominator is 0.

    Notes
    -----
    * **End of induction** [D]: the first valid assessment after the
      ``induction_infusions``-th infusion and within ``end_of_induction_window_days`` of it.
    * **Week w** [D]: the valid assessment nearest to day ``7*w``, within
      ``timepoint_window_days`` either side. Everyone who started: first infusion at least
      ``7*w + timepoint_window_days`` days before ``today``.
    * **ORKA-1 window** [V]: an induction series of 4 to 8 infusions (the first infusion and
      each next one within ``induction_gap_days`` of the one before), and the first valid
      assessment 14 to 31 days after its last infusion (McInnes et al. 2022 [3]_). Everyone
      who started: 31 days after the series' last infusion, or after ``induction_days``
      for a series that is too short or too long.
    * **Within w weeks** [V]: a response (or remission) at *any* valid assessment on days 1
      to ``7*w`` (Oliver et al. 2022 report response within 6 weeks [4]_); assessed means
      at least one such assessment. Everyone who started: first infusion at least ``7*w``
      days ago.
    * Intervals are Wilson score intervals (:func:`outcomes.rates.wilson_interval`).

    .. versionchanged:: 0.1.0
       ``courses`` added: a page that shows the courses as well computes them once.
       Everyone-who-started rates, Wilson intervals, the ORKA-1 window and within-6-weeks
       time points added (issue 12).

    References
    ----------
    .. [3] McInnes LA, Qian JJ, Gargeya RS, DeBattista C, Heifets BD. A retrospective
       analysis of ketamine intravenous therapy for depression in real-world care settings.
       J Affect Disord. 2022;301:486-495. doi:10.1016/j.jad.2022.01.004
    .. [4] Oliver PA, Snyder AD, Feinn R, Malov S, McDiarmid G, Arias AJ. Clinical
       effectiveness of intravenous racemic ketamine infusions in a large community sample
       of patients with treatment-resistant depression, suicidal ideation, and generalized
       anxiety symptoms: a retrospective chart review. J Clin Psychiatry.
       2022;83(6):21m14336. doi:10.4088/JCP.21m14336
    """
    definition = get_instrument(instrument)
    rules = rules or DEFAULT_RULES
    if courses is None:
        courses = course_outcomes(definition, assessments, infusions, rules=rules)
    elif not isinstance(courses, pd.DataFrame) or not {
        "baseline_total",
        "completed_induction",
    } <= set(courses.columns):
        raise ScoringError(
            "courses must be the DataFrame returned by course_outcomes() for the same "
            "assessments, infusions and rules; pass courses=None to compute it here"
        )
    with_baseline = courses[courses["baseline_total"].notna()]
    baselines = with_baseline["baseline_total"].astype(np.int64)
    valid = valid_assessments(definition, assessments, infusions, rules)
    valid = valid[valid["patient_id"].isin(baselines.index) & (valid["day"] > 0)]
    elapsed = _days_since_first_infusion(infusions, today or dt.date.today())

    def started_after(close: pd.Series | int) -> pd.Index:
        """Patients whose window closed (``close`` days after their first infusion)."""
        return elapsed.index[elapsed >= close]

    def window_row(
        name: str, eligible: pd.Series, anchor: pd.Series, window: tuple[int, int], close: pd.Series
    ) -> dict[str, object]:
        """The first assessment ``window`` days after each eligible patient's ``anchor``."""
        candidates = valid[valid["patient_id"].isin(eligible.index)].copy()
        candidates["since"] = candidates["day"] - anchor.reindex(candidates["patient_id"]).to_numpy(
            dtype=np.int64
        )
        candidates = candidates[candidates["since"].between(*window)]
        first = candidates.sort_values(["patient_id", "since"]).drop_duplicates("patient_id")
        return _rate_row(
            name, None, eligible, first, started_after(close), definition, rules, confidence
        )

    def expected_close(anchor: pd.Series, window_end: int) -> pd.Series:
        close = pd.Series(induction_days + window_end, index=elapsed.index, dtype=np.int64)
        known = anchor.index.intersection(close.index)
        close.loc[known] = anchor.loc[known].to_numpy(dtype=np.int64) + window_end
        return close

    weeks = sorted(int(week) for week in weeks)
    extra: list[tuple[int, dict[str, object]]] = []
    rows = []

    completed = baselines[with_baseline["completed_induction"]]
    last_induction_day = _induction_end_days(infusions, rules.induction_infusions)
    window = (1, rules.end_of_induction_window_days)
    rows.append(
        window_row(
            "end_of_induction",
            completed,
            last_induction_day,
            window,
            expected_close(last_induction_day, window[1]),
        )
    )
    if orka1_window:
        count, series_end = _induction_series(infusions, induction_gap_days)
        qualifying = series_end[count.between(4, 8)]
        orka = (14, 31)
        row = window_row(
            ORKA1_WINDOW,
            baselines[baselines.index.isin(qualifying.index)],
            qualifying,
            orka,
            expected_close(qualifying, orka[1]),
        )
        # ORKA-1's window lies about 4 to 7 weeks after the first infusion
        extra.append((induction_days + orka[0], row))
    for within in within_weeks:
        target = 7 * int(within)
        early = valid[valid["day"] <= target]
        best = early.sort_values(["patient_id", "total"]).drop_duplicates("patient_id")
        row = _rate_row(
            within_weeks_timepoint(within),
            target,
            baselines,
            best,
            started_after(target),
            definition,
            rules,
            confidence,
        )
        extra.append((target, row))

    for week in weeks:
        target = 7 * week
        near = valid.assign(distance=(valid["day"] - target).abs())
        near = near[near["distance"] <= rules.timepoint_window_days]
        nearest = near.sort_values(["patient_id", "distance", "day"]).drop_duplicates("patient_id")
        placed = [row for day, row in extra if day < target]
        rows.extend(placed)
        extra = [(day, row) for day, row in extra if day >= target]
        rows.append(
            _rate_row(
                f"week_{week}",
                target,
                baselines,
                nearest,
                started_after(target + rules.timepoint_window_days),
                definition,
                rules,
                confidence,
            )
        )
    rows.extend(row for _, row in extra)
    result = pd.DataFrame(rows, columns=list(RATE_COLUMNS))
    result["target_day"] = result["target_day"].astype("Int64")
    return result


def _infusion_days(infusions: pd.DataFrame) -> pd.DataFrame:
    """``patient_id`` and calendar ``day`` of each infusion, sorted."""
    return pd.DataFrame(
        {
            "patient_id": infusions["patient_id"].to_numpy(),
            "day": calendar_days(infusions["administered_at"]) if len(infusions) else [],
        }
    ).sort_values(["patient_id", "day"], kind="stable")


def _days_since_first_infusion(infusions: pd.DataFrame, today: dt.date) -> pd.Series:
    """Whole days from each patient's first infusion to ``today``."""
    days = _infusion_days(infusions)
    first = days.groupby("patient_id")["day"].min()
    today_day = int(calendar_days(pd.Series([today]))[0])
    return (today_day - first).astype(np.int64)


def _induction_series(infusions: pd.DataFrame, gap_days: int) -> tuple[pd.Series, pd.Series]:
    """Per patient: infusions in the first series (each within ``gap_days`` of the one
    before) and the day of its last infusion, relative to the first infusion."""
    days = _infusion_days(infusions)
    gap = days.groupby("patient_id")["day"].diff()
    breaks = (gap > gap_days).astype(np.int64).groupby(days["patient_id"]).cumsum()
    series = days[breaks.to_numpy() == 0]
    grouped = series.groupby("patient_id")["day"]
    return grouped.size().astype(np.int64), (grouped.max() - grouped.min()).astype(np.int64)


def _induction_end_days(infusions: pd.DataFrame, induction_infusions: int) -> pd.Series:
    """Day number of each patient's last induction infusion (for patients who had it)."""
    days = _infusion_days(infusions)
    days["number"] = days.groupby("patient_id").cumcount() + 1
    first = days.groupby("patient_id")["day"].min()
    at_end = days[days["number"] == induction_infusions].set_index("patient_id")["day"]
    # relative to the first infusion, like the assessments' "day"
    return (at_end - first.reindex(at_end.index)).astype(np.int64)


# --- Per-patient time-point facts, stored with the course state -------------------------------
#
# response_rates reads a clinic's every score. What it needs of one patient does not change
# with the day it is seen: for each time point, the total it chose (or none) and the day,
# counted from the first infusion, on which the time point's window closes (after which the
# patient counts among everyone who started). patient_timepoints states that for one patient
# in plain Python (cheap enough for every check-in's transaction); rates_from_timepoints turns
# a cohort's stored facts into exactly the table response_rates gives for any today.

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
        return _rate_row_of(
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
