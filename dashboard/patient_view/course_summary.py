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
    # The status has a row of its own, and the other values are short numbers: a metric's
    # value is large type cut off at its column's edge ("not yet respon…" in a third of a
    # laptop's page beside the menu), so no value may need more than its width.
    status = str(course["status"])
    st.metric("Status", status_label(status))
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Baseline", shown(baseline))
    # Lower is better: a fall is green ("inverse"), and a number delta of 0 is grey with no
    # arrow (a text "+0" would be an upward arrow). The unit goes in the description.
    top[1].metric(
        "Latest",
        shown(latest),
        delta=change,
        delta_color="inverse",
        delta_description=None if change is None else "points",
    )
    top[2].metric(
        "Change",
        f"{change / int(baseline):+.0%}" if change is not None and int(baseline) > 0 else "—",
        help=f"Change of the total since baseline: -{response_drop} or lower is a response.",
    )
    responded = not pd.isna(course["days_to_response"])
    bottom[0].metric(
        "Onset (infusions)",
        str(course["infusions_to_response"]) if responded else "—",
        delta=f"day {course['days_to_response']}" if responded else None,
        delta_color="off",
        delta_arrow="off",
        help="Infusions before the first response, and its day counted from the first infusion.",
    )
    bottom[1].metric(
        "Lasted (days)",
        "—"
        if pd.isna(course["durable_response_days"])
        else f"{course['durable_response_days']}" + ("+" if course["censored"] else ""),
        help="How long the first response lasted: to a confirmed relapse, or so far (+).",
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
