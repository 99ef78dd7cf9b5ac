"""Patient view: header, trajectory against infusions, item heatmap, infusion log, forms."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import streamlit as st

from dashboard import charts, downloads, resources, state
from dashboard.plain import literal
from dashboard.summary import summary_html
from data.checkin import submit_checkin
from data.clinic import clinic_config
from data.errors import AccessDenied, InvalidInput
from data.infusions import InfusionInput, record_infusion, side_effect_labels
from data.interchange.csv_export import export_assessments_csv, export_infusions_csv
from data.interchange.fhir_export import export_fhir_bundle
from data.records.alert_review import patient_alerts
from data.records.patient_lists import find_patients
from data.records.patient_record import patient_assessments, patient_infusions, patient_record
from outcomes.course import course_outcomes
from outcomes.infusion_terms import ROUTE_LABELS, ROUTES, SIDE_EFFECTS
from outcomes.instruments import clinician_rated_instruments, course_instruments, get_instrument
from outcomes.status import status_label

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)

st.title("Patient")
selected = st.session_state.get(state.SELECTED_PATIENT)
query = st.text_input("Find a patient (name or MRN)", key="patient_search")
if query or selected is None:
    # A search, not a list of the whole clinic: the page stays fast for any clinic size.
    with resources.session_scope() as session:
        matches = find_patients(session, actor=actor, query=query)
    if matches.empty:
        st.info("No patient matches that search.")
        st.stop()
    ids = [int(p) for p in matches["patient_id"]]
    labels = dict(zip(ids, matches["name"] + " · " + matches["external_id"], strict=True))
    patient_id = st.selectbox(
        "Patient",
        ids,
        index=ids.index(selected) if selected in ids else 0,
        format_func=lambda p: labels[p],
    )
else:
    patient_id = int(selected)
st.session_state[state.SELECTED_PATIENT] = patient_id

controls = st.columns([2, 2, 3])
instrument_id = controls[0].radio(
    "Instrument",
    [i.id for i in course_instruments()],
    format_func=lambda i: get_instrument(i).name,
    horizontal=True,
)
x_axis = controls[1].radio(
    "Time axis",
    ["date", "days"],
    format_func=lambda v: "calendar dates" if v == "date" else "days since first infusion",
    horizontal=True,
)
instrument = get_instrument(instrument_id)

with resources.session_scope() as session:
    record = patient_record(session, actor=actor, patient_id=patient_id)
    assessments = patient_assessments(session, actor=actor, patient_id=patient_id)
    infusions = patient_infusions(session, actor=actor, patient_id=patient_id)
    alerts = patient_alerts(session, actor=actor, patient_id=patient_id)

scores = assessments[assessments["instrument"] == instrument_id]
course_frame = course_outcomes(
    instrument_id, scores.assign(patient_id=patient_id), infusions, rules=config.rules
)
course = course_frame.loc[patient_id].to_dict() if patient_id in course_frame.index else None

# Names, ids, the care team and the protocol are as typed or imported: literal text.
st.subheader(f"{literal(record.name)} · {literal(record.external_id)}")
st.caption(
    f"Born {record.date_of_birth or 'unknown'} · care team: "
    f"{literal(record.assigned_clinician or '—')} · protocol: {literal(record.protocol or '—')}"
)
# The clinic's response rule, in words: a fall of at least this share of the baseline total.
RESPONSE_DROP = f"{float(config.rules.response_min_drop):.0%}"
RESPONSE_KEEP = f"{float(1 - config.rules.response_min_drop):.0%}"


def shown(value: object, suffix: str = "") -> str:
    return "—" if value is None or pd.isna(value) else f"{value}{suffix}"


if course is not None:
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
        help=f"Change of the total since baseline: -{RESPONSE_DROP} or lower is a response.",
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
            f"Losing response: the latest score is back above {RESPONSE_KEEP} of baseline. "
            "Consider a booster."
        )

open_count = int(alerts["acknowledged_at"].isna().sum()) if len(alerts) else 0
if open_count:
    st.error(f"{open_count} unacknowledged safety alert(s): see the worklist.")

st.plotly_chart(
    charts.trajectory_figure(
        instrument, scores, infusions, course, rules=config.rules, x_axis=x_axis
    ),
    width="stretch",
)
# Keyed, so the tab in use stays open when a button or form in it reruns the page.
tabs = st.tabs(
    ["Symptoms", "Infusion log", "Record infusion", "Clinician rating", "Export"],
    key="patient_tab",
)
with tabs[0]:
    if scores.empty:
        st.info(f"No {instrument.name} answers yet.")
    else:
        st.plotly_chart(charts.item_heatmap(instrument, scores), width="stretch")
with tabs[1]:
    if infusions.empty:
        st.info("No infusions recorded yet.")
    else:
        log = pd.DataFrame(
            {
                "#": range(1, len(infusions) + 1),
                "date": pd.to_datetime(infusions["administered_at"]).dt.strftime("%Y-%m-%d"),
                "route": infusions["route"].map(dict(ROUTE_LABELS)),
                "dose": infusions["dose_mg_per_kg"].map(
                    lambda v: "" if pd.isna(v) else f"{v:g} mg/kg"
                )
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
with tabs[2]:
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
    if save:
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
with tabs[3]:
    rated = {i.id: i for i in clinician_rated_instruments()}
    rated_id = st.selectbox(
        "Rating scale", list(rated), format_func=lambda i: rated[i].name, key="rating_scale"
    )
    if rated_id is not None:
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
        if rate:
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
                st.success(
                    f"{rating.name} saved: total {stored.score.total} ({stored.score.severity})."
                )


def export_file(wanted: str) -> str:
    """The chosen file's text; the data layer checks access and records the export, and
    both are committed before the file exists anywhere."""
    out = io.StringIO()
    with resources.session_scope() as session:
        if wanted == "assessments":
            export_assessments_csv(session, actor=actor, out=out, patient_id=patient_id)
        elif wanted == "infusions":
            export_infusions_csv(session, actor=actor, out=out, patient_id=patient_id)
        elif wanted == "fhir":
            json.dump(
                export_fhir_bundle(session, actor=actor, patient_id=patient_id), out, indent=2
            )
        else:
            # Read (and audited) again in this transaction: the summary is a view of the record.
            printed = patient_record(session, actor=actor, patient_id=patient_id)
            out.write(
                summary_html(printed, instrument.name, course, len(infusions), rules=config.rules)
            )
    return out.getvalue()


EXPORT_FILES = {
    "assessments": ("assessments.csv", "text/csv"),
    "infusions": ("infusions.csv", "text/csv"),
    "fhir": ("fhir.json", "application/fhir+json"),
    "summary": ("summary.html", "text/html"),
}


with tabs[4]:
    st.caption(
        "Each file is prepared on request, recorded in the audit log, and can be downloaded "
        "once, by you, within two minutes. CSV files use the import format; spreadsheet "
        "formulas in text cells are neutralised."
    )
    choices = {
        "assessments": "Questionnaires (CSV)",
        "infusions": "Infusions (CSV)",
        "fhir": "Everything (FHIR Bundle)",
        "summary": "Printable one-page summary (HTML)",
    }
    wanted = st.selectbox(
        "File", list(choices), format_func=lambda c: choices[c], key="export_choice"
    )
    if st.button("Prepare download", key="prepare_export"):
        browser = state.browser_id()
        if not downloads.is_signed_in(browser):
            # Nothing is exported, or recorded as exported, for a browser that cannot take it.
            st.error(downloads.NO_SIGNED_IN_BROWSER)
        else:
            suffix, mime = EXPORT_FILES[wanted]
            try:
                link = downloads.prepare(
                    browser,
                    export_file(wanted),
                    file_name=f"{record.external_id}-{suffix}",
                    mime=mime,
                )
            except ValueError as refused:  # signed out in another tab meanwhile
                st.error(literal(refused))
            else:
                st.session_state["prepared_download"] = (patient_id, choices[wanted], link)
    prepared = st.session_state.get("prepared_download")
    if prepared and prepared[0] == patient_id:
        st.link_button(f"Download {prepared[1]}", prepared[2], type="primary")
