"""A clinician's rating (MADRS and any other clinician-rated instrument of the registry)."""

from __future__ import annotations

import streamlit as st

from dashboard import resources
from dashboard.plain import literal
from data.access import Actor
from data.checkin import submit_checkin
from data.errors import AccessDenied, InvalidInput
from outcomes.instruments import clinician_rated_instruments


def show_rating_form(actor: Actor, patient_id: int) -> None:
    """Choose a clinician-rated scale, rate each item, and store the rating."""
    rated = {i.id: i for i in clinician_rated_instruments()}
    rated_id = st.selectbox(
        "Rating scale", list(rated), format_func=lambda i: rated[i].name, key="rating_scale"
    )
    if rated_id is None:
        return
    rating = rated[rated_id]
    with st.form(rating.id):
        st.caption(
            rating.stem
            or f"Clinician-rated {rating.name}: {rating.min_value}-{rating.max_value} per item."
        )
        answers = {
            item.key: st.slider(
                f"{n}. {item.short_name}",
                rating.min_value,
                rating.max_value,
                rating.min_value,
                key=f"{rating.id}:{item.key}",
            )
            for n, item in enumerate(rating.items, start=1)
        }
        rate = st.form_submit_button(f"Save {rating.name}", type="primary")
    if not rate:
        return
    try:
        with resources.session_scope(write=True) as session:
            stored = submit_checkin(
                session,
                actor=actor,
                patient_id=patient_id,
                instrument=rating.id,
                answers=answers,
            )
    except (InvalidInput, AccessDenied) as refused:
        st.error(literal(refused))
    else:
        st.success(f"{rating.name} saved: total {stored.score.total} ({stored.score.severity}).")
