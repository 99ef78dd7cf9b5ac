"""Planned infusions: book the patient's next infusions, see the check-ins they make due.

A booked infusion moves the patient's measurement schedule as a recorded one does
(course-and-reporting §4): a check-in is due before it, and the reminders follow. Recording
the infusion on its day fulfils the booking; a cancelled one is kept in the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import resources
from dashboard.plain import literal
from data.access import Actor
from data.clinic import clinic_moment, clinic_now
from data.errors import AccessDenied, InvalidInput
from data.schedule import cancel_planned_infusion, patient_schedule, plan_infusion
from outcomes.schedule import KIND_LABELS

DONE = "planned_infusions_done"
SHOWN_WINDOWS = 4


def show_planned_infusions(actor: Actor, patient_id: int, *, time_zone: str) -> None:
    """The patient's bookings, the next check-ins due, and a form to book one."""
    st.subheader("Planned infusions and check-ins due", anchor=False)
    done = st.session_state.pop(DONE, None)
    if isinstance(done, str):
        st.success(done)
    today = clinic_now(time_zone).date()
    with resources.session_scope() as session:
        schedule = patient_schedule(session, actor=actor, patient_id=patient_id, today=today)
    if not schedule.planned:
        st.caption("No infusion booked.")
    for planned_id, at in schedule.planned:
        local = at.astimezone(clinic_now(time_zone).tzinfo)
        left, right = st.columns([3, 1])
        left.markdown(f"Booked: **{local:%A %d %B %Y at %H:%M}**")
        if right.button("Cancel", key=f"cancel_planned_{planned_id}"):
            _change(
                lambda session, planned_id=planned_id: cancel_planned_infusion(
                    session, actor=actor, patient_id=patient_id, planned_id=planned_id
                ),
                "Booking cancelled.",
            )
    ahead = [w for w in schedule.windows if w.days.closes >= today][:SHOWN_WINDOWS]
    if ahead:
        st.markdown(
            "\n".join(
                f"- {KIND_LABELS[w.kind]}: from {w.days.opens:%a %d %b} to "
                f"{w.days.closes:%a %d %b} (due {w.days.due:%a %d %b})"
                for w in ahead
            )
        )
    else:
        st.caption("No check-in is scheduled: book the first infusion to start the schedule.")
    with st.form("plan_infusion_form"):
        day = st.date_input(
            "Infusion day", value=today + dt.timedelta(days=7), min_value=today, key="plan_day"
        )
        time = st.time_input("Time", value=dt.time(9, 0), key="plan_time")
        if st.form_submit_button("Book infusion"):
            moment = clinic_moment(day, time, time_zone)
            _change(
                lambda session: plan_infusion(
                    session, actor=actor, patient_id=patient_id, planned_at=moment
                ),
                f"Infusion booked for {day:%A %d %B %Y} at {time:%H:%M}.",
            )


def _change(run: Callable[[Any], object], message: str) -> None:
    """Run one change in its own transaction; on success rerun so the lists show it."""
    try:
        with resources.session_scope(write=True) as session:
            run(session)
    except (InvalidInput, AccessDenied) as refused:
        for problem in getattr(refused, "problems", None) or [str(refused)]:
            st.error(literal(f"Not saved: {problem}"))
        return
    st.session_state[DONE] = message
    st.rerun(scope="app")
