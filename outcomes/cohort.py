"""Outcomes across many patients: mean trajectories, completeness, outcomes by group.

Rates at each time point live in :mod:`outcomes.timepoints` (assessed only and everyone who
started, with Wilson intervals); their names are imported here too, where callers have
always found them. Frames are those of :mod:`outcomes.course`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy import stats

from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.timepoints import (
    ORKA1_WINDOW,
    RATE_COLUMNS,
    response_rates,
    timepoint_label,
    valid_assessments,
    within_weeks_timepoint,
)

__all__ = [
    "ORKA1_WINDOW",
    "RATE_COLUMNS",
    "checkin_completeness",
    "mean_score_by_week",
    "outcomes_by_group",
    "response_rates",
    "timepoint_label",
    "within_weeks_timepoint",
]


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
    valid = valid_assessments(definition, assessments, infusions, rules)
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
