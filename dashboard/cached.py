"""The outcomes page's per-clinic aggregates, cached for every administrator of the clinic.

Streamlit's caches are shared by every user of the server (``STYLE.md`` §14), so only
aggregates are cached here, never one patient's data or a frame of patients: rates, curves,
the mean by week, completeness week by week and the comparison tables, all made safe to show
(:mod:`outcomes.privacy`) before they are cached. The key is the clinic, its data version
(bumped by every write that changes a course, :mod:`data.course_state`), the instrument, the
filters and the day: a write makes the cached numbers unreachable at once, and a clinic's
numbers can never be served to another clinic's administrator.

The cache does not check access: the page first calls :func:`data.records.cohort.outcomes_view`
(role checked, view recorded, data version returned) and only then asks for the aggregates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import resources
from data.access import Actor
from data.clinic import clinic_config
from data.records.cohort import cohort_courses, cohort_protocols, weekly_aggregates
from outcomes.completeness import first_expected_from, weekly_completeness_from_days
from outcomes.privacy import MIN_GROUP
from outcomes.reporting import (
    UNASSIGNED,
    compare_groups,
    suppress_comparison,
    suppress_rate_table,
)
from outcomes.stored_timepoints import rates_from_timepoints
from outcomes.survival import durability_curve, median_days, time_to_response_curve

Filters = tuple[tuple[dt.date, dt.date] | None, int | None, str | None]
"""(first infusion between, clinician id, protocol), as :func:`cohort_courses` takes them."""


@dataclass(frozen=True)
class OutcomeReport:
    """Everything the outcomes page shows about a cohort, safe to show and to share.

    ``funnel``: patients reaching infusion 1, the end of induction and maintenance.
    ``has_scores``: some patient of the cohort has a valid score of the instrument.
    ``rates``: :func:`outcomes.reporting.suppress_rate_table` of the response rates.
    ``to_response``, ``durability``: Kaplan-Meier curves (one row per day with an event or a
    censoring) and their medians. ``weekly``: the mean by week (weeks under 5 patients left
    out in SQL). ``by_week``: weekly completeness. ``by_clinician``, ``by_protocol``:
    suppressed comparisons; ``unassigned``: treated patients with no assigned clinician.
    """

    treated: int
    funnel: dict[str, int]
    has_scores: bool
    rates: pd.DataFrame
    to_response: pd.DataFrame
    to_response_median: float | None
    durability: pd.DataFrame
    durability_median: float | None
    weekly: pd.DataFrame
    by_week: pd.DataFrame
    by_clinician: pd.DataFrame
    unassigned: int
    by_protocol: pd.DataFrame


@st.cache_data(max_entries=64, ttl=dt.timedelta(hours=1), show_spinner=False)
def clinic_protocols(clinic_id: int, data_version: int, _actor: Actor) -> list[str]:
    """The protocol filter's choices (:func:`data.records.cohort.cohort_protocols`), read once
    per data version: a scan of the clinic's infusions that no rerun should repeat."""
    if _actor.clinic_id != clinic_id:
        raise ValueError("the cache key's clinic must be the actor's own clinic")
    with resources.session_scope() as session:
        return cohort_protocols(session, actor=_actor)


def _funnel(infusions: pd.Series, induction: int) -> dict[str, int]:
    """:func:`outcomes.reporting.induction_funnel` from each patient's infusion count."""
    counts = infusions.to_numpy(dtype=np.int64)
    return {
        "infusion 1": int((counts >= 1).sum()),
        f"infusion {induction}": int((counts >= induction).sum()),
        "maintenance": int((counts > induction).sum()),
    }


# Bounded: each entry is a few small tables; an hour at most, whatever the traffic.
@st.cache_data(max_entries=64, ttl=dt.timedelta(hours=1), show_spinner=False)
def outcome_report(
    clinic_id: int,
    data_version: int,
    instrument: str,
    filters: Filters,
    today: dt.date,
    clinician_names: tuple[tuple[int, str], ...],
    _actor: Actor,
) -> OutcomeReport:
    """The aggregates of one clinic's cohort on ``today``, cached on every argument but the
    actor (whose access :func:`data.records.cohort.outcomes_view` has checked already).

    ``clinician_names`` (user id, display name) label the clinician table; a renamed account
    is a new key.
    """
    if _actor.clinic_id != clinic_id:
        raise ValueError("the cache key's clinic must be the actor's own clinic")
    first_between, clinician_id, protocol = filters
    with resources.session_scope() as session:
        rules = clinic_config(session, clinic_id).rules
        courses = cohort_courses(
            session,
            actor=_actor,
            instrument=instrument,
            first_between=first_between,
            clinician_id=clinician_id,
            protocol=protocol,
            checkin_days_from=first_expected_from(today),
        )
        # The mean by week is aggregated in the database on the same cohort; weeks under
        # MIN_GROUP patients never leave it.
        weekly = weekly_aggregates(
            session,
            actor=_actor,
            instrument=instrument,
            first_between=first_between,
            clinician_id=clinician_id,
            protocol=protocol,
            min_patients=MIN_GROUP,
        )
    to_response = time_to_response_curve(courses)
    durability = durability_curve(courses)
    names = dict(clinician_names)
    by_clinician = compare_groups(
        courses, courses["clinician_id"].map(lambda c: names.get(int(c)) if pd.notna(c) else None)
    )
    return OutcomeReport(
        treated=len(courses),
        funnel=_funnel(courses["infusions"], rules.induction_infusions),
        has_scores=bool(courses["latest_date"].notna().any()),
        rates=suppress_rate_table(
            rates_from_timepoints(instrument, courses, today=today, rules=rules)
        ),
        to_response=to_response,
        to_response_median=median_days(to_response, cumulative=True),
        durability=durability,
        durability_median=median_days(durability),
        weekly=weekly,
        by_week=weekly_completeness_from_days(courses, today=today),
        by_clinician=suppress_comparison(by_clinician),
        unassigned=int(by_clinician[by_clinician["group"] == UNASSIGNED]["treated"].sum()),
        by_protocol=suppress_comparison(
            compare_groups(courses, courses["protocol"], unassigned="No protocol recorded")
        ),
    )
