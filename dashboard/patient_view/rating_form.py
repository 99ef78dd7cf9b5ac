"""A clinician's rating (MADRS and any other clinician-rated instrument of the registry).

Nothing is pre-selected: an untouched item is not a 0. Nothing is stored until every item is
rated or explicitly marked "not rated", and the rating's date and time are entered on the
clinic's own clock (its time-zone setting). A rating with items not rated is scored by the
instrument's missing-item rule; when that makes the record invalid (MADRS: every item is
required, scoring-spec §2.4) it is stored as what it is, a record with no total that counts in
no outcome, and a positive self-harm item in it still raises its safety alert.
Anchor descriptions are shown only where the instrument's licence allows
(``Instrument.anchors_licensed``); short names and numbers otherwise.

The scale's chooser and the form are a fragment (:mod:`dashboard.fragments`): choosing a
scale, and a Save that stores nothing (items not rated yet), rerun only the form, not the
patient's whole page; a stored rating reruns the page, so its chart and alerts show it.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import streamlit as st

from dashboard import resources
from dashboard.fragments import ensure_signed_in, rerun_fragment
from dashboard.plain import literal
from data.access import Actor
from data.checkin import submit_checkin
from data.clinic import clinic_moment, clinic_now
from data.errors import AccessDenied, InvalidInput
from outcomes.instruments import Instrument, clinician_rated_instruments

NOT_RATED = "not rated"


def _state_key(rating: Instrument, name: str) -> str:
    return f"rating:{rating.id}:{name}"


def _form_id(rating: Instrument) -> str:
    """This blank form's id: its widgets' keys and the stored record's idempotency key.

    A new id after each stored rating gives a blank form, and a double click on Save
    stores the rating once.
    """
    key = _state_key(rating, "form_id")
    if key not in st.session_state:
        st.session_state[key] = uuid.uuid4().hex
    return str(st.session_state[key])


def _option_label(rating: Instrument, item_key: str, value: object) -> str:
    if value == NOT_RATED:
        return NOT_RATED
    labels = rating.item(item_key).answer_labels or rating.answer_labels
    if rating.anchors_licensed and isinstance(value, int) and 0 <= value < len(labels):
        return f"{value} {labels[value]}"
    return str(value)


def show_rating_form(actor: Actor, patient_id: int, *, time_zone: str = "UTC") -> None:
    """Choose a clinician-rated scale, rate each item, and store the rating; its date and
    time are read on the clinic's clock (``time_zone``, an IANA name)."""
    _rating_fragment(actor, patient_id, time_zone)


@st.fragment(key="rating_form")
def _rating_fragment(actor: Actor, patient_id: int, time_zone: str) -> None:
    rated = {i.id: i for i in clinician_rated_instruments()}
    rated_id = st.selectbox(
        "Rating scale", list(rated), format_func=lambda i: rated[i].name, key="rating_scale"
    )
    if rated_id is None:
        return
    rating = rated[rated_id]
    done = st.session_state.pop(_state_key(rating, "saved"), None)
    if isinstance(done, str):
        st.success(done)
        # Also as a toast: Save is at the foot of a long form, this line above its top.
        st.toast(done, icon=":material/check_circle:")
    form_id = _form_id(rating)
    # What the last Save found missing, marked at each item on this run.
    marks: dict[str, str] = st.session_state.get(_state_key(rating, "marks"), {})
    options: list[object] = [*range(rating.min_value, rating.max_value + 1), NOT_RATED]
    with st.form(f"rating_{form_id}", enter_to_submit=False):
        st.caption(
            rating.stem
            or f"Clinician-rated {rating.name}: {rating.min_value}-{rating.max_value} per item."
        )
        day_column, time_column = st.columns(2)
        day = day_column.date_input(
            f"Date of the rating ({time_zone})",
            value=clinic_now(time_zone).date(),
            key=f"{form_id}:date",
        )
        at = time_column.time_input(
            f"Time of the rating ({time_zone})", value=None, step=300, key=f"{form_id}:time"
        )
        if "time" in marks:
            st.error(marks["time"])
        answers: dict[str, object] = {}
        for n, item in enumerate(rating.items, start=1):
            text = item.text if rating.anchors_licensed and item.text else None
            answers[item.key] = st.radio(
                f"{n}. {item.short_name}",
                options,
                index=None,
                horizontal=True,
                format_func=lambda v, key=item.key: _option_label(rating, key, v),
                help=text,
                key=f"{form_id}:{item.key}",
            )
            if item.key in marks:
                st.error(marks[item.key])
        if "record" in marks:
            st.error(marks["record"])
        save = st.form_submit_button(f"Save {rating.name}", type="primary")
    if save:
        _save(actor, patient_id, rating, form_id, answers, day, at, time_zone)


