"""The outcomes report's cohort, induction funnel and published reference rates."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from outcomes.reporting import (
    OLIVER_2022,
    ORKA1,
    REFERENCES,
    ReferenceRates,
    induction_funnel,
    per_patient,
    references_at,
    select_cohort,
)
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


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.name)
def test_reference_rates_are_shares_and_the_citation_states_each_figure(
    reference: ReferenceRates,
) -> None:
    for label, rate in reference.rates.items():
        assert 0 < rate < 1
        figure = re.search(r"(\d+(?:\.\d)?)%", label)
        assert figure is not None and float(figure.group(1)) / 100 == pytest.approx(rate)
        assert f"{figure.group(1)}%".replace(".0%", "%") in reference.source
    assert reference.timepoint in {"orka1_window", "within_6_weeks"}


def test_each_reference_belongs_to_the_timepoint_of_its_source() -> None:
    """course-and-reporting §5: ORKA-1 (McInnes 2022, J Affect Disord 301:486) 53.6% / 28.9%
    at 14-31 days after induction; Oliver 2022 (J Clin Psychiatry) 50% / 20% within 6 weeks.
    The old single reference gave ORKA-1's figures to Oliver 2022 and drew them everywhere."""
    assert references_at("orka1_window") == (ORKA1,)
    assert (ORKA1.response, ORKA1.remission) == (0.536, 0.289)
    assert "J Affect Disord" in ORKA1.source and "301:486" in ORKA1.source
    assert references_at("within_6_weeks") == (OLIVER_2022,)
    assert (OLIVER_2022.response, OLIVER_2022.remission) == (0.50, 0.20)
    assert "J Clin Psychiatry" in OLIVER_2022.source
    for timepoint in ("end_of_induction", "week_4", "week_8", "week_12"):
        assert references_at(timepoint) == ()


def test_group_counts_add_up_with_an_unassigned_row_and_rates_carry_intervals() -> None:
    """Issue 12: clinician counts added up to 135 of 147 treated with no explanation."""
    from outcomes.course import course_outcomes
    from outcomes.rates import rate_with_interval
    from outcomes.reporting import COMPARISON_COLUMNS, compare_groups, suppress_comparison
    from tests.test_outcomes.test_rates import ASSESSMENTS as SCORES
    from tests.test_outcomes.test_rates import INFUSIONS as GIVEN

    courses = course_outcomes("phq9", SCORES, GIVEN)
    # f and late have nobody assigned
    groups = pd.Series({"a": "Dr A", "b": "Dr A", "c": "Dr B", "e": "Dr B", "f": None})
    table = compare_groups(courses, groups).set_index("group")
    assert list(table.reset_index().columns) == list(COMPARISON_COLUMNS)
    assert list(table.index) == ["Dr A", "Dr B", "Unassigned"]
    assert table["treated"].sum() == len(courses) == 6
    assert table.loc["Unassigned", "treated"] == 2
    assert (table["followed"] + table["not_followed"] == table["treated"]).all()
    dr_a = table.loc["Dr A"]
    assert (dr_a["treated"], dr_a["followed"], dr_a["responded"]) == (2, 2, 1)
    assert (dr_a["response_low"], dr_a["response_high"]) == pytest.approx(
        (rate_with_interval(1, 2).low, rate_with_interval(1, 2).high)
    )
    shown = suppress_comparison(table.reset_index()).set_index("group")
    assert shown.loc["Dr A", "treated"] == "< 5"
    assert shown[["response_rate", "response_low", "started_response_rate"]].isna().all().all()
