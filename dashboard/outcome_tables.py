"""The outcomes page's tables in words: labels, percentages with intervals, blanks for missing.

A table beside a chart carries the same numbers for someone who cannot see the chart, and a
table is what an administrator copies into a report: no ``end_of_induction``, ``0.6486`` or
``None``. Every builder takes frames that are already suppressed
(:func:`outcomes.reporting.suppress_rate_table`, :func:`~outcomes.reporting.suppress_comparison`)
and returns a DataFrame of text for ``st.dataframe``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import pandas as pd

from outcomes.privacy import shown_count
from outcomes.reporting import ReferenceRates
from outcomes.timepoints import timepoint_label

Measure = Literal["response", "remission"]


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def percent(value: object) -> str:
    """A share as a percentage with one decimal ("64.9%"); blank when there is none."""
    if _missing(value):
        return ""
    return f"{float(value):.1%}"  # type: ignore[arg-type]


def with_interval(rate: object, low: object, high: object) -> str:
    """ "64.9% (95% CI 48.7% to 78.2%)"; blank when there is no rate."""
    if _missing(rate):
        return ""
    if _missing(low) or _missing(high):
        return percent(rate)
    return f"{percent(rate)} (95% CI {percent(low)} to {percent(high)})"


def count(value: object) -> str:
    """A count as shown (already ``"< 5"`` where small); blank when missing."""
    return "" if _missing(value) else str(value)


def rates_table(
    rates: pd.DataFrame, *, measure: Measure, references: Sequence[ReferenceRates] = ()
) -> pd.DataFrame:
    """:func:`outcomes.cohort.response_rates` (suppressed) for one measure, in words.

    Each row: the time point, the assessed-only rate with its interval and the numbers
    behind it, the everyone-who-started rate likewise, how many who started were not
    assessed, and the published rate only on the row of the time point its source defined.
    """
    people = "responders" if measure == "response" else "remitters"
    eligible = "assessed" if measure == "response" else "remission_eligible"
    rows = []
    for row in rates.to_dict("records"):
        published = "; ".join(
            f"{reference.name}: {percent(getattr(reference, measure))}"
            for reference in references
            if reference.timepoint == row["timepoint"]
        )
        rows.append(
            {
                "Time point": timepoint_label(str(row["timepoint"])),
                "Assessed only": with_interval(
                    row[f"{measure}_rate"], row[f"{measure}_low"], row[f"{measure}_high"]
                ),
                "Assessed only, numbers": (
                    f"{count(row[people])} of {count(row[eligible])} assessed"
                ),
                "Everyone who started": with_interval(
                    row[f"started_{measure}_rate"],
                    row[f"started_{measure}_low"],
                    row[f"started_{measure}_high"],
                ),
                "Everyone who started, numbers": (
                    f"{count(row[f'started_{people}'])} of {count(row['started'])} who started"
                ),
                "Not assessed (counted as no " + measure + ")": (
                    f"{count(row['started_missing'])} of {count(row['started'])}"
                ),
                "Published": published,
            }
        )
    return pd.DataFrame(rows)


def _rates_with_intervals(shown: pd.DataFrame, name: str) -> list[str]:
    """The ``<name>_rate`` column with its ``_low`` and ``_high`` interval, in words."""
    columns = (shown[f"{name}_rate"], shown[f"{name}_low"], shown[f"{name}_high"])
    return [with_interval(*values) for values in zip(*columns, strict=True)]


def comparison_table(shown: pd.DataFrame, *, group: str) -> pd.DataFrame:
    """:func:`outcomes.reporting.compare_groups` (suppressed) in words; ``group`` names the
    first column ("Clinician", "Protocol")."""
    return pd.DataFrame(
        {
            group: shown["group"].astype(str),
            "Patients treated": shown["treated"].map(count),
            "Followed up": shown["followed"].map(count),
            "Not followed up": shown["not_followed"].map(count),
            "Ever responded": shown["responded"].map(count),
            "Response (of followed up)": _rates_with_intervals(shown, "response"),
            "Response (of everyone treated)": _rates_with_intervals(shown, "started_response"),
            "Ever in remission": shown["remitted"].map(count),
            "Remission (of followed up)": _rates_with_intervals(shown, "remission"),
        }
    )


def completeness_table(weekly: pd.DataFrame) -> pd.DataFrame:
    """:func:`outcomes.completeness.weekly_completeness` in words, newest week first."""
    newest = weekly.iloc[::-1]
    return pd.DataFrame(
        {
            "Week": [
                f"{start:%d %b} to {end:%d %b %Y}"
                for start, end in zip(newest["week_start"], newest["week_end"], strict=True)
            ],
            "Expected to check in": newest["expected"].map(count).to_numpy(),
            "Checked in": newest["received"].map(count).to_numpy(),
            "Not checked in": newest["missing"].map(count).to_numpy(),
            "Share checked in": newest["share"].map(percent).to_numpy(),
        }
    )


def pseudonym(patient_id: object) -> str:
    """The administrator's label of a patient: the aggregate reads' pseudonym, shortened
    ("Patient 3F2A9C1D0E"). It is the same on every page of one server and leads back to
    nobody; a clinician finds the patient by it only through the care team."""
    return f"Patient {int(patient_id):014X}"[:18]  # type: ignore[call-overload]


def missing_table(missing: pd.DataFrame) -> pd.DataFrame:
    """:func:`outcomes.completeness.missing_this_week` for an administrator: pseudonyms,
    never names or record numbers."""
    return pd.DataFrame(
        {
            "Patient (pseudonym)": missing["patient_id"].map(pseudonym),
            "Week of treatment": missing["week_of_treatment"].map(count),
            "Last check-in": [
                "never" if _missing(days) else f"{int(days)} days ago"
                for days in missing["days_since_last_score"]
            ],
        }
    )


def survival_table(curve: pd.DataFrame, *, share: str) -> pd.DataFrame:
    """A Kaplan-Meier curve (:mod:`outcomes.survival`) in words, one row per step."""
    return pd.DataFrame(
        {
            "Day": curve["days"].map(lambda d: str(int(d))),
            share: [
                with_interval(p, low, high)
                for p, low, high in zip(
                    curve["probability"], curve["ci_lower"], curve["ci_upper"], strict=True
                )
            ],
            "Patients still followed": curve["at_risk"].map(count),
        }
    )


def weekly_means_table(weekly: pd.DataFrame, *, instrument_name: str) -> pd.DataFrame:
    """The mean score by week in words (week 0 is the baseline)."""
    return pd.DataFrame(
        {
            "Week": weekly["week"].map(lambda w: "baseline" if int(w) == 0 else f"week {int(w)}"),
            "Patients": weekly["n"].map(count),
            f"Mean {instrument_name}": weekly["mean"].map(
                lambda m: "" if _missing(m) else f"{float(m):.1f}"
            ),
            "95% interval": [
                "" if _missing(low) or _missing(high) else f"{low:.1f} to {high:.1f}"
                for low, high in zip(weekly["ci_lower"], weekly["ci_upper"], strict=True)
            ],
        }
    )


def funnel_table(stages: dict[str, int]) -> pd.DataFrame:
    """How many patients reached each step, with the share of those who started."""
    first = max(next(iter(stages.values()), 0), 1)
    return pd.DataFrame(
        {
            "Step": [stage.capitalize() for stage in stages],
            "Patients": [shown_count(n) for n in stages.values()],
            "Share of those who started": [percent(n / first) for n in stages.values()],
        }
    )
