"""Check-in: the clinic's questionnaires, the scores in plain words, crisis help.

One check-in per questionnaire per window (course-and-reporting §3) of the patient's
measurement schedule (§4: anchored to their infusions, given and booked): a questionnaire
done in the current window is not offered again before the next one opens, and "next due" is
the next schedule point after the window. For ``correction_hours`` after a check-in the patient
may correct their answers: the form opens with the earlier answers, and both are kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import forms, resources, scroll, state
from dashboard.crisis import show_crisis_panel
from dashboard.fragments import ensure_signed_in, rerun_fragment
from dashboard.plain import describe_score, literal
from data.checkin import correctable_checkins, submit_checkin
from data.clinic import clinic_config, clinic_now
from data.engine import DAMAGED_MESSAGE, database_damaged, database_unavailable
from data.errors import AccessDenied, InvalidInput
from data.records.patient_record import patient_assessments
from data.schedule import patient_schedule
from outcomes.checkin_windows import WindowStatus, clinic_date
from outcomes.instruments import Instrument, get_instrument
from outcomes.instruments.safety import safety_alert_kinds
from outcomes.schedule import schedule_status

FORM_ID = "checkin_form_id"
CONFIG = "checkin_clinic_config"  # the clinic's settings (no patient data), for an outage
RESULT = "checkin_result"
CORRECTING = "checkin_correcting"  # instrument id -> id of the check-in being corrected

actor = state.require_actor()
patient_id = actor.patient_id or 0
try:
    with resources.session_scope() as session:
        config = clinic_config(session, actor.clinic_id)
        # The clinic's own date: windows turn over at the clinic's midnight, not the server's.
        today = clinic_now(config.time_zone).date()
        schedule = patient_schedule(session, actor=actor, patient_id=patient_id, today=today)
        # Corrected answers too: a corrected check-in still holds its window.
        history = patient_assessments(
            session, actor=actor, patient_id=patient_id, include_superseded=True
        )
        # What the writer would let the patient correct now, by its own rule.
        correctable_ids = correctable_checkins(
            session, actor=actor, patient_id=patient_id, now=state.now()
        )
    st.session_state[CONFIG] = config
except Exception as error:
    # The records are unreachable: draw the form again from the clinic's last settings, so
    # that answers already given stay on screen (Streamlit forgets widgets it does not draw).
    if not database_unavailable(error) or CONFIG not in st.session_state:
        raise
    config = st.session_state[CONFIG]
    schedule = history = None
    correctable_ids = {}

st.title("Weekly check-in", anchor=False)
today = clinic_now(config.time_zone).date()
instruments = [get_instrument(i) for i in config.checkin_instruments]


def crisis_panel() -> None:
    show_crisis_panel(config)


def _moment(value: Any) -> dt.datetime:
    return pd.Timestamp(value).to_pydatetime()


def window_statuses() -> dict[str, WindowStatus] | None:
    """Each questionnaire's window today on the patient's schedule, as the writer will judge
    it (None while the records are unreachable: the writer still refuses a second one)."""
    if history is None or schedule is None:
        return None
    originals = history[history["corrects_id"].isna()]
    days = [
        (str(name), clinic_date(_moment(moment), config.time_zone))
        for name, moment in zip(originals["instrument"], originals["administered_at"], strict=True)
    ]
    return {
        i.id: schedule_status(
            schedule.windows,
            instrument=i.id,
            today=today,
            checkins=[day for name, day in days if name == i.id],
            # No infusion given or booked: the weekly cadence from the first check-in.
            infused=schedule.infused,
            first_checkin=min((day for _, day in days), default=None),
            cadence_days=config.checkin_cadence_days,
            rules=config.rules,
        )
        for i in instruments
    }


def correctable() -> dict[str, pd.Series]:
    """The patient's own latest check-in of each questionnaire that may still be corrected
    (:func:`data.checkin.correctable_checkins`: the writer's rule), with its answers."""
    if history is None:
        return {}
    found: dict[str, pd.Series] = {}
    for name, assessment_id in correctable_ids.items():
        rows = history[history["assessment_id"] == assessment_id]
        if len(rows) and name in config.checkin_instruments:
            found[name] = rows.iloc[0]
    return found


def when_words(value: Any) -> str:
    local = pd.Timestamp(value).tz_convert(config.time_zone)
    return f"{local:%A %d %B} at {local:%H:%M}"


def earlier_value(assessment_id: int, column: str) -> Any:
    """A column of a stored check-in (None while the records are unreachable)."""
    if history is None:
        return None
    rows = history[history["assessment_id"] == assessment_id]
    return rows.iloc[0][column] if len(rows) else None


def answered(answers: Any) -> dict[str, int]:
    """The answered items of a form or a stored check-in, for comparing the two."""
    return {str(k): int(v) for k, v in dict(answers or {}).items() if v is not None}


statuses = window_statuses()


def show_due(offered: list[Instrument]) -> None:
    if statuses is None:
        return  # unknown while the records are unreachable
    if offered:
        open_now = [statuses[i.id] for i in offered if statuses[i.id].window is not None]
        dues = [s.next_due for s in open_now or [statuses[i.id] for i in offered]]
        due = min((d for d in dues if d is not None), default=None)
        if open_now and due is not None:
            when = "today" if due == today else f"on {due:%A %d %B}"
            st.info(f"Your check-in is open now: it is due {when}.")
        elif due is not None:
            st.info(f"Your next check-in is due on **{due:%A %d %B}**. You can also answer now.")
        else:
            st.info("You can answer now. Your next check-ins are set by your infusion dates.")
        return
    ahead = [s.next_window for s in statuses.values() if s.next_window is not None]
    if not ahead:
        st.info(
            "Your next check-in is due before your next infusion: it opens once your care "
            "team has booked it."
        )
        return
    first = min(ahead, key=lambda w: w.due)
    st.info(
        f"Your next check-in is due on **{first.due:%A %d %B}**. "
        f"You can do it from {first.opens:%A %d %B}."
    )


def offer_correction(open_for: dict[str, pd.Series]) -> None:
    if not open_for:
        return
    st.markdown(
        f"Made a mistake? You can correct your answers for {config.rules.correction_hours} "
        "hours after your check-in."
    )
    if st.button("Correct my answers", key="checkin_correct"):
        form_id = uuid.uuid4().hex
        st.session_state[FORM_ID] = form_id
        st.session_state[CORRECTING] = {
            name: int(row["assessment_id"]) for name, row in open_for.items()
        }
        for name, row in open_for.items():
            definition = get_instrument(name)
            for key, answer in dict(row["answers"]).items():
                if answer is not None and key in definition.item_keys:
                    choice = int(answer) - definition.min_value
                    st.session_state[f"{form_id}:{name}:{key}"] = choice
        st.session_state.pop(RESULT, None)
        st.rerun()


correcting: dict[str, int] = st.session_state.get(CORRECTING) or {}
result = st.session_state.get(RESULT)
if result is not None and statuses is not None and not all(s.done for s in statuses.values()):
    result = st.session_state[RESULT] = None  # a new window has opened since
if result is not None:
    # Only the outcome, on a short page: crisis help must be the first thing in view, not
    # above a fresh form the browser has scrolled past. No new check-in from here: the next
    # one is due after this window (course-and-reporting §3).
    scroll.open_at_top()
    if result["safety"]:
        crisis_panel()
    st.success(result["message"])
    for line in result["lines"]:
        st.markdown(f"- {line}")
    show_due([])
    offer_correction(correctable())
    st.stop()

if correcting:
    offered = [i for i in instruments if i.id in correcting]
    st.header("Correct my answers", anchor=False)
    earlier = history.set_index("assessment_id") if history is not None else None
    if earlier is not None:
        times = [
            earlier.loc[a, "administered_at"] for a in correcting.values() if a in earlier.index
        ]
        if times:
            st.markdown(f"Your answers from {when_words(max(times))} are filled in below.")
    st.markdown(
        "Change what you need and press **Save my corrected answers**. **Both are kept:** your "
        "care team sees your first answers and your corrected ones. If you told us you were "
        "thinking of hurting yourself, your care team still sees that answer."
    )
    if st.button("Keep my answers as they were", key="checkin_keep"):
        del st.session_state[CORRECTING]
        st.session_state.pop(FORM_ID, None)
        st.rerun()
else:
    offered = [i for i in instruments if statuses is None or not statuses[i.id].done]
    if not offered:
        st.success("You have done your check-in for now. Thank you.")
        show_due([])
        offer_correction(correctable())
        st.stop()
    done = [i for i in instruments if i not in offered]
    if done:
        st.markdown(
            "Already done for now: " + ", ".join(i.name for i in done) + ". Only the others "
            "are below."
        )
    show_due(offered)


@st.fragment(key="checkin_form")
def checkin_form(offered: list[Instrument], correcting: dict[str, int]) -> None:
    """The questionnaires and their button, rerun on their own (:mod:`dashboard.fragments`).

    A press of the button with answers missing reruns only this form, with each unanswered
    question marked: the patient's records are not read again. Stored answers rerun the
    whole page, which then shows the outcome.
    """
    form_id = st.session_state.setdefault(FORM_ID, uuid.uuid4().hex)
    missing = forms.still_unanswered(st.session_state.get("checkin_missing", {}), form_key=form_id)
    first_missing = forms.first_with_unanswered(offered, missing)
    with st.form("checkin"):
        st.markdown("Answer about the last two weeks. Every question needs an answer.")
        all_answers = {}
        for instrument in offered:
            # Headings one level below the page's (or the correction's) own: h2, else h3.
            (st.subheader if correcting else st.header)(instrument.name, anchor=False)
            all_answers[instrument.id] = forms.render(
                instrument,
                key_prefix=f"{form_id}:{instrument.id}",
                missing=missing.get(instrument.id, ()),
                scroll_here=instrument.id == first_missing,
            )
        forms.show_unanswered_summary(offered, missing)
        label = "Save my corrected answers" if correcting else "Submit check-in"
        submitted = st.form_submit_button(label, type="primary")
    if not submitted:
        return
    missing = {i.id: forms.unanswered_keys(i, all_answers[i.id]) for i in offered}
    st.session_state["checkin_missing"] = {k: keys for k, keys in missing.items() if keys}
    if any(missing.values()):
        rerun_fragment()  # the form again, each unanswered question marked
    save(offered, correcting, form_id, all_answers)


def save(
    offered: list[Instrument],
    correcting: dict[str, int],
    form_id: str,
    all_answers: dict[str, dict[str, int | None]],
) -> None:
    """Store the answers; rerun the whole page with the outcome, or say why not."""
    ensure_signed_in(actor)
    # A correction stores only what changed: an unchanged questionnaire stays as it was.
    changed = [
        i
        for i in offered
        if i.id not in correcting
        or answered(all_answers[i.id]) != answered(earlier_value(correcting[i.id], "answers"))
    ]
    try:
        with resources.session_scope(write=True) as session:
            results = [
                (
                    instrument,
                    submit_checkin(
                        session,
                        actor=actor,
                        patient_id=patient_id,
                        instrument=instrument.id,
                        answers=all_answers[instrument.id],
                        idempotency_key=f"{form_id}:{instrument.id}",
                        corrects=correcting.get(instrument.id),
                    ),
                )
                for instrument in changed
            ]
    except InvalidInput as refused:
        if refused.flags:
            crisis_panel()
        st.error("Your answers could not be saved: " + literal("; ".join(refused.problems)))
        return
    except AccessDenied as denied:
        st.error(literal(denied))
        return
    except Exception as error:
        if database_damaged(error):
            st.error(DAMAGED_MESSAGE)
            return
        st.error(
            "Your check-in could not be saved just now: the clinic's records are "
            "unreachable. Your answers are still here; please press Submit again in a "
            "moment."
        )
        return
    # Crisis help stays on screen after a correction of answers that raised it.
    corrected_flags = [
        kind
        for i in offered
        if i.id in correcting
        for kind in safety_alert_kinds(i, tuple(earlier_value(correcting[i.id], "flags") or ()))
    ]
    if correcting:
        message = (
            "Thank you. Your corrected answers are saved; your first answers are kept "
            "too, and your care team sees both."
            if results
            else "Nothing was changed: your answers are kept as they were."
        )
    else:
        message = "Thank you. Your answers are saved and your care team can see them."
    st.session_state[RESULT] = {
        "safety": any(r.alert_ids for _, r in results) or bool(corrected_flags),
        "message": message,
        "lines": [describe_score(i, r.score) for i, r in results],
    }
    st.session_state.pop(CORRECTING, None)
    del st.session_state[FORM_ID]  # a fresh form (and idempotency key) next time
    st.rerun(scope="app")  # the whole page: the outcome, next due and "Correct my answers"


checkin_form(offered, correcting)
