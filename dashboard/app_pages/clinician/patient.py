"""Patient view: who, how the course stands, the trajectory against infusions, and the
infusion log, forms and files (each section in :mod:`dashboard.patient_view`)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, resources, state
from dashboard.corrected_answers import show_corrected_answers
from dashboard.paged import show_paged_table
from dashboard.patient_view.alerts import show_patient_alerts
from dashboard.patient_view.course_summary import show_course_summary
from dashboard.patient_view.exports import show_exports
from dashboard.patient_view.identity import choose_patient, show_header
from dashboard.patient_view.infusion_form import show_infusion_form
from dashboard.patient_view.infusion_log import show_infusion_log
from dashboard.patient_view.invitation import show_invitation
from dashboard.patient_view.planned_infusions import show_planned_infusions
from dashboard.patient_view.rating_form import show_rating_form
from data.clinic import clinic_config
from data.records.alert_review import patient_alerts
from data.records.patient_record import patient_assessments, patient_infusions, patient_record
from outcomes.course import course_outcomes
from outcomes.episodes import patient_episodes
from outcomes.instruments import course_instruments, get_instrument

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)

st.title("Patient", anchor=False)
patient_id = choose_patient(actor)

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
    # Corrected check-ins too: the care team sees the first answers beside the corrected ones.
    assessments = patient_assessments(
        session, actor=actor, patient_id=patient_id, include_superseded=True
    )
    infusions = patient_infusions(session, actor=actor, patient_id=patient_id)
    alerts = patient_alerts(session, actor=actor, patient_id=patient_id)

# Only the latest of a correction chain counts (course-and-reporting §3).
scores = assessments[
    (assessments["instrument"] == instrument_id) & assessments["superseded_at"].isna()
]
course_frame = course_outcomes(
    instrument_id, scores.assign(patient_id=patient_id), infusions, rules=config.rules
)
course = course_frame.loc[patient_id].to_dict() if patient_id in course_frame.index else None
# Every response episode (a response again after a relapse starts the next), for the chart
# and the printable summary.
episodes = patient_episodes(instrument_id, scores, infusions, rules=config.rules)

show_header(record)
show_invitation(actor, patient_id)
# An open safety alert comes before everything the latest score says (course-and-reporting §3).
show_patient_alerts(actor, alerts, now=state.now(), time_zone=config.time_zone)
show_course_summary(course, config)

st.plotly_chart(
    charts.trajectory_figure(
        instrument,
        scores,
        infusions,
        course,
        rules=config.rules,
        x_axis=x_axis,
        episodes=episodes,
        alerts=alerts,
    ),
    width="stretch",
    config=charts.PLOTLY_CONFIG,
    alt=f"{instrument.name} scores over time against infusions; the same as a table below.",
)
# The chart's every point in words, for a screen reader and for exact values.
with st.expander(f"{instrument.name} over time as a table"):
    lines = charts.trajectory_lines(instrument, course, rules=config.rules)
    if lines:
        st.markdown(lines)
    show_paged_table(
        charts.trajectory_table(instrument, scores, infusions, episodes=episodes, alerts=alerts),
        key="trajectory_table_page",
        label="rows",
        hide_index=True,
    )
TABS = ("Symptoms", "Infusion log", "Record infusion", "Clinician rating", "Export")


@st.fragment(key="patient_tabs")
def show_tabs() -> None:
    """The log, forms and files, one tab each: only the open tab's part runs and is sent.

    Drawn all at once, the hidden tabs (the log's table, some forty form fields, the files)
    were half of what the browser had to lay out on every run of the page. A fragment, so
    that opening another tab reruns only the tabs, not the page around them; keyed, so the
    tab in use stays open when a button or form in it reruns the page.
    """
    tabs = st.tabs(list(TABS), key="patient_tab", on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            show_symptoms()
    if tabs[1].open:
        with tabs[1]:
            show_infusion_log(actor=actor, patient_id=patient_id, time_zone=config.time_zone)
            show_planned_infusions(actor, patient_id, time_zone=config.time_zone)
    if tabs[2].open:
        with tabs[2]:
            show_infusion_form(actor, patient_id, time_zone=config.time_zone)
    if tabs[3].open:
        with tabs[3]:
            show_rating_form(actor, patient_id, time_zone=config.time_zone)
    if tabs[4].open:
        with tabs[4]:
            show_exports(
                actor=actor,
                record=record,
                patient_id=patient_id,
                instrument_name=instrument.name,
                course=course,
                infusion_count=len(infusions),
                config=config,
                episodes=episodes,
            )


def show_symptoms() -> None:
    if scores.empty:
        st.info(f"No {instrument.name} answers yet.")
    else:
        st.plotly_chart(
            charts.item_heatmap(instrument, scores),
            width="stretch",
            config=charts.PLOTLY_CONFIG,
            alt=f"{instrument.name} answers to each question over time; as a table below.",
        )
        with st.expander(f"{instrument.name} answers as a table"):
            show_paged_table(
                charts.item_table(instrument, scores),
                key="item_table_page",
                label="check-ins",
                axis="columns",
                size=12,
            )
    show_corrected_answers(assessments, instrument, time_zone=config.time_zone)


show_tabs()
