"""My progress: the patient's own scores on every questionnaire they answer, over its bands,
with their infusion days, in plain words (:mod:`dashboard.progress_words`)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, resources, state
from dashboard import progress_words as words
from data.clinic import clinic_config
from data.records.patient_record import patient_assessments, patient_infusions

actor = state.require_actor()
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)
    # Every questionnaire on record: the readers leave out answers a correction replaced.
    history = patient_assessments(session, actor=actor, patient_id=actor.patient_id or 0)
    infusions = patient_infusions(session, actor=actor, patient_id=actor.patient_id or 0)

st.title("My progress", anchor=False)
st.markdown(
    "Each questionnaire you answer is shown below with your scores over time. "
    "**Lower scores mean fewer symptoms: on every chart, lower is better.** "
    "Dotted lines labelled Infusion mark your infusion days."
)

scored = history[history["total"].notna()]
infusion_days = [
    day.date() for day in words.clinic_days(infusions["administered_at"], config.time_zone)
]
for instrument in words.progress_instruments(
    config.checkin_instruments, tuple(scored["instrument"].unique())
):
    title = words.questionnaire_title(instrument)
    st.header(title, anchor=False)
    mine = scored[scored["instrument"] == instrument.id].sort_values("administered_at")
    totals = [int(total) for total in mine["total"]]
    days = [day.date() for day in words.clinic_days(mine["administered_at"], config.time_zone)]
    st.markdown(" ".join(words.trend_sentences(instrument, totals)))
    if not totals:
        continue
    summary = words.chart_summary(instrument, days, totals, infusion_days)
    st.plotly_chart(
        charts.progress_figure(instrument, mine, infusions, time_zone=config.time_zone),
        width="stretch",
        config=charts.PLOTLY_CONFIG,
        alt=summary,
        key=f"progress_chart_{instrument.id}",
    )
    st.markdown(summary)
    with st.expander(f"{title}: your scores as a table"):
        st.dataframe(words.score_table(instrument, days, totals), hide_index=True)
        st.markdown(words.infusion_days_sentence(infusion_days))
