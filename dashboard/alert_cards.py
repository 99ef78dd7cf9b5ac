"""Safety alerts as cards: whose, what was answered and how long ago, acknowledging with a note.

The worklist shows the clinic's open alerts a page at a time, most urgent first
(:func:`show_alert_cards`); the patient page lists one patient's alerts with their history
(:mod:`dashboard.patient_view.alerts`). Both say an alert the same way
(:func:`answer_level`, :func:`open_for`) and acknowledge it through the same form
(:func:`acknowledge_form`), which says so once it is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import resources
from dashboard.patient_label import patient_label
from dashboard.patient_view.identity import phone_link
from dashboard.plain import alert_label, literal
from data.access import Actor
from data.errors import AccessDenied, InvalidInput
from data.records.alert_history import alert_histories
from data.records.alert_review import acknowledge_alert, open_alerts
from outcomes.errors import UnknownInstrumentError
from outcomes.instruments import get_instrument

# Twenty cards, twenty note fields: a huddle's worth. Hundreds of open alerts are pages.
PAGE_SIZE = 20
_PAGE = "alert_page"
# The confirmation of the last acknowledgement, shown once after the page reruns.
_ACKNOWLEDGED = "alert_acknowledged"


def timestamp(at: object) -> pd.Timestamp:
    """A stored time (aware, UTC) as a pandas timestamp."""
    return pd.Timestamp(at)  # type: ignore[arg-type]


def when_text(at: object, time_zone: str = "UTC") -> str:
    """A stored time as the clinic reads it, on its own clock: ``28 Nov 2026 09:02 EST``."""
    return timestamp(at).tz_convert(time_zone).strftime("%d %b %Y %H:%M %Z")


def duration_text(seconds: float) -> str:
    """``45 min``, ``5 h``, ``3 days``: how long, as a huddle says it."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def open_for(created_at: object, now: dt.datetime) -> str:
    """How long an alert has been open: ``open 5 h``."""
    return f"open {duration_text((now - timestamp(created_at)).total_seconds())}"


def answer_level(alert: Any) -> str:
    """What raised the alert, with the answer level.

    ``PHQ-9 item 9 (thoughts of death or self-harm) positive: 3, nearly every day``.

    A self-harm item's answer level is given with its label where the registry has one
    (a MADRS rating is a number: its anchors are not licensed here); a C-SSRS risk level
    is named as such (``C-SSRS Screener (recent): high risk``).
    """
    number, answer = alert.item_number, alert.answer
    if pd.isna(number) or pd.isna(answer):
        return alert_label(str(alert.kind))
    try:
        instrument = get_instrument(str(alert.instrument))
    except UnknownInstrumentError:
        return f"{alert_label(str(alert.kind))}: answer {int(answer)}"
    item = instrument.items[int(number) - 1]
    labels = item.answer_labels or instrument.answer_labels
    text = f"{alert_label(str(alert.kind))}: {int(answer)}"
    if 0 <= int(answer) < len(labels):
        text += f", {labels[int(answer)].lower()}"
    return text


_STATUS_WORDS = {
    "queued": "queued, not sent yet",
    "sent": "sent",
    "failed": "failed",
    "cancelled": "cancelled",
}
_STEP_WORDS = {
    "raised": "Raised",
    "notified": "Told",
    "escalated": "Escalated",
    "delivery_failed": "Not told",
    "acknowledged": "Acknowledged",
}


def history_lines(history: pd.DataFrame, time_zone: str = "UTC") -> list[str]:
    """One alert's history (:func:`data.records.alert_history.alert_history`) as lines of
    Markdown, oldest first: ``09:02 · Told: Dr Lee (the patient's clinician) by e-mail —
    sent``. Names and details are supplied text, kept literal."""
    lines = []
    for step in history.itertuples(index=False):
        words = _STEP_WORDS.get(str(step.kind), literal(step.kind))
        text = f"{when_text(step.at, time_zone)} · **{words}**"
        if isinstance(step.detail, str) and step.detail:
            text += f": {literal(step.detail)}"
        if step.kind == "acknowledged" and isinstance(step.actor, str):
            text += f" by {literal(step.actor)}"
        if isinstance(step.status, str):
            status = _STATUS_WORDS.get(step.status, literal(step.status))
            if step.status == "sent" and not pd.isna(step.sent_at):
                status += f" {when_text(step.sent_at, time_zone)}"
            text += f" — {status}"
        lines.append(text)
    return lines


def show_history(history: pd.DataFrame | None, *, time_zone: str = "UTC") -> None:
    """The alert's history on its card: who was told how and when, escalations, who
    acknowledged (nothing while the records cannot say)."""
    if history is None or history.empty:
        return
    with st.expander(f"Alert history ({len(history)})"):
        st.markdown("\n".join(f"- {line}" for line in history_lines(history, time_zone)))


def show_confirmation() -> None:
    """The confirmation of an acknowledgement stored just before the page reran."""
    done = st.session_state.pop(_ACKNOWLEDGED, None)
    if isinstance(done, str):
        st.success(done)