def _save(
    actor: Actor,
    patient_id: int,
    rating: Instrument,
    form_id: str,
    answers: dict[str, object],
    day: object,
    at: object,
    time_zone: str,
) -> None:
    """Check the form, store the rating if it can be, and rerun with marks or a blank form."""
    marks: dict[str, str] = {
        key: "Not rated yet: choose a rating, or 'not rated'."
        for key, value in answers.items()
        if value is None
    }
    when: dt.datetime | None = None
    if not isinstance(day, dt.date) or not isinstance(at, dt.time):
        marks["time"] = f"Enter the date and time of the rating ({time_zone})."
    else:
        when = clinic_moment(day, at, time_zone)
        if when > dt.datetime.now(dt.UTC):
            marks["time"] = (
                f"The time of the rating is in the future: enter when it was done ({time_zone})."
            )
    if marks or when is None:
        missing = [key for key in answers if key in marks]
        if missing:
            # Named in words, not only counted: "1. Apparent sadness, 4. Reduced sleep".
            names = ", ".join(
                f"{rating.item_keys.index(key) + 1}. {rating.item(key).short_name}"
                for key in missing
            )
            marks["record"] = (
                f"Nothing was stored: {len(missing)} item(s) not rated yet (marked above): "
                f"{names}. Rate each item, or mark it 'not rated'."
            )
        else:
            marks["record"] = "Nothing was stored: enter the date and time of the rating."
        st.session_state[_state_key(rating, "marks")] = marks
        rerun_fragment()  # the form again, with its marks: nothing was stored
        return
    ensure_signed_in(actor)
    scored = {key: value for key, value in answers.items() if value != NOT_RATED}
    not_rated = [key for key, value in answers.items() if value == NOT_RATED]
    try:
        with resources.session_scope(write=True) as session:
            stored = submit_checkin(
                session,
                actor=actor,
                patient_id=patient_id,
                instrument=rating.id,
                answers=scored,
                administered_at=when,
                idempotency_key=f"rating:{form_id}",
                source="clinician",
                # Items marked "not rated" leave a record of what was rated: stored, not scored.
                keep_incomplete=bool(not_rated),
            )
    except (InvalidInput, AccessDenied) as refused:
        refusal = {
            key: f"Marked not rated: {rating.name} cannot be scored without it."
            for key in not_rated
        }
        message = f"Nothing was stored: {literal(refused)}."
        if isinstance(refused, InvalidInput) and refused.flags:
            message += (
                " A self-harm item is rated positive: no safety alert is raised for a rating "
                "that is not stored, so follow the clinic's safety procedure now."
            )
        st.session_state[_state_key(rating, "marks")] = {**refusal, "record": message}
        rerun_fragment()
        return
    score = stored.score
    local = when.astimezone(zoneinfo.ZoneInfo(time_zone))
    saved = f"{rating.name} saved for {local:%d %b %Y %H:%M} ({time_zone}): "
    if score.valid:
        saved += f"total {score.total}"
        saved += f" ({score.severity})." if score.severity else "."
    else:
        saved += (
            f"{len(not_rated)} item(s) not rated, so it has no total (the {rating.name} is "
            "scored only with every item rated) and does not count in outcomes."
        )
    if stored.alert_ids:
        saved += " A safety alert was raised: it is listed under Safety alerts."
    st.session_state[_state_key(rating, "saved")] = saved
    st.session_state.pop(_state_key(rating, "marks"), None)
    # A new form id: a blank form for the next rating.
    st.session_state[_state_key(rating, "form_id")] = uuid.uuid4().hex
    st.rerun(scope="app")  # the whole page: its chart, summary and alerts show the rating
