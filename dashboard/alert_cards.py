"""A safety alert as a card: whose, what was answered, when, and acknowledging it with a note."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import resources
from dashboard.plain import alert_label, literal
from data.access import Actor
from data.errors import AccessDenied, InvalidInput
from data.records.alert_review import acknowledge_alert


def show_alert_card(
    actor: Actor, alert: Any, *, name: str, open_patient: Callable[[int], None]
) -> None:
    """One open alert (a row of :func:`data.records.alert_review.open_alerts`)."""
    with st.container(border=True):
        when = pd.Timestamp(alert.created_at).strftime("%d %b %Y %H:%M UTC")
        # The name is as imported or typed: literal text, so it cannot forge an "all clear".
        st.markdown(
            f":red[**{literal(name)}**] — "
            f"{alert_label(str(alert.kind))} · total {alert.total} · {when}"
        )
        note = st.text_input(
            "What was done (required)",
            key=f"ack_note_{alert.alert_id}",
            placeholder="e.g. called patient, safety plan reviewed",
        )
        left, right = st.columns(2)
        if left.button("Acknowledge", key=f"ack_{alert.alert_id}", type="primary"):
            try:
                with resources.session_scope(write=True) as session:
                    acknowledge_alert(session, actor=actor, alert_id=int(alert.alert_id), note=note)
            except (InvalidInput, AccessDenied) as refused:
                st.error(str(refused))
            else:
                st.rerun()
        if right.button("Open patient", key=f"open_alert_{alert.alert_id}"):
            open_patient(int(alert.patient_id))
