"""The patient's infusions as recorded, one row each."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.infusions import side_effect_labels
from outcomes.infusion_terms import ROUTE_LABELS


def show_infusion_log(infusions: pd.DataFrame) -> None:
    """The infusion log table (:func:`data.records.patient_record.patient_infusions`)."""
    if infusions.empty:
        st.info("No infusions recorded yet.")
        return
    log = pd.DataFrame(
        {
            "#": range(1, len(infusions) + 1),
            "date": pd.to_datetime(infusions["administered_at"]).dt.strftime("%Y-%m-%d"),
            "route": infusions["route"].map(dict(ROUTE_LABELS)),
            "dose": infusions["dose_mg_per_kg"].map(lambda v: "" if pd.isna(v) else f"{v:g} mg/kg")
            + infusions["dose_mg"].map(lambda v: "" if pd.isna(v) else f" {v:g} mg"),
            "BP before": infusions["systolic_before"].astype(str)
            + "/"
            + infusions["diastolic_before"].astype(str),
            "BP 40 min": infusions["systolic_40min"].astype(str)
            + "/"
            + infusions["diastolic_40min"].astype(str),
            "BP discharge": infusions["systolic_discharge"].astype(str)
            + "/"
            + infusions["diastolic_discharge"].astype(str),
            "HR before/40/discharge": infusions["heart_rate_before"].astype(str)
            + " / "
            + infusions["heart_rate_40min"].astype(str)
            + " / "
            + infusions["heart_rate_discharge"].astype(str),
            "CADSS-6": infusions["dissociation_cadss6"],
            "side effects": infusions["side_effects"].map(side_effect_labels),
        }
    )
    st.dataframe(log, hide_index=True, width="stretch")
