"""What the outcomes report is computed over and compared with: the cohort a clinic selects,
its induction funnel, and published reference rates with their citation.

Pure functions over the infusion frame (``patient_id``, ``administered_at``, ``protocol``,
``clinician_id``); the page only asks for the filters and draws.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from outcomes.rules import DEFAULT_RULES, Rules


@dataclass(frozen=True)
class ReferenceRates:
    """Published rates shown beside a clinic's own, and where they come from.

    Attributes
    ----------
    rates : Mapping[str, float]
        Label (with the figure, as drawn) to rate, a share between 0 and 1.
    source : str
        The citation, shown wherever the rates are.
    """

    rates: Mapping[str, float]
    source: str


COMMUNITY_KETAMINE = ReferenceRates(
    rates=MappingProxyType(
        {
            "community response 53.6%": 0.536,
            "community remission 28.9%": 0.289,
        }
    ),
    source=(
        "Reference lines: response 53.6% and remission 28.9% after IV ketamine induction in a "
        "community-clinic cohort (Oliver PA et al. Clinical effectiveness of intravenous racemic "
        "ketamine infusions in a large community sample of patients with treatment-resistant "
        "depression, suicidal ideation, and generalized anxiety symptoms: a retrospective chart "
        "review. J Clin Psychiatry. 2022;83(6):21m14336)."
    ),
)
"""Published community-clinic outcomes for IV ketamine in depression."""


def per_patient(infusions: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: the ``protocol`` and ``clinician_id`` of their first infusion row."""
    return infusions.groupby("patient_id").agg(
        protocol=("protocol", "first"), clinician_id=("clinician_id", "first")
    )


def select_cohort(
    infusions: pd.DataFrame,
    *,
    first_between: tuple[dt.date, dt.date] | None = None,
    clinician_id: int | None = None,
    protocol: str | None = None,
) -> pd.Index:
    """The patients a report covers: every patient with an infusion, narrowed by filters.

    Parameters
    ----------
    infusions : DataFrame
        The clinic's infusions.
    first_between : (date, date), optional
        Keep patients whose first infusion falls on or between these days (UTC).
    clinician_id, protocol : optional
        Keep patients whose first infusion row names this clinician / protocol.

    Returns
    -------
    Index
        Patient ids, in the order of their first appearance in the groupby (sorted).
    """
    first = infusions.groupby("patient_id")["administered_at"].min()
    keep = first.index
    if first_between is not None:
        start, end = (pd.Timestamp(day, tz="UTC") for day in first_between)
        keep = first[(first >= start) & (first < end + pd.Timedelta(days=1))].index
    patients = per_patient(infusions)
    if clinician_id is not None:
        keep = keep.intersection(patients.index[patients["clinician_id"] == clinician_id])
    if protocol is not None:
        keep = keep.intersection(patients.index[patients["protocol"] == protocol])
    return keep


def induction_funnel(infusions: pd.DataFrame, *, rules: Rules = DEFAULT_RULES) -> dict[str, int]:
    """Patients who reached the first infusion, the end of induction, and maintenance.

    Induction is ``rules.induction_infusions`` infusions; maintenance is any infusion after it.
    """
    counts = infusions.groupby("patient_id").size()
    induction = rules.induction_infusions
    return {
        "infusion 1": int((counts >= 1).sum()),
        f"infusion {induction}": int((counts >= induction).sum()),
        "maintenance": int((counts > induction).sum()),
    }
