"""The patient's safety alerts: each open one with its answer level and age, acknowledged from
here with a note, and the history of those closed (who, when, what was done)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard.alert_cards import (
    acknowledge_form,
    answer_level,
    duration_text,
    open_for,
    show_confirmation,
    timestamp,
    when_text,
)
from dashboard.plain import literal
from data.access import Actor


def show_patient_alerts(
    actor: Actor, alerts: pd.DataFrame, *, now: dt.datetime, time_zone: str = "UTC"
) -> None:
    """The section for ``alerts`` (:func:`data.records.alert_review.patient_alerts`), times on
    the clinic's clock (``time_zone``).

    Nothing is shown for a patient who never had an alert, except the confirmation of one
    just acknowledged.
    """
    show_confirmation()
    if alerts.empty:
        return
    is_open = alerts["acknowledged_at"].isna()
    still_open, closed = alerts[is_open], alerts[~is_open]
    # Under the patient's name (the page's second level): the third.
    st.subheader(f"Safety alerts ({len(still_open)} open)", anchor=False)
    for alert in still_open.itertuples(index=False):
        with st.container(border=True):
            raised = when_text(alert.created_at, time_zone)
            st.markdown(
                f":red[**{answer_level(alert)}**] · raised {raised} · "
                f"**{open_for(alert.created_at, now)}**"
            )
            acknowledge_form(actor, alert, key="patient_ack", time_zone=time_zone)
    if closed.empty:
        return
    with st.expander(f"Alert history ({len(closed)} acknowledged)", expanded=still_open.empty):
        for alert in closed.itertuples(index=False):
            took = (timestamp(alert.acknowledged_at) - timestamp(alert.created_at)).total_seconds()
            who = (
                "someone no longer listed"
                if pd.isna(alert.acknowledged_by)
                else alert.acknowledged_by
            )
            st.markdown(
                f"**{answer_level(alert)}** · raised {when_text(alert.created_at, time_zone)} · "
                f"acknowledged {when_text(alert.acknowledged_at, time_zone)} by {literal(who)} "
                f"(open {duration_text(took)})  \n"
                f"What was done: {literal(alert.note or '')}"
            )
