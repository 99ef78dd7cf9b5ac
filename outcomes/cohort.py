"""Outcomes across many patients: rates with their denominators, mean trajectories.

Every rate comes with its numerator and denominator, so a page can show the *n* behind it and
hide groups too small to be anonymous. Frames are those of :mod:`outcomes.course`.

Rules (each a setting of :class:`outcomes.rules.Rules`)
------------------------------------------------------
* Response at a time point is a *point* status: the assessment at that time point is at
  least 50% below baseline (spec §3 criterion). Remission likewise uses the instrument's
  remission criterion, and patients whose baseline already met it are not eligible.
* **End of induction** [D]: the first valid assessment dated after the
  ``induction_infusions``-th infusion and within ``end_of_induction_window_days`` of it,
  for patients who received that many infusions.
* **Week w** [D]: the valid post-baseline assessment nearest to day ``7*w`` after the first
  infusion, within ``timepoint_window_days`` either side (ties: the earlier one).
* Rates are over patients *assessed* at the time point (observed cases); patients with a
  baseline but no assessment in the window are counted in ``missing``.

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
import pandas as pd
from scipy import stats

from outcomes.alignment import align
from outcomes.course import course_outcomes
from outcomes.course_days import calendar_days
from outcomes.errors import ScoringError
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules

RATE_COLUMNS = (
    "timepoint",
    "target_day",
    "eligible",
    "assessed",
    "missing",
    "responders",
    "response_rate",
    "remission_eligible",
    "remitters",
    "remission_rate",
)


def _valid_assessments(
    instrument: Instrument, assessments: pd.DataFrame, infusions: pd.DataFrame, rules: Rules
) -> pd.DataFrame:
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
    instrument: Instrument,
    rules: Rules,
) -> dict[str, object]:
    """Rates from one chosen assessment per patient; ``eligible`` maps patient to baseline."""
    baseline = eligible.reindex(chosen["patient_id"]).to_numpy(dtype=np.int64)
    totals = chosen["total"].to_numpy(dtype=np.int64)
    keep = 1 - rules.response_min_drop
    responded = (baseline > 0) & (totals * keep.denominator <= baseline * keep.numerator)
    remission_max = rules.for_instrument(instrument).remission_max_total
    if remission_max is None:
        remission_eligible = np.zeros(len(totals), dtype=bool)
        remitted = remission_eligible
    else:
        remission_eligible = baseline > remission_max
        remitted = remission_eligible & (totals <= remission_max)
    assessed = len(chosen)
    n_remission = int(remission_eligible.sum())
    return {
        "timepoint": name,
        "target_day": target_day,
        "eligible": len(eligible),
        "assessed": assessed,
        "missing": len(eligible) - assessed,
        "responders": int(responded.sum()),
        "response_rate": responded.sum() / assessed if assessed else np.nan,
        "remission_eligible": n_remission,
        "remitters": int(remitted.sum()),
        "remission_rate": remitted.sum() / n_remission if n_remission else np.nan,
    }


def response_rates(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    weeks: Iterable[int] = (4, 8, 12),
    rules: Rules | None = None,
    courses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Response and remission rates at the end of induction and at given weeks.

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

    Returns
    -------
    DataFrame
        One row per time point (``end_of_induction``, ``week_4`` ...) with columns
        ``timepoint``, ``target_day`` (days after the first infusion; NA for the end of
        induction), ``eligible`` (patients with a baseline; for the end of induction, who
        also completed induction), ``assessed`` (the denominator), ``missing``,
        ``responders``, ``response_rate``, ``remission_eligible`` (assessed patients whose
        baseline was not already in remission), ``remitters``, ``remission_rate``. Rates are
        NaN when their denominator is 0.

    Notes
    -----
    .. versionchanged:: 0.1.0
       ``courses`` added: a page that shows the courses as well computes them once.
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
    valid = _valid_assessments(definition, assessments, infusions, rules)
    valid = valid[valid["patient_id"].isin(baselines.index) & (valid["day"] > 0)]
    rows = []

    completed = baselines[with_baseline["completed_induction"]]
    last_induction_day = _induction_end_days(infusions, rules.induction_infusions)
    candidates = valid[valid["patient_id"].isin(completed.index)].copy()
    candidates["since"] = candidates["day"] - last_induction_day.reindex(
        candidates["patient_id"]
    ).to_numpy(dtype=np.int64)
    candidates = candidates[
        (candidates["since"] > 0) & (candidates["since"] <= rules.end_of_induction_window_days)
    ]
    first = candidates.sort_values(["patient_id", "since"]).drop_duplicates("patient_id")
    rows.append(_rate_row("end_of_induction", None, completed, first, definition, rules))

    for week in weeks:
        target = 7 * int(week)
        near = valid.assign(distance=(valid["day"] - target).abs())
        near = near[near["distance"] <= rules.timepoint_window_days]
        nearest = near.sort_values(["patient_id", "distance", "day"]).drop_duplicates("patient_id")
        rows.append(_rate_row(f"week_{week}", target, baselines, nearest, definition, rules))
    result = pd.DataFrame(rows, columns=list(RATE_COLUMNS))
    result["target_day"] = result["target_day"].astype("Int64")
    return result


def _induction_end_days(infusions: pd.DataFrame, induction_infusions: int) -> pd.Series:
    """Day number of each patient's last induction infusion (for patients who had it)."""
    days = pd.DataFrame(
        {
            "patient_id": infusions["patient_id"].to_numpy(),
            "day": calendar_days(infusions["administered_at"]) if len(infusions) else [],
        }
    ).sort_values(["patient_id", "day"])
    days["number"] = days.groupby("patient_id").cumcount() + 1
    first = days.groupby("patient_id")["day"].min()
    at_end = days[days["number"] == induction_infusions].set_index("patient_id")["day"]
    # relative to the first infusion, like the assessments' "day"
    return (at_end - first.reindex(at_end.index)).astype(np.int64)


