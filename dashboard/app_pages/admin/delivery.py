"""Message delivery: whether messages are getting out, what became of each, who cannot be
reached, whether check-ins came in more often since reminders were switched on, and the
messages sent as their recipients read them.

No patient is named here: recipients are masked and one-time links hidden by the data layer.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import charts, resources, state
from dashboard.charts.reminders import reminder_completeness_figure
from dashboard.plain import literal
from data.errors import InvalidInput
from data.notify.delivery_log import (
    STATUSES,
    delivery_counts,
    delivery_log,
    sent_messages,
    unreachable_patients,
)
from data.notify.health import STUCK_AFTER, delivery_health
from data.notify.queue import KINDS
from data.notify.reminder_effect import reminder_completeness
from data.notify.settings_admin import message_settings

STUCK = "The mail server cannot be reached; messages are kept and will be sent when it can."
PAGE_SIZE = 50

actor = state.require_actor()
if actor.role != "administrator":
    st.error("Message delivery is read by the clinic's administrator.")
    st.stop()
st.title("Message delivery", anchor=False)

with resources.session_scope() as session:
    settings = message_settings(session, actor=actor)
    health = delivery_health(session, actor=actor)
    counts = delivery_counts(session, actor=actor)
    unreachable = unreachable_patients(session, actor=actor)
zone = settings.time_zone


def local(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The moments of ``columns`` on the clinic's clock, to the minute."""
    frame = frame.copy()
    for column in columns:
        moments = pd.to_datetime(frame[column], utc=True)
        frame[column] = moments.dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M")
    return frame


if health.stuck:
    details = []
    if health.oldest_waiting is not None and health.oldest_waiting > STUCK_AFTER:
        minutes = int(health.oldest_waiting.total_seconds() // 60)
        details.append(f"{health.queued} message(s) queued, the longest due for {minutes} minutes")
    if health.failed_last_hour:
        details.append(f"{health.failed_last_hour} attempt(s) failed in the last hour")
    st.warning(STUCK + " " + literal("; ".join(details) + "."), icon=":material/warning:")
    if health.last_error:
        st.text(f"Last error: {health.last_error}")
    st.markdown(
        "If the error names no server, check that the worker is running (`outcomes worker`, "
        "or `outcomes send-due` from a timer) and the mail settings of the server."
    )
else:
    st.success("Messages are getting out: nothing is waiting past its time.")

st.header("What became of the messages (all time)", anchor=False)
labels = {
    "sent": "Sent",
    "failed": "Failed",
    "bounced": "Bounced",
    "opted_out": "Stopped by an opt-out",
    "cancelled": "Cancelled",
    "queued": "Queued",
}
cols = st.columns(len(labels))
for col, (key, label) in zip(cols, labels.items(), strict=True):
    col.metric(label, counts[key])
cols = st.columns(2)
cols[0].metric("Patients who opted out", counts["opted_out_patients"])
cols[1].metric("Patients who cannot be reached (no e-mail, no phone)", unreachable)

st.header("Delivery log", anchor=False)
cols = st.columns(4)
status = cols[0].selectbox(
    "Status", [None, *STATUSES], format_func=lambda s: "all" if s is None else s, key="log_status"
)
kind = cols[1].selectbox(
    "Kind", [None, *KINDS], format_func=lambda k: "all" if k is None else k, key="log_kind"
)
today = dt.datetime.now(dt.UTC).date()  # the log's days are UTC days
days = cols[2].date_input("Queued between (UTC)", value=(today - dt.timedelta(days=30), today))
page = cols[3].number_input("Page", min_value=1, value=1, key="log_page")
between = days if isinstance(days, tuple) and len(days) == 2 else None
try:
    with resources.session_scope() as session:
        log = delivery_log(
            session,
            actor=actor,
            status=status,
            kind=kind,
            between=between,  # type: ignore[arg-type]
            page=int(page) - 1,
            page_size=PAGE_SIZE,
        )
except InvalidInput as refused:
    st.error(literal(refused))
    st.stop()
st.markdown(
    f"Page {log.page + 1} of {log.pages} ({log.total} messages, newest first; times on the "
    f"clinic's clock, {literal(zone)})."
)
st.dataframe(
    local(log.rows, "created_at", "next_attempt_at", "sent_at"), hide_index=True, width="stretch"
)

st.header("Check-ins before and with reminders", anchor=False)
weeks = st.selectbox("Weeks to compare", [4, 8, 12], index=1, key="effect_weeks")
with resources.session_scope() as session:
    effect = reminder_completeness(session, actor=actor, weeks=int(weeks))
if effect.since is None:
    st.info("Reminders are off: switch them on on the Messages page to compare.")
else:
    cols = st.columns(2)
    for col, label, share in (
        (cols[0], f"Before reminders ({weeks} weeks)", effect.before),
        (cols[1], "With reminders (weeks ended so far)", effect.after),
    ):
        col.metric(label, "no data" if share is None else f"{share:.0%}")
    st.markdown(
        "Share of expected weekly check-ins that came in (the outcomes page's completeness). "
        "It shows what happened, not why: patients and their courses change too."
    )
    if not effect.weekly.empty:
        st.plotly_chart(
            reminder_completeness_figure(effect.weekly, since=effect.since),
            width="stretch",
            config=charts.PLOTLY_CONFIG,
        )
        table = effect.weekly[["week_start", "week_end", "period", "received", "expected"]]
        st.dataframe(
            table.assign(
                share=effect.weekly["share"].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
            ),
            hide_index=True,
            width="stretch",
        )

st.header("Messages sent", anchor=False)
st.markdown(
    "What recipients read, newest first (the 20 latest). Without a mail server set up, "
    "messages go to the app's own outbox and can be read only here. One-time links are hidden."
)
with resources.session_scope() as session:
    sent = sent_messages(session, actor=actor, limit=20)
if sent.empty:
    st.info("No message has been sent yet.")
for row in local(sent, "sent_at").itertuples(index=False):
    with st.expander(literal(f"{row.sent_at} · {row.kind} · {row.channel} to {row.recipient}")):
        if isinstance(row.subject, str):
            st.text(f"Subject: {row.subject}")
        st.text(row.body)
