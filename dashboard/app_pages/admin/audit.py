"""Audit log: who looked at or changed which record, and when; filtered by user, by a
patient's MRN (resolved in the data layer, in this clinic only) and by date."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import downloads, resources, state
from dashboard.plain import literal
from data.account_admin import list_users
from data.audit_trail import audit_log
from data.errors import InvalidInput
from data.spreadsheet import frame_to_csv

actor = state.require_actor()
st.title("Audit log", anchor=False)
with resources.session_scope() as session:
    users = list_users(session, actor=actor)

cols = st.columns(3)
labels = dict(zip(users["user_id"], users["username"], strict=True))
user = cols[0].selectbox(
    "User", [None, *labels], format_func=lambda u: "all" if u is None else labels[u]
)
mrn = cols[1].text_input(
    "Patient id (MRN)", key="audit_mrn", help="The clinic's own patient id; empty for everyone"
)
today = dt.date.today()
days = cols[2].date_input("Between", value=(today - dt.timedelta(days=30), today))

since = until = None
if isinstance(days, tuple) and len(days) == 2:
    since = dt.datetime.combine(days[0], dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(days[1], dt.time.max, tzinfo=dt.UTC)
try:
    with resources.session_scope() as session:
        log = audit_log(session, actor=actor, user_id=user, mrn=mrn, since=since, until=until)
except InvalidInput as refused:
    st.error(literal(refused))
    st.stop()
st.markdown(
    f"{len(log)} events, newest first (up to 1,000). **Subject** says what an action was done "
    "to (an account, an alert); **patient_id** is the record's internal number."
)
st.dataframe(log, hide_index=True, width="stretch")
if st.button("Prepare the audit log (CSV)", key="prepare_audit_csv"):
    # Who looked at which patient's record, and when: handed only to this signed-in browser,
    # once (dashboard.downloads), with spreadsheet formulas neutralised.
    try:
        link = downloads.prepare(
            state.browser_id(), frame_to_csv(log), file_name="audit_log.csv", mime="text/csv"
        )
    except ValueError as refused:
        st.error(literal(refused))
    else:
        st.link_button("Download the audit log (CSV)", link, type="primary")
