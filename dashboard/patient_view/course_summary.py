"""How the patient's course stands: baseline, latest, change, status, onset and durability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from data.clinic import ClinicConfig
from outcomes.status import status_label


def shown(value: object, suffix: str = "") -> str:
    """A figure, or a dash when there is none."""
    return "—" if value is None or pd.isna(value) else f"{value}{suffix}"


def show_course_summary(course: Mapping[str, Any] | None, config: ClinicConfig) -> None:
    """The course row of :func:`outcomes.course.course_outcomes` as metrics and a banner."""
    if course is None:
        return
    # The clinic's response rule, in words: a fall of at least this share of the baseline.
    response_drop = f"{float(config.rules.response_min_drop):.0%}"
    response_keep = f"{float(1 - config.rules.response_min_drop):.0%}"
    baseline, latest = course["baseline_total"], course["latest_total"]
    change = None
    if not pd.isna(baseline) and not pd.isna(latest):
        change = int(latest) - int(baseline)
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Baseline", shown(baseline))
    top[1].metric(
        "Latest",
        shown(latest),
        delta=None if change is None else f"{change:+d} points",
        delta_color="inverse",
    )
    top[2].metric(
        "Change from baseline",
        f"{change / int(baseline):+.0%}" if change is not None and int(baseline) > 0 else "—",
        help=f"Change of the total since baseline: -{response_drop} or lower is a response.",
    )
    bottom[0].metric("Status", status_label(course["status"]))
    responded = not pd.isna(course["days_to_response"])
    bottom[1].metric(
        "Response after",
        f"{course['infusions_to_response']} infusions" if responded else "—",
        delta=f"day {course['days_to_response']}" if responded else None,
        delta_color="off",
    )
    bottom[2].metric(
        "Durable response",
        "—"
        if pd.isna(course["durable_response_days"])
        else f"{course['durable_response_days']} days" + ("+" if course["censored"] else ""),
    )
    if bool(course["losing_response"]):
        st.warning(
            f"Losing response: the latest score is back above {response_keep} of baseline. "
            "Consider a booster."
        )
