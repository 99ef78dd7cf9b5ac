"""Kaplan-Meier curves: a textbook golden table, and origin/event/censoring of spec §3."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from outcomes.errors import ScoringError
from outcomes.survival import (
    CURVE_COLUMNS,
    durability_curve,
    kaplan_meier,
    median_days,
    time_to_response_curve,
)

# Freireich EJ et al. Blood. 1963;21:699-716: weeks in remission, 6-MP arm (+ = censored).
GEHAN_6MP = "6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+"


def test_kaplan_meier_reproduces_the_6mp_leukaemia_table() -> None:
    """Kleinbaum DG, Klein M. Survival Analysis: A Self-Learning Text, 3rd ed., Springer 2012,
    chapter 2, table of the KM estimates for the 6-MP group of the Freireich remission data:
    S(6)=0.8571, S(7)=0.8067, S(10)=0.7529, S(13)=0.6902, S(16)=0.6275, S(22)=0.5378,
    S(23)=0.4482."""
    tokens = GEHAN_6MP.split()
    durations = [float(t.rstrip("+")) for t in tokens]
    events = [not t.endswith("+") for t in tokens]
    curve = kaplan_meier(durations, events)
    assert tuple(curve.columns) == CURVE_COLUMNS
    at = curve.set_index("days")["probability"]
    expected = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}
    for day, survival in expected.items():
        assert at[day] == pytest.approx(survival, abs=5e-5)
    assert (curve["ci_lower"] <= curve["probability"] + 1e-12).all()
    assert (curve["probability"] <= curve["ci_upper"] + 1e-12).all()
    assert curve.loc[curve["days"] == 6, "at_risk"].item() == 21
    assert curve.loc[curve["days"] == 6, "events"].item() == 3
    assert median_days(curve) == 23


def test_cumulative_curve_is_one_minus_survival_with_flipped_interval() -> None:
    survival = kaplan_meier([1, 2, 3, 4], [True, False, True, True])
    cumulative = kaplan_meier([1, 2, 3, 4], [True, False, True, True], cumulative=True)
    np.testing.assert_allclose(cumulative["probability"], 1 - survival["probability"])
    np.testing.assert_allclose(cumulative["ci_lower"], 1 - survival["ci_upper"])


def test_kaplan_meier_refuses_negative_or_missing_durations() -> None:
    with pytest.raises(ScoringError, match="non-negative"):
        kaplan_meier([1, -2], [True, True])
    with pytest.raises(ScoringError, match="same length"):
        kaplan_meier([1, 2], [True])
    assert kaplan_meier([], []).empty


def _courses() -> pd.DataFrame:
    d = dt.date(2024, 1, 1)
    return pd.DataFrame(
        {
            "baseline_total": pd.array([20, 20, 20, None, 20], dtype="Int64"),
            "days_to_response": pd.array([7, None, 14, None, None], dtype="Int64"),
            "followup_days": pd.array([60, 30, 90, None, None], dtype="Int64"),
            "response_date": [d, None, d, None, None],
            "relapse_date": [d, None, None, None, None],
            "durable_response_days": pd.array([21, None, 76, None, None], dtype="Int64"),
        },
        index=pd.Index(["a", "b", "c", "no_baseline", "no_followup"], name="patient_id"),
    )


def test_time_to_response_censors_non_responders_at_their_last_assessment() -> None:
    """Spec §3: origin = first infusion; event = response; non-responders censored at the
    last post-baseline assessment; patients without baseline or follow-up not at risk."""
    curve = time_to_response_curve(_courses())
    assert curve["at_risk"].iloc[0] == 3
    events = curve.set_index("days")
    assert events.loc[7, "events"] == 1
    assert events.loc[14, "events"] == 1
    assert events.loc[30, "censored"] == 1
    assert curve["probability"].iloc[-1] == pytest.approx(2 / 3)


def test_durability_has_only_responders_at_risk_and_relapse_as_the_event() -> None:
    """Spec §3: origin = response date; event = relapse; censored at the last assessment;
    non-responders are not in the risk set."""
    curve = durability_curve(_courses())
    assert curve["at_risk"].iloc[0] == 2
    events = curve.set_index("days")
    assert events.loc[21, "events"] == 1
    assert events.loc[76, "censored"] == 1
    assert events.loc[21, "probability"] == pytest.approx(0.5)
