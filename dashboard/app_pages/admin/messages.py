"""Messages: when reminders go out, what each message says, and who safety alerts reach.

Three parts, each saved on its own: the settings (reminders on or off, quiet hours, the
clinic's hours and days, escalation time, most reminders), the clinic's wording of each
message (placeholders checked on save, a preview with sample values, back to the default),
and the on-call list (add, change, reorder, deactivate). Every change goes through the data
layer, which validates and audits it; a refusal lists what to correct and saves nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import resources, state
from dashboard.plain import literal
from data.account_admin import list_users
from data.errors import AccessDenied, InvalidInput
from data.notify.on_call import OnCallEntry, add_on_call_contact, on_call_list, save_on_call_list
from data.notify.queue import KINDS
from data.notify.settings_admin import (
    DAY_NAMES,
    ESCALATION_MINUTES,
    MAX_REMINDERS,
    message_settings,
    set_message_settings,
)
from data.notify.templates import (
    PLACEHOLDERS,
    clinic_templates,
    preview_template,
    reset_template,
    save_template,
)

DONE = "messages_page_done"

actor = state.require_actor()
if actor.role != "administrator":
    # The page is only in an administrator's menu; the data layer refuses the changes anyway.
    st.error("Messages are set up by the clinic's administrator.")
    st.stop()
st.title("Messages", anchor=False)

with resources.session_scope() as session:
    settings = message_settings(session, actor=actor)
    templates = clinic_templates(session, actor=actor)
    contacts = on_call_list(session, actor=actor)
    users = list_users(session, actor=actor)
staff = users[(users["role"] != "patient") & users["active"]]
staff_names: dict[int, str] = {
    int(user_id): str(name)
    for user_id, name in zip(staff["user_id"], staff["username"], strict=True)
}

done = st.session_state.pop(DONE, None)
if isinstance(done, str):
    st.success(done)


def refused_message(refused: InvalidInput | AccessDenied) -> str:
    problems = refused.problems if isinstance(refused, InvalidInput) else (str(refused),)
    return "Nothing was saved. Please correct:\n\n" + "\n".join(
        f"- {literal(problem)}" for problem in problems
    )


def attempt(message: str, run: Callable[[Any], object]) -> None:
    """Run one change in its own transaction; on success rerun so every part shows it."""
    try:
        with resources.session_scope(write=True) as session:
            run(session)
    except (InvalidInput, AccessDenied) as refused:
        st.error(refused_message(refused))
    else:
        st.session_state[DONE] = message
        st.rerun()


def clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


# --- settings ----------------------------------------------------------------------------------

st.header("When messages go out", anchor=False)
if settings.reminders_on_since is not None:
    st.markdown(
        f"Check-in reminders are **on** since {settings.reminders_on_since:%d %b %Y %H:%M} UTC."
    )
else:
    st.markdown("Check-in reminders are **off**: no patient is reminded.")
st.markdown(
    f"Times are on the clinic's clock ({literal(settings.time_zone)}). No reminder is sent in "
    "quiet hours; an unacknowledged safety alert escalates to the next on-call contact after "
    "the escalation time while the clinic is open."
)
with st.form("message_settings"):
    reminders_on = st.toggle("Send check-in reminders", value=settings.reminders_on)
    cols = st.columns(2)
    quiet_start = cols[0].time_input(
        "Quiet hours start", value=clock(settings.quiet_hours_start), step=900
    )
    quiet_end = cols[1].time_input(
        "Quiet hours end", value=clock(settings.quiet_hours_end), step=900
    )
    opens = cols[0].time_input("Clinic opens", value=clock(settings.clinic_opens), step=900)
    closes = cols[1].time_input("Clinic closes", value=clock(settings.clinic_closes), step=900)
    days = st.multiselect(
        "Days the clinic is open",
        list(range(7)),
        default=list(settings.clinic_days),
        format_func=lambda day: DAY_NAMES[day],
    )
    escalation = cols[0].number_input(
        "Escalate an unacknowledged safety alert after (minutes)",
        min_value=ESCALATION_MINUTES[0],
        max_value=ESCALATION_MINUTES[1],
        value=settings.escalation_minutes,
        step=5,
    )
    most = cols[1].number_input(
        "Most reminders per check-in",
        min_value=MAX_REMINDERS[0],
        max_value=MAX_REMINDERS[1],
        value=settings.max_reminders,
    )
    if st.form_submit_button("Save settings", type="primary"):
        attempt(
            "The message settings were saved.",
            lambda s: set_message_settings(
                s,
                actor=actor,
                quiet_hours_start=f"{quiet_start:%H:%M}" if quiet_start else None,
                quiet_hours_end=f"{quiet_end:%H:%M}" if quiet_end else None,
                clinic_opens=f"{opens:%H:%M}" if opens else None,
                clinic_closes=f"{closes:%H:%M}" if closes else None,
                clinic_days=list(days),
                escalation_minutes=int(escalation),
                max_reminders=int(most),
                reminders_on=bool(reminders_on),
            ),
        )

# --- wording -----------------------------------------------------------------------------------

st.header("What each message says", anchor=False)
st.markdown(
    "Messages never carry clinical content: no score, answer or diagnosis, only the clinic's "
    "name, that something is due or needs review, and a link."
)
kinds = list(KINDS)
kind = st.selectbox("Message", kinds, format_func=lambda k: KINDS[k].capitalize(), key="tpl_kind")
channel = st.radio(
    "Sent by",
    ["email", "sms"],
    format_func=lambda c: {"email": "E-mail", "sms": "Text (SMS)"}[c],
    horizontal=True,
    key="tpl_channel",
)
current = next(t for t in templates if (t.kind, t.channel) == (kind, channel))
st.markdown(
    ("The clinic's own wording." if current.own else "The default wording.")
    + " Placeholders this message can use: "
    + ", ".join(f"`{{{name}}}`" for name in sorted(PLACEHOLDERS[kind]))
)
subject = (
    st.text_input("Subject", value=current.subject or "", key=f"tpl_subject_{kind}_{channel}")
    if channel == "email"
    else None
)
body = st.text_area("Message", value=current.body, key=f"tpl_body_{kind}_{channel}", height=160)
cols = st.columns(3)
if cols[0].button("Preview", key="tpl_preview"):
    try:
        shown = preview_template(kind, channel, subject, body, clinic_name=settings.clinic_name)
    except InvalidInput as refused:
        st.error(refused_message(refused).replace("Nothing was saved. ", ""))
    else:
        st.markdown("**Preview** (sample link and date):")
        if shown.subject is not None:
            st.text(f"Subject: {shown.subject}")
        st.text(shown.body)
if cols[1].button("Save wording", type="primary", key="tpl_save"):
    attempt(
        "The wording was saved; messages queued from now on use it.",
        lambda s: save_template(
            s, actor=actor, kind=kind, channel=channel, subject=subject, body=body
        ),
    )
if current.own and cols[2].button("Back to the default", key="tpl_reset"):
    for key in (f"tpl_subject_{kind}_{channel}", f"tpl_body_{kind}_{channel}"):
        st.session_state.pop(key, None)
    attempt(
        "The default wording is used again.",
        lambda s: reset_template(s, actor=actor, kind=kind, channel=channel),
    )

# --- on-call list ------------------------------------------------------------------------------

st.header("On-call list", anchor=False)
st.markdown(
    "A safety alert reaches the patient's clinician and the first active contact at once, then "
    f"the next one every {settings.escalation_minutes} minutes while nobody acknowledges it. "
    "Numbers with their country code (+1 212 555 0143)."
)
st.dataframe(
    [
        {
            "order": c.position if c.active else None,
            "name": c.name,
            "e-mail": c.email,
            "phone": c.phone,
            "account": staff_names.get(c.user_id) if c.user_id is not None else None,
            "active": c.active,
        }
        for c in contacts
    ],
    hide_index=True,
    width="stretch",
)
account_choices: list[int | None] = [None, *staff_names]


def account_label(user_id: int | None) -> str:
    return "no account" if user_id is None else staff_names[user_id]


def entries_of(rows: list[Any]) -> list[OnCallEntry]:
    return [
        OnCallEntry(r.name, r.email, r.phone, r.user_id, r.active, contact_id=r.contact_id)
        for r in rows
    ]


with st.form("add_contact", clear_on_submit=True):
    st.subheader("Add a contact", anchor=False)
    name = st.text_input("Name", key="add_name")
    email = st.text_input("E-mail", key="add_email")
    phone = st.text_input("Mobile number", key="add_phone")
    linked = st.selectbox("Staff account", account_choices, format_func=account_label)
    if st.form_submit_button("Add to the list"):
        attempt(
            "The contact was added at the end of the list.",
            lambda s: add_on_call_contact(
                s,
                actor=actor,
                entry=OnCallEntry(name, email or None, phone or None, linked),
            ),
        )

if contacts:
    st.subheader("Change a contact", anchor=False)
    by_id = {c.contact_id: c for c in contacts}
    chosen_id = st.selectbox(
        "Contact", list(by_id), format_func=lambda c: by_id[c].name, key="change_contact"
    )
    chosen = by_id[chosen_id]
    active_count = sum(1 for c in contacts if c.active)
    with st.form(f"change_contact_{chosen_id}"):
        new_name = st.text_input("Name", value=chosen.name)
        new_email = st.text_input("E-mail", value=chosen.email or "")
        new_phone = st.text_input("Mobile number", value=chosen.phone or "")
        new_account = st.selectbox(
            "Staff account",
            account_choices,
            index=account_choices.index(chosen.user_id) if chosen.user_id in staff_names else 0,
            format_func=account_label,
        )
        new_active = st.checkbox("Active (reached by safety alerts)", value=chosen.active)
        position = st.number_input(
            "Place in the order",
            min_value=1,
            max_value=max(active_count, 1) + (0 if chosen.active else 1),
            value=chosen.position if chosen.active else max(active_count, 0) + 1,
        )
        if st.form_submit_button("Save contact"):
            others = [c for c in contacts if c.contact_id != chosen_id]
            edited = OnCallEntry(
                new_name,
                new_email or None,
                new_phone or None,
                new_account,
                new_active,
                contact_id=chosen_id,
            )
            ordered = entries_of(others)
            ordered.insert(int(position) - 1, edited)
            attempt(
                "The on-call list was saved.",
                lambda s: save_on_call_list(s, actor=actor, entries=ordered),
            )
