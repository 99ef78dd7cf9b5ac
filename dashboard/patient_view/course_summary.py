"""How the patient's course stands: baseline, latest, change, status, onset and durability."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from data.clinic import ClinicConfig
from outcomes.status import status_label


def shown(value: object, suffix: str = "") -> str:
    """A figure, or a dash when there is none."""
    return "—" if value is None or pd.isna(value) else f"{value}{suffix}"


def show_course_summary(
    course: Mapping[str, Any] | None, config: ClinicConfig, *, today: dt.date | None = None
) -> None:
    """The course row of :func:`outcomes.course.course_outcomes` as metrics and a banner.

    The status is the row's one current status (:func:`outcomes.status.current_status`); the
    "losing response" banner shows only with that status, and asks for a check-in rather
    than a booster when the latest score is older than the clinic's booster recency.
    """
    if course is None:
        return
    today = today or dt.date.today()
    # The clinic's response rule, in words: a fall of at least this share of the baseline.
    response_drop = f"{float(config.rules.response_min_drop):.0%}"
    response_keep = f"{float(1 - config.rules.response_min_drop):.0%}"
    baseline, latest = course["baseline_total"], course["latest_total"]
    change = None
    if not pd.isna(baseline) and not pd.isna(latest):
        change = int(latest) - int(baseline)
    # The status gets the widest column, so its words are never cut off.
    top, bottom = st.columns([3, 2, 2]), st.columns([3, 2, 2])
    top[0].metric("Baseline", shown(baseline))
    # Lower is better: a fall is green ("inverse"), and a number delta of 0 is grey with no
    # arrow (a text "+0" would be an upward arrow). The unit goes in the description.
    top[1].metric(
        "Latest",
        shown(latest),
        delta=change,
        delta_color="inverse",
        delta_description=None if change is None else "points from baseline",
    )
    top[2].metric(
        "Change from baseline",
        f"{change / int(baseline):+.0%}" if change is not None and int(baseline) > 0 else "—",
        help=f"Change of the total since baseline: -{response_drop} or lower is a response.",
    )
    status = str(course["status"])
    bottom[0].metric("Status", status_label(status))
    responded = not pd.isna(course["days_to_response"])
    bottom[1].metric(
        "First response after",
        f"{course['infusions_to_response']} infusions" if responded else "—",
        delta=f"day {course['days_to_response']}" if responded else None,
        delta_color="off",
        delta_arrow="off",
    )
    bottom[2].metric(
        "First response lasted",
        "—"
        if pd.isna(course["durable_response_days"])
        else f"{course['durable_response_days']} days" + ("+" if course["censored"] else ""),
    )
    if status == "losing_response":
        latest_date = course["latest_date"]
        recency = config.rules.booster_recency_cadences * config.checkin_cadence_days
        recent = isinstance(latest_date, dt.date) and (today - latest_date).days <= recency
        st.warning(
            f"Losing response: the latest score is back above {response_keep} of baseline. "
            + (
                "Consider a booster."
                if recent
                else f"It is more than {recency} days old: ask for a check-in before "
                "deciding on a booster."
            )
        )
