"""The patient's infusions as recorded, one row each, and marking one entered in error.

The log shows what was recorded and blanks what was not (never "<NA>" or "None"): times in
the clinic's time zone, dose with mg/kg, vitals, SpO2, sedation, dissociation, duration, side
effects, notes and who recorded it. An infusion marked entered in error stays in the log,
struck through, with who marked it and why; it has no infusion number, because it is counted
nowhere (:func:`data.infusions.mark_infusion_entered_in_error`).
"""

from __future__ import annotations

import zoneinfo
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import resources
from dashboard.fragments import ensure_signed_in
from dashboard.plain import literal
from data.access import Actor
from data.errors import AccessDenied, InvalidInput
from data.infusions import mark_infusion_entered_in_error, side_effect_labels
from data.records.patient_record import patient_infusion_log
from outcomes.infusion_terms import ROUTE_LABELS

MARKED = "infusion_log_marked"
REASON = "infusion_log_reason"
CHOICE = "infusion_log_choice"


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, list | tuple) and bool(pd.isna(value)))


def _number(value: Any, unit: str = "") -> str:
    if _blank(value):
        return ""
    return f"{float(value):g}{unit}"


def _pair(first: Any, second: Any) -> str:
    """``"124/78"``; a missing half is a dash, both missing is blank."""
    if _blank(first) and _blank(second):
        return ""
    return f"{_number(first) or '–'}/{_number(second) or '–'}"


def _three(values: list[Any]) -> str:
    if all(_blank(v) for v in values):
        return ""
    return " / ".join(_number(v) or "–" for v in values)


def _dose(row: pd.Series) -> str:
    mg, per_kg = row["dose_mg"], row["dose_mg_per_kg"]
    parts = []
    if not _blank(mg):
        parts.append(f"{float(mg):g} mg")
    if not _blank(per_kg):
        parts.append(f"{float(per_kg):.2f} mg/kg")
    return " · ".join(parts)


def log_table(log: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    """The log as shown: one text column per thing recorded (:func:`patient_infusion_log`)."""
    zone = zoneinfo.ZoneInfo(time_zone)
    marked = log["entered_in_error_at"].notna()
    numbers = marked.map(lambda m: not m).cumsum()
    rows = []
    for (_, row), is_marked, number in zip(log.iterrows(), marked, numbers, strict=True):
        status = ""
        if is_marked:
            status = f"ENTERED IN ERROR: {row['entered_in_error_reason'] or ''}"
            by = row["entered_in_error_by"]
            when = pd.Timestamp(row["entered_in_error_at"]).tz_convert(zone)
            status += f" ({by + ', ' if isinstance(by, str) else ''}{when:%Y-%m-%d %H:%M})"
        rows.append(
            {
                "#": "" if is_marked else str(number),
                f"date and time ({time_zone})": pd.Timestamp(row["administered_at"])
                .tz_convert(zone)
                .strftime("%Y-%m-%d %H:%M"),
                "route": ROUTE_LABELS.get(row["route"], str(row["route"])),
                "dose": _dose(row),
                "weight": _number(row["weight_kg"], " kg"),
                "duration": _number(row["duration_minutes"], " min"),
                "BP before": _pair(row["systolic_before"], row["diastolic_before"]),
                "BP 40 min": _pair(row["systolic_40min"], row["diastolic_40min"]),
                "BP discharge": _pair(row["systolic_discharge"], row["diastolic_discharge"]),
                "HR before / 40 / discharge": _three(
                    [row["heart_rate_before"], row["heart_rate_40min"], row["heart_rate_discharge"]]
                ),
                "lowest SpO2": _number(row["spo2_min"], "%"),
                "sedation (MOAA/S)": _number(row["sedation_moaas"]),
                "dissociation (CADSS-6)": _number(row["dissociation_cadss6"]),
                "side effects": side_effect_labels(row["side_effects"] or ()),
                "notes": row["side_effects_note"]
                if isinstance(row["side_effects_note"], str)
                else "",
                "recorded by": row["recorded_by"] if isinstance(row["recorded_by"], str) else "",
                "status": status,
            }
        )
    return pd.DataFrame(rows)


def _struck(row: pd.Series) -> list[str]:
    style = "text-decoration: line-through; color: #8a1c1c" if row["status"] else ""
    return [style] * len(row)


def show_infusion_log(*, actor: Actor, patient_id: int, time_zone: str) -> None:
    """The patient's infusion log, entered-in-error ones included (read here, with them: the
    page's own infusions are the counted ones), times in the clinic's ``time_zone``."""
    with resources.session_scope() as session:
        log = patient_infusion_log(session, actor=actor, patient_id=patient_id)
    done = st.session_state.pop(MARKED, None)
    if done:
        st.success(done)
    if log.empty:
        st.info("No infusions recorded yet.")
        return
    table = log_table(log, time_zone)
    st.dataframe(table.style.apply(_struck, axis=1), hide_index=True, width="stretch")
    if actor.role != "patient":
        _mark_entered_in_error(actor, patient_id, log, table)


@st.fragment(key="infusion_log_mark")
def _mark_entered_in_error(
    actor: Actor, patient_id: int, log: pd.DataFrame, table: pd.DataFrame
) -> None:
    """Choosing the infusion and typing the reason rerun only this part (a fragment); a
    marked infusion reruns the page, whose log, chart and counts then leave it out."""
    counted = [
        (
            int(infusion_id),
            f"#{row['#']}: {row.iloc[1]}, {row['route']}, {row['dose'] or 'no dose'}",
        )
        for infusion_id, (_, row) in zip(log["infusion_id"], table.iterrows(), strict=True)
        if not row["status"]
    ]
    if not counted:
        return
    with st.expander("Mark an infusion entered in error"):
        st.caption(
            "For an infusion recorded twice or for the wrong patient. It stays in this log, "
            "struck through, and is no longer counted anywhere."
        )
        labels = dict(counted)
        choice = st.selectbox(
            "Infusion", list(labels), format_func=lambda i: labels[i], index=None, key=CHOICE
        )
        reason = st.text_input("Reason (required)", key=REASON)
        if st.button("Mark entered in error", key="infusion_log_mark"):
            if choice is None:
                st.error("Choose the infusion to mark.")
                return
            ensure_signed_in(actor)
            try:
                with resources.session_scope(write=True) as session:
                    mark_infusion_entered_in_error(
                        session,
                        actor=actor,
                        patient_id=patient_id,
                        infusion_id=int(choice),
                        reason=reason,
                    )
            except (InvalidInput, AccessDenied) as refused:
                st.error(literal(refused))
            else:
                st.session_state[MARKED] = f"Infusion {labels[choice]} marked entered in error."
                for key in (CHOICE, REASON):
                    st.session_state.pop(key, None)
                st.rerun(scope="app")
