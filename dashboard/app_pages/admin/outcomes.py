"""Outcomes: the clinic's response, remission, time to response and durability."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import charts, resources, state
from data.account_admin import list_users
from data.clinic import clinic_config
from data.records.cohort import cohort_assessments, cohort_infusions, weekly_aggregates
from data.spreadsheet import frame_to_csv
from outcomes.cohort import checkin_completeness, outcomes_by_group, response_rates
from outcomes.course import course_outcomes
from outcomes.instruments import course_instruments, get_instrument
from outcomes.privacy import MIN_GROUP, shown_count, suppress_group_table, suppress_rates
from outcomes.reporting import COMMUNITY_KETAMINE, induction_funnel, per_patient, select_cohort
from outcomes.survival import durability_curve, median_days, time_to_response_curve

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)
    infusions_all = cohort_infusions(session, actor=actor)
    users = list_users(session, actor=actor)

st.title("Outcomes")
st.caption("Aggregates only. Any group under 5 patients is shown as “< 5”.")

filters = st.columns(4)
instrument_id = filters[0].selectbox(
    "Instrument",
    [i.id for i in course_instruments()],
    format_func=lambda i: get_instrument(i).name,
)
clinicians = users[users["role"] == "clinician"].set_index("user_id")["display_name"]
clinician = filters[1].selectbox(
    "Clinician",
    [None, *clinicians.index],
    format_func=lambda c: "all" if c is None else clinicians[c],
)
protocols = sorted(p for p in infusions_all["protocol"].dropna().unique())
protocol = filters[2].selectbox("Protocol", [None, *protocols], format_func=lambda p: p or "all")
today = dt.date.today()
period = filters[3].date_input(
    "First infusion between", value=(today - dt.timedelta(days=548), today), max_value=today
)

first_between = period if isinstance(period, tuple) and len(period) == 2 else None
with resources.session_scope() as session:
    scores_all = cohort_assessments(session, actor=actor, instrument=instrument_id)
    # The mean by week is aggregated in the database on the same cohort as select_cohort's
    # below; weeks under MIN_GROUP patients never leave it.
    weekly = weekly_aggregates(
        session,
        actor=actor,
        instrument=instrument_id,
        first_between=first_between,
        clinician_id=clinician,
        protocol=protocol,
        min_patients=MIN_GROUP,
    )

keep = select_cohort(
    infusions_all, first_between=first_between, clinician_id=clinician, protocol=protocol
)
infusions = infusions_all[infusions_all["patient_id"].isin(keep)]
scores = scores_all[scores_all["patient_id"].isin(keep)]

courses = course_outcomes(instrument_id, scores, infusions, rules=config.rules)
n_treated = len(keep)
st.metric("Patients treated", shown_count(n_treated))
if n_treated < MIN_GROUP:
    st.info("Fewer than 5 patients match these filters: widen them to see outcomes.")
    st.stop()

left, right = st.columns(2)
with left:
    funnel = induction_funnel(infusions, rules=config.rules)
    st.plotly_chart(charts.funnel_figure(funnel), width="stretch")
with right:
    rates = suppress_rates(
        response_rates(instrument_id, scores, infusions, rules=config.rules, courses=courses)
    )
    show_refs = st.toggle("Show published reference rates", value=True)
    st.plotly_chart(
        charts.rates_figure(rates, references=COMMUNITY_KETAMINE.rates if show_refs else None),
        width="stretch",
    )
    if show_refs:
        st.caption(COMMUNITY_KETAMINE.source)
st.dataframe(rates, hide_index=True, width="stretch")
st.download_button("Rates (CSV)", frame_to_csv(rates), file_name="rates.csv")

left, right = st.columns(2)
to_response = time_to_response_curve(courses)
durability = durability_curve(courses)
with left:
    st.plotly_chart(
        charts.survival_figure(to_response, title="Time to response", y_title="share responded"),
        width="stretch",
    )
    median = median_days(to_response, cumulative=True)
    st.caption(f"Median time to response: {median:g} days." if median else "Median not reached.")
    st.download_button(
        "Time to response (CSV)", frame_to_csv(to_response), file_name="time_to_response.csv"
    )
with right:
    st.plotly_chart(
        charts.survival_figure(
            durability, title="Durability of response", y_title="still responding"
        ),
        width="stretch",
    )
    median = median_days(durability)
    st.caption(f"Median durability: {median:g} days." if median else "Median not reached.")
    st.download_button("Durability (CSV)", frame_to_csv(durability), file_name="durability.csv")

st.plotly_chart(charts.mean_trajectory_figure(weekly, instrument=instrument_id), width="stretch")
st.download_button("Mean by week (CSV)", frame_to_csv(weekly), file_name="weekly.csv")

st.subheader("Check-in completeness")
completeness = checkin_completeness(courses, scores, today=today)
st.metric(
    "Weekly check-ins received (first 12 weeks)",
    f"{completeness['received'].sum() / max(1, completeness['expected'].sum()):.0%}",
    help=(
        "Weeks with at least one score, out of each patient's first 12 weeks since their "
        "first infusion (fewer if they started recently). Patients who stopped treatment "
        "early still count, so low completeness can mean drop-out as well as missed forms."
    ),
)

st.subheader("By clinician and protocol")
patients = per_patient(infusions_all)
comparison = pd.concat(
    [
        suppress_group_table(
            outcomes_by_group(courses, patients["clinician_id"].map(clinicians))
        ).assign(by="clinician"),
        suppress_group_table(outcomes_by_group(courses, patients["protocol"])).assign(
            by="protocol"
        ),
    ],
    ignore_index=True,
)
st.dataframe(comparison, hide_index=True, width="stretch")
st.download_button("Comparison (CSV)", frame_to_csv(comparison), file_name="comparison.csv")
