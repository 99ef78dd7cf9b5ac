"""The outcomes report's cohort, induction funnel and published reference rates."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from outcomes.reporting import COMMUNITY_KETAMINE, induction_funnel, per_patient, select_cohort
from outcomes.rules import DEFAULT_RULES


def _infusions(rows: list[tuple[int, str, str, int, int]]) -> pd.DataFrame:
    """(patient, first day, protocol, clinician, number of infusions a day apart)."""
    frame = [
        (pid, pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=n, hours=15), protocol, carer)
        for pid, day, protocol, carer, count in rows
        for n in range(count)
    ]
    return pd.DataFrame(
        frame, columns=["patient_id", "administered_at", "protocol", "clinician_id"]
    )


INFUSIONS = _infusions(
    [
        (1, "2024-01-01", "IV 6", 10, 6),
        (2, "2024-01-31", "IV 6", 11, 8),
        (3, "2024-02-01", "IM", 10, 1),
        (4, "2024-03-15", "IV 6", 10, 5),
    ]
)


def test_without_filters_every_treated_patient_is_in_the_cohort() -> None:
    assert list(select_cohort(INFUSIONS)) == [1, 2, 3, 4]


def test_the_first_infusion_window_includes_both_end_days() -> None:
    # Patient 2's first infusion is at 15:00 on the last day: still inside.
    kept = select_cohort(INFUSIONS, first_between=(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert list(kept) == [1, 2]
    # A later infusion inside the window does not bring in a patient who started before it.
    kept = select_cohort(INFUSIONS, first_between=(dt.date(2024, 1, 2), dt.date(2024, 2, 1)))
    assert list(kept) == [2, 3]


def test_clinician_and_protocol_filters_combine() -> None:
    assert list(select_cohort(INFUSIONS, clinician_id=10)) == [1, 3, 4]
    assert list(select_cohort(INFUSIONS, clinician_id=10, protocol="IV 6")) == [1, 4]
    assert list(select_cohort(INFUSIONS, protocol="ketamine by post")) == []
    assert per_patient(INFUSIONS).loc[2].tolist() == ["IV 6", 11]


def test_the_funnel_follows_the_clinics_induction_length() -> None:
    assert induction_funnel(INFUSIONS) == {"infusion 1": 4, "infusion 6": 2, "maintenance": 1}
    shorter = DEFAULT_RULES.override(induction_infusions=5)
    assert induction_funnel(INFUSIONS, rules=shorter) == {
        "infusion 1": 4,
        "infusion 5": 3,
        "maintenance": 2,
    }


def test_reference_rates_are_shares_and_the_citation_states_each_figure() -> None:
    assert COMMUNITY_KETAMINE.rates
    for label, rate in COMMUNITY_KETAMINE.rates.items():
        assert 0 < rate < 1
        figure = re.search(r"(\d+\.\d)%", label)
        assert figure is not None and float(figure.group(1)) / 100 == rate
        assert f"{figure.group(1)}%" in COMMUNITY_KETAMINE.source
    assert "J Clin Psychiatry" in COMMUNITY_KETAMINE.source