def mean_score_by_week(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    confidence: float = 0.95,
    rules: Rules | None = None,
) -> pd.DataFrame:
    """Mean total by week since the first infusion, with a confidence interval and n.

    Week 0 is the baseline (the last valid assessment on or before the first infusion);
    week *w* >= 1 holds days ``7*(w-1)+1`` to ``7*w`` after it. Each patient contributes
    their latest valid assessment of each week, so a patient counts once per week.

    Returns
    -------
    DataFrame
        ``week``, ``n`` (patients), ``mean``, ``sd``, ``ci_lower``, ``ci_upper``
        (t-distribution interval; NaN when n < 2).
    """
    definition = get_instrument(instrument)
    rules = rules or DEFAULT_RULES
    valid = _valid_assessments(definition, assessments, infusions, rules)
    baseline = valid[valid["day"] <= 0].sort_values(["patient_id", "day"])
    baseline = baseline.drop_duplicates("patient_id", keep="last").assign(week=0)
    post = valid[valid["day"] > 0].assign(week=lambda f: (f["day"] + 6) // 7)
    post = post.sort_values(["patient_id", "week", "day"]).drop_duplicates(
        ["patient_id", "week"], keep="last"
    )
    weekly = pd.concat([baseline, post], ignore_index=True)
    grouped = weekly.groupby("week")["total"]
    summary = pd.DataFrame(
        {"n": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)}
    ).reset_index()
    n = summary["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half_width = stats.t.ppf(0.5 + confidence / 2, n - 1) * summary["sd"] / np.sqrt(n)
    half_width = half_width.where(summary["n"] >= 2)
    summary["ci_lower"] = summary["mean"] - half_width
    summary["ci_upper"] = summary["mean"] + half_width
    summary["week"] = summary["week"].astype(np.int64)
    summary["n"] = summary["n"].astype(np.int64)
    return summary[["week", "n", "mean", "sd", "ci_lower", "ci_upper"]]


def checkin_completeness(
    courses: pd.DataFrame,
    assessments: pd.DataFrame,
    *,
    today: dt.date,
    weeks: int = 12,
) -> pd.DataFrame:
    """Share of expected weekly check-ins received, per patient, in the first ``weeks`` weeks.

    A patient is expected to check in once in each week since their first infusion (week *w*
    = days ``7*(w-1)+1`` to ``7*w``, as :func:`mean_score_by_week`), up to ``weeks`` weeks or
    up to today, whichever is fewer (at least one). A week counts as received when it holds
    at least one valid score.

    Returns
    -------
    DataFrame
        Indexed by ``patient_id`` (patients with a first infusion): ``expected``,
        ``received`` and ``share`` (received / expected).
    """
    followed = courses[courses["first_infusion_date"].notna()]
    first_day = pd.to_datetime(followed["first_infusion_date"])
    expected = ((pd.Timestamp(today) - first_day).dt.days // 7).clip(lower=1, upper=weeks)
    valid = assessments[assessments["total"].notna()]
    score_day = pd.to_datetime(valid["administered_at"], utc=True).dt.tz_localize(None)
    days = (score_day.dt.normalize() - valid["patient_id"].map(first_day)).dt.days
    week = (days + 6) // 7
    window = valid["patient_id"].map(expected)
    seen = valid.assign(week=week)[(week >= 1) & (week <= window)]
    received = seen.groupby("patient_id")["week"].nunique().reindex(followed.index, fill_value=0)
    received = received.astype(np.int64)
    return pd.DataFrame(
        {"expected": expected.astype(np.int64), "received": received, "share": received / expected}
    )


def outcomes_by_group(courses: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Patients followed, ever responded and ever remitted, per group (clinician, protocol).

    ``groups`` maps ``patient_id`` to a group label. Only followed patients (a baseline and at
    least one later score) count. Returns ``group``, ``patients``, ``responded``,
    ``remitted``, ``response_rate`` and ``remission_rate``, unsuppressed: show it through
    :func:`outcomes.privacy.suppress_group_table`.
    """
    # Followed whatever the status today (a course that ended or was lost still counts).
    followed = courses[courses["followup_days"].notna()]
    labelled = followed.assign(group=groups.reindex(followed.index)).dropna(subset=["group"])
    table = labelled.groupby("group").agg(
        patients=("censored", "size"),
        responded=("response_date", lambda s: int(s.notna().sum())),
        remitted=("remission_date", lambda s: int(s.notna().sum())),
    )
    table["response_rate"] = table["responded"] / table["patients"]
    table["remission_rate"] = table["remitted"] / table["patients"]
    return table.reset_index()
