"""What the outcomes report is computed over and compared with: the cohort a clinic selects,
its induction funnel, published reference rates with their citation and the time point they
belong to, and comparisons between clinicians or protocols with their intervals.

Pure functions over the infusion frame (``patient_id``, ``administered_at``, ``protocol``,
``clinician_id``); the page only asks for the filters and draws.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from outcomes.privacy import MIN_GROUP, shown_count
from outcomes.rates import wilson_interval
from outcomes.rules import DEFAULT_RULES, Rules


@dataclass(frozen=True)
class ReferenceRates:
    """Published rates shown beside a clinic's own, at the one time point they were defined at.

    Attributes
    ----------
    timepoint : str
        The :func:`outcomes.cohort.response_rates` time point whose definition matches the
        source's (a line drawn at any other time point would compare unlike things).
    name : str
        The source in two or three words, as a chart legend shows it.
    response, remission : float
        The published shares, between 0 and 1.
    definition : str
        The source's outcome definition in words.
    source : str
        The citation, shown wherever the rates are.
    """

    timepoint: str
    name: str
    response: float
    remission: float
    definition: str
    source: str

    @property
    def rates(self) -> Mapping[str, float]:
        """Label (with the figure, as drawn) to rate."""
        return MappingProxyType(
            {
                f"{self.name} response {self.response:.1%}": self.response,
                f"{self.name} remission {self.remission:.1%}": self.remission,
            }
        )


ORKA1 = ReferenceRates(
    timepoint="orka1_window",
    name="ORKA-1",
    response=0.536,
    remission=0.289,
    definition=("PHQ-9 14 to 31 days after the last infusion of an induction of 4 to 8 infusions"),
    source=(
        "ORKA-1: response 53.6% and remission 28.9% on the PHQ-9, 14 to 31 days after an "
        "induction of 4 to 8 IV ketamine infusions in real-world care (McInnes LA, Qian JJ, "
        "Gargeya RS, DeBattista C, Heifets BD. A retrospective analysis of ketamine "
        "intravenous therapy for depression in real-world care settings. J Affect Disord. "
        "2022;301:486-495)."
    ),
)
"""ORKA-1's real-world IV ketamine outcomes (course-and-reporting §5 [V])."""

OLIVER_2022 = ReferenceRates(
    timepoint="within_6_weeks",
    name="Oliver 2022",
    response=0.50,
    remission=0.20,
    definition="PHQ-9 response or remission at any time within 6 weeks of the first infusion",
    source=(
        "Oliver 2022: response 50% and remission 20% on the PHQ-9 within 6 weeks, 424 "
        "patients of a community IV ketamine clinic (Oliver PA et al. Clinical effectiveness "
        "of intravenous racemic ketamine infusions in a large community sample of patients "
        "with treatment-resistant depression, suicidal ideation, and generalized anxiety "
        "symptoms: a retrospective chart review. J Clin Psychiatry. 2022;83(6):21m14336)."
    ),
)
"""Oliver et al. 2022's community-clinic outcomes within 6 weeks (course-and-reporting §5 [V])."""

REFERENCES: tuple[ReferenceRates, ...] = (ORKA1, OLIVER_2022)
"""Every published reference, each at its own time point."""


def references_at(timepoint: str) -> tuple[ReferenceRates, ...]:
    """The published references whose definition matches ``timepoint`` (often none)."""
    return tuple(reference for reference in REFERENCES if reference.timepoint == timepoint)


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


UNASSIGNED = "Unassigned"
"""The group of patients with no group (no assigned clinician, no protocol recorded)."""

COMPARISON_COLUMNS = (
    "group",
    "treated",
    "followed",
    "not_followed",
    "responded",
    "response_rate",
    "response_low",
    "response_high",
    "started_response_rate",
    "started_response_low",
    "started_response_high",
    "remitted",
    "remission_rate",
    "remission_low",
    "remission_high",
)
"""The columns of :func:`compare_groups`, in order."""