def acknowledge_form(actor: Actor, alert: Any, *, key: str, time_zone: str = "UTC") -> None:
    """The note and the Acknowledge button of one open alert; reruns the page once stored."""
    # A form: typing the note does not rerun the page, and Enter does not acknowledge.
    with st.form(f"{key}_{alert.alert_id}", border=False, enter_to_submit=False):
        note = st.text_input(
            "What was done (required)",
            key=f"{key}_note_{alert.alert_id}",
            placeholder="e.g. called patient, safety plan reviewed",
        )
        pressed = st.form_submit_button("Acknowledge", type="primary")
    if not pressed:
        return
    try:
        with resources.session_scope(write=True) as session:
            acknowledge_alert(session, actor=actor, alert_id=int(alert.alert_id), note=note)
    except (InvalidInput, AccessDenied) as refused:
        st.error(f"Not acknowledged: {literal(refused)}.")
        return
    raised = when_text(alert.created_at, time_zone)
    st.session_state[_ACKNOWLEDGED] = (
        f"Alert acknowledged ({answer_level(alert)}, raised {raised}). "
        "Your note is in the patient's alert history."
    )
    st.rerun()


def show_alert_card(
    actor: Actor,
    alert: Any,
    *,
    open_patient: Callable[[int], None],
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    time_zone: str = "UTC",
    history: pd.DataFrame | None = None,
) -> None:
    """One open alert (a row of :func:`data.records.alert_review.open_alerts`), the patient
    named by the row's name, MRN and date of birth, its times on the clinic's clock, and its
    ``history`` (:func:`data.records.alert_history.alert_history`) where given."""
    now = now or dt.datetime.now(dt.UTC)
    who = patient_label(
        str(alert.name),
        str(alert.external_id),
        None if pd.isna(alert.date_of_birth) else alert.date_of_birth,
        today=today or now.date(),
    )
    with st.container(border=True):
        # The contact phone where recorded (open_alerts' "phone"): the card is where a call starts.
        phone = phone_link(alert.phone)
        raised = when_text(alert.created_at, time_zone)
        st.markdown(
            f":red[**{who}**] — {answer_level(alert)} · raised {raised} · "
            f"**{open_for(alert.created_at, now)}**" + (f" · phone {phone}" if phone else "")
        )
        show_history(history, time_zone=time_zone)
        acknowledge_form(actor, alert, key="ack", time_zone=time_zone)
        if st.button("Open patient", key=f"open_alert_{alert.alert_id}"):
            open_patient(int(alert.patient_id))


def _turn_page(page: int) -> None:
    """A paging button's callback: runs before the rerun its click starts, so the cards are
    drawn once, on the new page (no second rerun)."""
    st.session_state[_PAGE] = max(0, page)


def show_alert_cards(
    actor: Actor,
    *,
    open_patient: Callable[[int], None],
    today: dt.date | None = None,
    time_zone: str = "UTC",
) -> None:
    """The clinic's open alerts, most urgent first, :data:`PAGE_SIZE` to a page.

    Most urgent is defined by :func:`data.records.alert_review.open_alerts`: the highest
    answer level or risk first, then the longest open. The count of open alerts heads every
    page. A fragment (``st.fragment``): turning a page reruns the cards only, not the page
    around them; an acknowledgement reruns the whole page (its lists may change).
    """
    _alert_cards(actor, open_patient=open_patient, today=today, time_zone=time_zone)


@st.fragment
def _alert_cards(
    actor: Actor,
    *,
    open_patient: Callable[[int], None],
    today: dt.date | None,
    time_zone: str,
) -> None:
    page = int(st.session_state.get(_PAGE, 0))
    with resources.session_scope() as session:
        alerts = open_alerts(session, actor=actor, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        if alerts.empty and page > 0:  # the last page emptied (acknowledged): show the first
            page = 0
            alerts = open_alerts(session, actor=actor, limit=PAGE_SIZE)
        # Each card's history (who was told, escalations): one read for the page's cards.
        steps = alert_histories(
            session, actor=actor, alert_ids=[int(i) for i in alerts["alert_id"]]
        )
    histories = {
        int(alert_id): rows.drop(columns=["alert_id"])
        for alert_id, rows in steps.groupby("alert_id", sort=False)
    }
    st.session_state[_PAGE] = page
    total = int(alerts["open_total"].iloc[0]) if len(alerts) else 0
    # The worklist's second level, under its title; no link-to-heading anchor.
    st.header(f"Safety alerts ({total:,})", anchor=False)
    show_confirmation()
    if alerts.empty:
        st.success("No unacknowledged safety alerts.")
        return
    first = page * PAGE_SIZE + 1
    st.caption(
        f"Showing {first:,}–{first + len(alerts) - 1:,} of {total:,}, most urgent first "
        "(highest answer level, then longest open)."
    )
    now = dt.datetime.now(dt.UTC)
    for alert in alerts.itertuples(index=False):
        show_alert_card(
            actor,
            alert,
            open_patient=open_patient,
            today=today,
            now=now,
            time_zone=time_zone,
            history=histories.get(int(alert.alert_id)),
        )
    if total > PAGE_SIZE:
        back, _, forward = st.columns([1, 3, 1])
        back.button(
            "Previous alerts",
            disabled=page == 0,
            key="alert_page_back",
            on_click=_turn_page,
            args=(page - 1,),
        )
        forward.button(
            "Next alerts",
            disabled=first + len(alerts) - 1 >= total,
            key="alert_page_next",
            on_click=_turn_page,
            args=(page + 1,),
        )
