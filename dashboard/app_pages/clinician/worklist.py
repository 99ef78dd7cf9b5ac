"""Worklist: safety alerts first, then boosters to consider, not responding, lost to
follow-up, check-ins to ask for, overdue, no baseline.

Read from each patient's stored course state (:mod:`data.records.worklist_state`), never the
clinic's history, and shown a page at a time: each reason lists its most urgent
:data:`PAGE_SIZE` patients with the total in words and a button for more, and only the
patients shown are named (issue 13: a clinic of 10,000 patients).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import resources, state
from dashboard.alert_cards import show_alert_cards
from dashboard.patient_view.identity import patient_labels, patient_phones
from data.access import Actor
from data.clinic import clinic_config, clinic_now
from data.records.patient_lists import clinic_patients, patients_without_contact
from data.records.worklist_state import worklist_state
from outcomes.course import courses_at
from outcomes.worklist import REASON_LABELS, worklist

# A huddle's worth of rows per reason; "Show more" adds as many again.
PAGE_SIZE = 20
_SHOWN = "worklist_shown"  # session key prefix: rows shown per scope and reason
# The safety alerts are the cards above the lists (dashboard.alert_cards), read there a page
# at a time: the lists below have none.
_NO_ALERTS = pd.DataFrame(columns=["patient_id", "kind", "created_at"])


def patients_text(count: int) -> str:
    """``1 patient``, ``2,345 patients``."""
    return f"{count:,} patient" + ("" if count == 1 else "s")


actor = state.require_actor()
# Only the rows the list shows are read: "My patients" reads the clinician's own. A clinician
# with no patients of their own (the first visit finds none) starts with the whole clinic.
chosen = st.session_state.get("worklist_scope")
with resources.session_scope() as session:
    config = clinic_config(session, actor.clinic_id)
    stored = worklist_state(
        session,
        actor=actor,
        instrument="phq9",
        assigned_to=actor.user_id if chosen in (None, "mine") else None,
    )
    if chosen is None and stored.patients.empty:
        stored = worklist_state(session, actor=actor, instrument="phq9")

st.title("Worklist", anchor=False)
# The clinic's own date: "overdue" and ages turn over at the clinic's midnight.
today = clinic_now(config.time_zone).date()
patients = stored.patients
mine = (patients["assigned_clinician_id"] == actor.user_id).fillna(False).to_numpy(dtype=bool)
scope = st.radio(
    "Patients",
    ["mine", "clinic"],
    # A clinician with patients of their own starts with them; the huddle switches to all.
    index=0 if mine.any() else 1,
    format_func=lambda v: "My patients" if v == "mine" else "Whole clinic",
    horizontal=True,
    key="worklist_scope",
)
listed = patients.index[mine] if scope == "mine" else patients.index
courses = courses_at(
    stored.courses[stored.courses.index.isin(listed)], today=today, rules=config.rules
)
items = worklist(
    courses,
    # Any check-in the patient submitted, valid or not: one sent this week is not overdue.
    last_checkin=patients["last_checkin_at"],
    open_alerts=_NO_ALERTS,
    today=today,
    patient_ids=pd.Index(listed),
    cadence_days=config.checkin_cadence_days,
    active_days=config.rules.after_course_days,
    rules=config.rules,
    # "Overdue" from each patient's measurement schedule (spec §4), stored on write.
    next_due=patients["next_due"],
    next_due_closes=patients["next_due_closes"],
)


def open_patient(patient_id: int) -> None:
    st.session_state[state.SELECTED_PATIENT] = int(patient_id)
    st.switch_page("app_pages/clinician/patient.py")


# Safety alerts are the whole care team's: shown for the whole clinic whichever list is chosen.
show_alert_cards(actor, open_patient=open_patient, today=today, time_zone=config.time_zone)


def _show_more(key: str, shown: int) -> None:
    """The callback of "Show more": runs before the rerun its click starts (no second rerun)."""
    st.session_state[key] = shown + PAGE_SIZE


@st.fragment
def needs_attention(items: pd.DataFrame, *, actor: Actor, scope: str, today: dt.date) -> None:
    """Each reason's longest-waiting patients, :data:`PAGE_SIZE` more at a click.

    A fragment: "Show more" reruns this list only, with the worklist of the page's last run,
    and reads the names of the rows it then shows.
    """
    groups = {str(reason): group for reason, group in items.groupby("reason", sort=False)}
    shown = {
        reason: group.head(int(st.session_state.get(f"{_SHOWN}_{scope}_{reason}", PAGE_SIZE)))
        for reason, group in groups.items()
    }
    # Rows name a patient by name, MRN, date of birth and age: a clinic may have several
    # patients of one name, and "Open" must lead to the right one. Only the rows shown are
    # read and named.
    shown_ids = sorted({int(p) for rows in shown.values() for p in rows["patient_id"]})
    labels: dict[int, str] = {}
    phones: dict[int, str] = {}
    if shown_ids:
        with resources.session_scope() as session:
            roster = clinic_patients(session, actor=actor, patient_ids=shown_ids)
        labels = patient_labels(roster, today=today, markdown=True)
        phones = patient_phones(roster)

    st.header(f"Needs attention ({len(items):,})", anchor=False)
    if items.empty:
        st.info("Nothing else needs attention today.")
    for reason, group in groups.items():
        rows = shown[reason]
        st.subheader(f"{REASON_LABELS[reason]} ({len(group):,})", anchor=False)
        for row in rows.itertuples(index=False):
            # One horizontal container a row (three elements where columns made five): a
            # large clinic's list is what the browser waits for (issue 13).
            line = st.container(horizontal=True, vertical_alignment="center", wrap=False)
            phone = phones.get(int(row.patient_id))  # the huddle calls from the list
            line.markdown(
                f"{labels.get(int(row.patient_id), 'Unknown patient')} — {row.detail}"
                + (f" · phone {phone}" if phone else "")
            )
            if line.button("Open", key=f"open_{reason}_{row.patient_id}", width="content"):
                open_patient(row.patient_id)
        st.caption(
            f"Showing {len(rows):,} of {patients_text(len(group))}, longest waiting first."
            if len(rows) < len(group)
            else f"All {patients_text(len(group))} shown, longest waiting first."
        )
        if len(rows) < len(group):
            more = min(PAGE_SIZE, len(group) - len(rows))
            st.button(
                f"Show {more} more: {REASON_LABELS[reason].split(':')[0].lower()}",
                key=f"more_{scope}_{reason}",
                on_click=_show_more,
                args=(f"{_SHOWN}_{scope}_{reason}", len(rows)),
            )


needs_attention(items, actor=actor, scope=scope, today=today)


@st.fragment
def cannot_be_reminded(*, actor: Actor, scope: str, today: dt.date) -> None:
    """How many patients no reminder or one-tap link can reach (no e-mail, no phone), named
    on request (the first :data:`PAGE_SIZE`, by name): the care team asks for a contact at the
    next visit (issue 14). Nobody is named unless asked for, as in the lists above."""
    with resources.session_scope() as session:
        ids = patients_without_contact(
            session, actor=actor, assigned_to=actor.user_id if scope == "mine" else None
        )
    if not ids:
        return
    st.subheader(f"No e-mail or phone on record ({len(ids):,})", anchor=False)
    st.caption(f"No reminder or one-tap check-in link reaches {patients_text(len(ids))}.")
    if not st.toggle("Name them", key=f"unreachable_{scope}"):
        return
    shown = ids[:PAGE_SIZE]
    with resources.session_scope() as session:
        roster = clinic_patients(session, actor=actor, patient_ids=shown)
    labels = patient_labels(roster, today=today, markdown=True)
    st.markdown("\n".join(f"- {labels.get(p, 'Unknown patient')}" for p in shown))
    if len(ids) > len(shown):
        st.caption(f"Showing {len(shown):,} of {patients_text(len(ids))}, by name.")


cannot_be_reminded(actor=actor, scope=scope, today=today)