def compare_groups(
    courses: pd.DataFrame,
    groups: pd.Series,
    *,
    unassigned: str = UNASSIGNED,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Patients treated, followed, ever responded and ever remitted per group, with intervals.

    Parameters
    ----------
    courses : DataFrame
        :func:`outcomes.course.course_outcomes` of the cohort (indexed by patient).
    groups : Series
        Patient id to group label (clinician, protocol). A treated patient with no label
        (no assigned clinician, no protocol) is counted in the ``unassigned`` row, so the
        groups' ``treated`` add up to every treated patient.
    unassigned : str, default "Unassigned"
        The label of that row; it is last, and left out when nobody is in it.
    confidence : float, default 0.95
        Coverage of the Wilson score intervals.

    Returns
    -------
    DataFrame
        :data:`COMPARISON_COLUMNS`: ``treated`` (a first infusion), ``followed`` (a
        baseline and a later score), ``not_followed`` (treated, not followed),
        ``responded`` and ``remitted`` (ever, first episode), ``response_rate`` over the
        followed and ``started_response_rate`` over everyone treated (never followed counts
        as not responding), ``remission_rate`` over the followed, each with its Wilson
        interval (``*_low``, ``*_high``; NaN when the denominator is 0). Unsuppressed:
        show it through :func:`suppress_comparison`.
    """
    treated = courses[courses["first_infusion_date"].notna()]
    label = groups.reindex(treated.index).astype(object)
    label = label.where(label.notna(), unassigned)
    followed = treated["followup_days"].notna()
    frame = pd.DataFrame(
        {
            "group": label.to_numpy(),
            "followed": followed.to_numpy(),
            "responded": (followed & treated["response_date"].notna()).to_numpy(),
            "remitted": (followed & treated["remission_date"].notna()).to_numpy(),
        }
    )
    table = frame.groupby("group", sort=True).agg(
        treated=("followed", "size"),
        followed=("followed", "sum"),
        responded=("responded", "sum"),
        remitted=("remitted", "sum"),
    )
    order = [g for g in table.index if g != unassigned] + (
        [unassigned] if unassigned in table.index else []
    )
    table = table.loc[order].astype(np.int64)
    table["not_followed"] = table["treated"] - table["followed"]
    for name, successes, total in (
        ("response", "responded", "followed"),
        ("started_response", "responded", "treated"),
        ("remission", "remitted", "followed"),
    ):
        low, high = wilson_interval(table[successes], table[total], confidence=confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"{name}_rate"] = (table[successes] / table[total]).where(table[total] > 0)
        table[f"{name}_low"], table[f"{name}_high"] = low, high
    return table.reset_index()[list(COMPARISON_COLUMNS)]


def _suppress(
    table: pd.DataFrame, rates: tuple[tuple[str, str], ...], counts: tuple[str, ...]
) -> pd.DataFrame:
    shown = table.copy()
    for rate, denominator in rates:
        small = shown[denominator] < MIN_GROUP
        for column in (f"{rate}_rate", f"{rate}_low", f"{rate}_high"):
            shown[column] = shown[column].astype(float).where(~small)
    for column in counts:
        shown[column] = shown[column].map(lambda n: shown_count(int(n)))
    return shown


def suppress_rate_table(rates: pd.DataFrame) -> pd.DataFrame:
    """:func:`outcomes.cohort.response_rates` made safe to show (:mod:`outcomes.privacy`).

    Counts below 5 become ``"< 5"``; a rate and its interval whose denominator is below 5
    become NaN (the numerator could otherwise be worked out from them).
    """
    return _suppress(
        rates,
        (
            ("response", "assessed"),
            ("remission", "remission_eligible"),
            ("started_response", "started"),
            ("started_remission", "started"),
        ),
        (
            "eligible",
            "assessed",
            "missing",
            "responders",
            "remission_eligible",
            "remitters",
            "started",
            "started_assessed",
            "started_missing",
            "started_responders",
            "started_remitters",
        ),
    )


def suppress_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_groups` made safe to show: counts under 5 show ``"< 5"``, and a rate
    whose denominator is under 5 shows nothing."""
    return _suppress(
        table,
        (
            ("response", "followed"),
            ("started_response", "treated"),
            ("remission", "followed"),
        ),
        ("treated", "followed", "not_followed", "responded", "remitted"),
    )
