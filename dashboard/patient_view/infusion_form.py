"""Recording an infusion: the form, and the record it stores."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import resources
from dashboard.plain import literal
from data.access import Actor
from data.errors import AccessDenied, InvalidInput
from data.infusions import InfusionInput, record_infusion
from outcomes.infusion_terms import ROUTE_LABELS, ROUTES, SIDE_EFFECTS


def show_infusion_form(actor: Actor, patient_id: int) -> None:
    """The form that records one infusion of this patient."""
    with st.form("record_infusion", clear_on_submit=False):
        when_day = st.date_input("Date", value=dt.date.today(), max_value=dt.date.today())
        when_time = st.time_input("Time (UTC)", value=dt.time(15, 0))
        route = st.selectbox("Route", ROUTES, format_func=lambda r: ROUTE_LABELS[r])
        dose_cols = st.columns(3)
        per_kg = dose_cols[0].number_input("Dose (mg/kg)", min_value=0.0, value=0.5, step=0.05)
        dose_mg = dose_cols[1].number_input("Dose (mg)", min_value=0.0, value=0.0, step=1.0)
        minutes = dose_cols[2].number_input("Duration (min)", min_value=0, value=40, step=5)
        vitals: dict[str, int | None] = {}
        for moment, label in (
            ("before", "before"),
            ("40min", "at ~40 min"),
            ("discharge", "at discharge"),
        ):
            cols = st.columns(3)
            for col, (field, unit) in zip(
                cols,
                (
                    ("systolic", "systolic"),
                    ("diastolic", "diastolic"),
                    ("heart_rate", "heart rate"),
                ),
                strict=True,
            ):
                value = col.number_input(
                    f"{unit.capitalize()} {label}",
                    min_value=0,
                    value=None,
                    step=1,
                    key=f"{field}_{moment}",
                )
                vitals[f"{field}_{moment}"] = None if value is None else int(value)
        extra = st.columns(3)
        spo2 = extra[0].number_input("Lowest SpO2 (%)", min_value=0, max_value=100, value=None)
        cadss = extra[1].number_input("Dissociation (CADSS-6, 0-24)", min_value=0, value=None)
        moaas = extra[2].number_input("Sedation (MOAA/S 0-5)", min_value=0, value=None)
        effects = st.multiselect(
            "Side effects", SIDE_EFFECTS, format_func=lambda e: e.replace("_", " ")
        )
        note = st.text_input("Other side effects or notes")
        save = st.form_submit_button("Record infusion", type="primary")
    if not save:
        return
    infusion = InfusionInput(
        administered_at=dt.datetime.combine(when_day, when_time, tzinfo=dt.UTC),
        route=route,
        dose_mg_per_kg=per_kg or None,
        dose_mg=dose_mg or None,
        duration_minutes=int(minutes) or None,
        spo2_min=None if spo2 is None else int(spo2),
        dissociation_cadss6=None if cadss is None else int(cadss),
        sedation_moaas=None if moaas is None else int(moaas),
        side_effects=tuple(effects),
        side_effects_note=note or None,
        **vitals,
    )
    try:
        with resources.session_scope(write=True) as session:
            record_infusion(session, actor=actor, patient_id=patient_id, infusion=infusion)
    except InvalidInput as refused:
        for problem in refused.problems:
            st.error(literal(problem))
    except AccessDenied as denied:
        st.error(literal(denied))
    else:
        st.success("Infusion recorded.")
        st.rerun()
