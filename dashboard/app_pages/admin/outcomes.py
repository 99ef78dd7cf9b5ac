"""Outcomes: the clinic's response, remission, time to response and durability.

Rates are shown two ways side by side (course-and-reporting §5): over the patients assessed
at a time point, and over everyone who started long enough ago (a missing check-in counts as
no response), each with its Wilson 95% interval. A published rate is shown only beside the
time point its source defined. Every chart has its table in words beside it. The sections are
tabs, and only the open one is drawn.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import charts, outcome_tables, resources, state
from dashboard.cached import clinic_protocols, outcome_report
from dashboard.charts.cohort import completeness_figure
from data.account_admin import list_users
from data.clinic import clinic_config
from data.records.cohort import cohort_courses, outcomes_view
from data.spreadsheet import frame_to_csv
from outcomes.completeness import last_expected_day, missing_this_week_from_days
from outcomes.instruments import course_instruments, get_instrument
from outcomes.privacy import MIN_GROUP, shown_count
from outcomes.reporting import REFERENCES

# The toolbar's eight buttons are eight Tab stops per chart and serve nobody here: every
# chart's numbers are in the table beside it, and the CSV buttons download them.

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)
    users = list_users(session, actor=actor)

st.title("Outcomes", anchor=False)
st.markdown(
    "Aggregates only: no names. Any group under 5 patients is shown as “< 5”, and a rate "
    "over fewer than 5 patients is left blank."
)

filters = st.columns(4)
instrument_id = filters[0].selectbox(
    "Instrument",
    [i.id for i in course_instruments()],
    format_func=lambda i: get_instrument(i).name,
)
instrument_name = get_instrument(instrument_id).name
with resources.session_scope() as session:
    # Access checked and the view recorded on every run, before any cached value is used.
    version = outcomes_view(session, actor=actor, instrument=instrument_id)
clinicians = users[users["role"] == "clinician"].set_index("user_id")["display_name"]
clinician = filters[1].selectbox(
    "Clinician",
    [None, *clinicians.index],
    format_func=lambda c: "all" if c is None else clinicians[c],
)
protocol = filters[2].selectbox(
    "Protocol",
    [None, *clinic_protocols(actor.clinic_id, version, _actor=actor)],
    format_func=lambda p: p or "all",
)
today = dt.date.today()
period = filters[3].date_input(
    "First infusion between", value=(today - dt.timedelta(days=548), today), max_value=today
)

first_between = period if isinstance(period, tuple) and len(period) == 2 else None
clinician_id = None if clinician is None else int(clinician)
report = outcome_report(
    actor.clinic_id,
    version,
    instrument_id,
    (first_between, clinician_id, protocol),
    today,
    # Every account's name, so that a patient assigned to a clinician whose account was since
    # disabled or changed still shows under that person's name, not as unassigned.
    tuple(zip(users["user_id"].astype(int), users["display_name"].astype(str), strict=True)),
    _actor=actor,
)
n_treated = report.treated
st.metric("Patients treated", shown_count(n_treated))
if n_treated < MIN_GROUP:
    st.info("Fewer than 5 patients match these filters: widen them to see outcomes.")
    st.stop()


def show_induction() -> None:
    """Induction completion: how many reached each infusion of the induction."""
    st.header("Induction completion", anchor=False)
    st.plotly_chart(
        charts.funnel_figure(report.funnel), width="stretch", config=charts.PLOTLY_CONFIG
    )
    st.dataframe(outcome_tables.funnel_table(report.funnel), hide_index=True, width="stretch")


def show_response_and_remission() -> None:
    """Response and remission at each time point, two ways, with the published rates."""
    st.header("Response and remission", anchor=False)
    st.markdown(
        "Each time point is shown two ways. **Assessed only** counts the patients who had a "
        "score at that time point. **Everyone who started** counts every patient whose first "
        "infusion was long enough ago for the time point to have passed; a patient with no "
        "score then counts as not responding. The truth usually lies between the two. Bars "
        "show 95% intervals (Wilson).\n\n"
        "Time points: **end of induction** is the first score within "
        f"{config.rules.end_of_induction_window_days} days after infusion "
        f"{config.rules.induction_infusions}; **week 4, 8, 12** the score nearest that week, "
        f"within {config.rules.timepoint_window_days} days; the **ORKA-1 window** the first "
        "score 14 to 31 days after the last of an induction of 4 to 8 infusions (as ORKA-1 "
        "measured it); **within 6 weeks** a response at any score in the first 6 weeks (as "
        "Oliver 2022 measured it)."
    )
    rates = report.rates
    show_refs = st.toggle("Show published rates beside the time point they were measured at", True)
    references = REFERENCES if show_refs else ()
    for measure in ("response", "remission"):
        st.subheader(measure.capitalize(), anchor=False)
        st.plotly_chart(
            charts.rates_figure(rates, measure=measure, references=references),
            width="stretch",
            config=charts.PLOTLY_CONFIG,
        )
        st.dataframe(
            outcome_tables.rates_table(rates, measure=measure, references=references),
            hide_index=True,
            width="stretch",
        )
    if show_refs:
        for reference in REFERENCES:
            st.markdown(f"**{reference.name}**, beside its own time point only: {reference.source}")
    st.download_button("Rates (CSV)", frame_to_csv(rates), file_name="rates.csv")


def show_time_to_response() -> None:
    """Time to response and durability of response (Kaplan-Meier)."""
    st.header("Time to response and durability", anchor=False)
    for curve, title, y_title, share, median, file_name in (
        (
            report.to_response,
            "Time to response",
            "share responded",
            "Share responded",
            report.to_response_median,
            "time_to_response.csv",
        ),
        (
            report.durability,
            "Durability of response",
            "still responding",
            "Share still responding",
            report.durability_median,
            "durability.csv",
        ),
    ):
        st.subheader(title, anchor=False)
        if curve.empty:
            st.info(
                f"No patient has a {instrument_name} baseline and a later score yet"
                + (" with a response" if title.startswith("Durability") else "")
                + f": there is no {title.lower()} to show."
            )
            continue
        st.plotly_chart(
            charts.survival_figure(curve, title=title, y_title=y_title),
            width="stretch",
            config=charts.PLOTLY_CONFIG,
        )
        st.markdown(
            f"Median: {median:g} days." if median else "Fewer than half have reached it so far."
        )
        with st.expander(f"{title} as a table"):
            st.dataframe(
                outcome_tables.survival_table(curve, share=share), hide_index=True, width="stretch"
            )
        st.download_button(f"{title} (CSV)", frame_to_csv(curve), file_name=file_name)


def show_mean_by_week() -> None:
    """The mean score by week of treatment, over weeks of 5 patients or more."""
    st.header(f"Mean {instrument_name} by week", anchor=False)
    weekly = report.weekly
    if weekly.empty:
        st.info(f"No week has {MIN_GROUP} or more patients with a {instrument_name} score yet.")
    else:
        st.plotly_chart(
            charts.mean_trajectory_figure(weekly, instrument=instrument_id),
            width="stretch",
            config=charts.PLOTLY_CONFIG,
        )
        st.dataframe(
            outcome_tables.weekly_means_table(weekly, instrument_name=instrument_name),
            hide_index=True,
            width="stretch",
        )
        st.download_button("Mean by week (CSV)", frame_to_csv(weekly), file_name="weekly.csv")


def show_completeness() -> None:
    """Check-in completeness by week, and who has not checked in this week (pseudonyms)."""
    st.header("Check-in completeness", anchor=False)
    st.markdown(
        "Patients are expected to check in every week of their first 12 weeks of treatment. "
        "Those who stopped treatment early are still expected, so a low share can mean drop-out "
        "as well as missed forms."
    )
    by_week = report.by_week
    st.plotly_chart(completeness_figure(by_week), width="stretch", config=charts.PLOTLY_CONFIG)
    st.dataframe(outcome_tables.completeness_table(by_week), hide_index=True, width="stretch")
    st.subheader("Not checked in this week", anchor=False)
    # Who is missing is a list of patients (by pseudonym): never cached, read afresh for the
    # patients this week can expect (a first infusion 7 to last_expected_day days ago).
    expected_from = today - dt.timedelta(days=last_expected_day())
    expected_to = today - dt.timedelta(days=7)
    if first_between is not None:
        expected_from = max(expected_from, first_between[0])
        expected_to = min(expected_to, first_between[1])
    if expected_from <= expected_to:
        with resources.session_scope() as session:
            recent = cohort_courses(
                session,
                actor=actor,
                instrument=instrument_id,
                first_between=(expected_from, expected_to),
                clinician_id=clinician_id,
                protocol=protocol,
            )
        missing = missing_this_week_from_days(recent, today=today)
    else:
        missing = pd.DataFrame(columns=["patient_id", "week_of_treatment", "days_since_last_score"])
    if missing.empty:
        st.markdown("Everyone expected has checked in during the last 7 days.")
    else:
        # Administrators see pseudonyms (the aggregate reads never give them patient ids); the
        # care team finds the patients by name on their worklist.
        st.markdown(
            f"{len(missing)} patients expected have not checked in during the last 7 days. "
            "They are listed by pseudonym: their care team sees them by name on the worklist."
        )
        st.dataframe(outcome_tables.missing_table(missing), hide_index=True, width="stretch")


def show_comparison() -> None:
    """Outcomes by clinician and by protocol."""
    st.header("By clinician and protocol", anchor=False)
    st.markdown(
        "Every patient treated is counted once in each table, so the rows add up to all patients "
        "treated. Response of followed up is over patients with a baseline and a later score; "
        "response of everyone treated counts those never followed up as not responding."
    )
    unassigned = report.unassigned
    st.subheader("By clinician", anchor=False)
    if unassigned:
        st.markdown(
            f"{shown_count(int(unassigned))} of {shown_count(n_treated)} patients treated have no "
            "assigned clinician: they are counted in the Unassigned row."
        )
    shown_clinicians = report.by_clinician
    st.dataframe(
        outcome_tables.comparison_table(shown_clinicians, group="Clinician"),
        hide_index=True,
        width="stretch",
    )
    st.subheader("By protocol", anchor=False)
    shown_protocols = report.by_protocol
    st.dataframe(
        outcome_tables.comparison_table(shown_protocols, group="Protocol"),
        hide_index=True,
        width="stretch",
    )
    comparison = pd.concat(
        [shown_clinicians.assign(by="clinician"), shown_protocols.assign(by="protocol")],
        ignore_index=True,
    )
    st.download_button("Comparison (CSV)", frame_to_csv(comparison), file_name="comparison.csv")


if not report.has_scores:
    # An instrument nobody has answered (MADRS before any rating) has no rates, curves or
    # means: empty axes with "n=0" and "Median not reached" would suggest otherwise.
    st.info(
        f"There is no data for the {instrument_name} yet: none of the patients these filters "
        f"select has a {instrument_name} score, so there are no rates, curves or completeness "
        "to show. Choose another instrument or widen the filters."
    )
    show_induction()
    st.stop()

# One section at a time: drawn all at once, the page's seven charts and nine tables were most
# of what the browser waited for. Only the open tab is drawn; opening another reruns the page,
# whose aggregates come from the cache.
SECTIONS = {
    "Response and remission": show_response_and_remission,
    "Time to response": show_time_to_response,
    "Induction": show_induction,
    "Mean by week": show_mean_by_week,
    "Check-in completeness": show_completeness,
    "By clinician and protocol": show_comparison,
}
for tab, show in zip(
    st.tabs(list(SECTIONS), key="outcomes_tab", on_change="rerun"),
    SECTIONS.values(),
    strict=True,
):
    if tab.open:
        with tab:
            show()
