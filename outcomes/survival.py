"""Kaplan-Meier curves for time to response and durability of response.

lifelines' :class:`~lifelines.KaplanMeierFitter` does the estimation (product-limit estimate
with the exponential Greenwood confidence interval); this module decides origin, event and
censoring exactly as ``shared/clinical/scoring-spec.md`` §3 says and returns plain
DataFrames, so no caller touches a fitter object.

References
----------
.. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
   J Am Stat Assoc. 1958;53(282):457-481. doi:10.1080/01621459.1958.10501452
.. [2] Davidson-Pilon C. lifelines: survival analysis in Python. J Open Source Softw.
   2019;4(40):1317. doi:10.21105/joss.01317
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from outcomes.errors import ScoringError

CURVE_COLUMNS = ("days", "probability", "ci_lower", "ci_upper", "at_risk", "events", "censored")


def kaplan_meier(
    durations: pd.Series | np.ndarray,
    events: pd.Series | np.ndarray,
    *,
    cumulative: bool = False,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Kaplan-Meier estimate with its confidence interval, as a DataFrame.

    Parameters
    ----------
    durations : array-like of int
        Days from origin to event or censoring, one per subject (non-negative).
    events : array-like of bool
        Whether the event was observed (``False``: censored at ``durations``).
    cumulative : bool, default False
        Report the cumulative probability of the event, ``1 - S(t)``, instead of ``S(t)``
        (e.g. the share of patients who have responded by day *t*).
    alpha : float, default 0.05
        ``1 - alpha`` is the confidence level (95% by default).

    Returns
    -------
    DataFrame
        One row per distinct time, starting at day 0: ``days``, ``probability``,
        ``ci_lower``, ``ci_upper``, ``at_risk`` (subjects at risk just before that day),
        ``events`` and ``censored`` (on that day). Empty (with these columns) without
        subjects.
    """
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(events, dtype=bool)
    if durations.shape != observed.shape:
        raise ScoringError("durations and events must have the same length")
    if len(durations) == 0:
        return pd.DataFrame({column: pd.Series(dtype=float) for column in CURVE_COLUMNS})
    if np.isnan(durations).any() or (durations < 0).any():
        raise ScoringError("durations must be non-negative numbers of days, with none missing")
    fitter = KaplanMeierFitter(alpha=alpha)
    fitter.fit(durations, event_observed=observed)
    survival = fitter.survival_function_.iloc[:, 0]
    interval = fitter.confidence_interval_survival_function_
    lower, upper = interval.iloc[:, 0], interval.iloc[:, 1]
    table = fitter.event_table
    curve = pd.DataFrame(
        {
            "days": survival.index.to_numpy(dtype=float),
            "probability": survival.to_numpy(),
            "ci_lower": lower.to_numpy(),
            "ci_upper": upper.to_numpy(),
            "at_risk": table["at_risk"].reindex(survival.index).to_numpy(),
            "events": table["observed"].reindex(survival.index).to_numpy(),
            "censored": table["censored"].reindex(survival.index).to_numpy(),
        }
    )
    if cumulative:
        curve["probability"] = 1 - curve["probability"]
        curve["ci_lower"], curve["ci_upper"] = 1 - upper.to_numpy(), 1 - lower.to_numpy()
    return curve


def time_to_response_curve(courses: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Cumulative probability of response by day since the first infusion (spec §3).

    Parameters
    ----------
    courses : DataFrame
        :func:`outcomes.course.course_outcomes` output (``days_to_response``,
        ``followup_days``).

    Returns
    -------
    DataFrame
        :func:`kaplan_meier` with ``cumulative=True``. Origin: the first infusion. Event:
        response. Non-responders are censored at their last post-baseline assessment.
        Patients without a baseline or without follow-up are not in the risk set.
    """
    followed = courses[courses["followup_days"].notna() & courses["baseline_total"].notna()]
    responded = followed["days_to_response"].notna()
    durations = followed["days_to_response"].where(responded, followed["followup_days"])
    return kaplan_meier(
        durations.to_numpy(dtype=float), responded.to_numpy(), cumulative=True, alpha=alpha
    )


def durability_curve(courses: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Probability that a response still holds, by day since the response (spec §3).

    Parameters
    ----------
    courses : DataFrame
        :func:`outcomes.course.course_outcomes` output (``response_date``,
        ``relapse_date``, ``durable_response_days``).

    Returns
    -------
    DataFrame
        :func:`kaplan_meier` of ``S(t)``. Origin: the response date. Event: relapse.
        Responders without a relapse are censored at their last post-baseline assessment.
        Non-responders are not in the risk set.
    """
    responders = courses[courses["durable_response_days"].notna()]
    relapsed = responders["relapse_date"].notna()
    return kaplan_meier(
        responders["durable_response_days"].to_numpy(dtype=float),
        relapsed.to_numpy(),
        alpha=alpha,
    )


def median_days(curve: pd.DataFrame, *, cumulative: bool = False) -> float | None:
    """First day on which the curve reaches 50% (``None`` if it never does).

    For a survival curve (durability) that is the median durability; for a cumulative one
    (time to response) the median time to response.
    """
    if curve.empty:
        return None
    reached = curve["probability"] >= 0.5 if cumulative else curve["probability"] <= 0.5
    if not reached.any():
        return None
    days = curve["days"].to_numpy(dtype=float)
    return float(days[int(np.argmax(reached.to_numpy()))])
