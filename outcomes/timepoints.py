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
from collections.abc import Iterable

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
    return rate_row_of(
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


def rate_row_of(
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
