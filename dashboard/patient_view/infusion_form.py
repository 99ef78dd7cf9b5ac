"""Recording an infusion: the form, and the record it stores.

Recording is deliberate (issue 11): the form is plain widgets, not an ``st.form``, so Enter
in a field only enters its value; only the Record button stores. Each problem is shown beside
its field and the entered values stay; a successful record says what was stored and clears
the form (its widgets' keys carry a generation number, and a new generation is a fresh
form). An infusion within 6 hours of another of the same patient is stored only after the
clinician answers the question naming the other one's time; the data layer refuses it
otherwise (:class:`data.infusions.NearDuplicateInfusion`).

The form is a fragment: typing a value reruns only the form (for the live mg/kg), not the
whole patient page; a stored infusion reruns the page, so the log and chart show it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import resources
from dashboard.fragments import ensure_signed_in
from dashboard.plain import literal
from data.access import Actor
from data.clinic import clinic_moment, clinic_now
from data.errors import AccessDenied, InvalidInput
from data.infusions import (
    InfusionInput,
    InfusionRefused,
    NearDuplicateInfusion,
    record_infusion,
    side_effect_label,
)
from outcomes.infusion_terms import ROUTE_LABELS, ROUTES, SIDE_EFFECTS

GENERATION = "infusion_form_generation"
ERRORS = "infusion_form_errors"
PENDING = "infusion_form_near_duplicate"
DONE = "infusion_form_recorded"
FORM_PROBLEM = "_form"
"""The key of problems that are of no one field (access, a stale page)."""

VITALS = (
    ("before", "before"),
    ("40min", "at ~40 min"),
    ("discharge", "at discharge"),
)
VITAL_KINDS = (
    ("systolic", "Systolic"),
    ("diastolic", "Diastolic"),
    ("heart_rate", "Heart rate"),
)
WHOLE_NUMBER_FIELDS = (
    "duration_minutes",
    *(f"{kind}_{moment}" for moment, _ in VITALS for kind, _ in VITAL_KINDS),
    "spo2_min",
    "dissociation_cadss6",
    "sedation_moaas",
)


@dataclass(frozen=True)
class Pending:
    """An infusion the data layer found near another: what to store if the clinician confirms."""

    infusion: InfusionInput
    other_at: dt.datetime


def _key(name: str) -> str:
    return f"infusion_{st.session_state.get(GENERATION, 0)}_{name}"


def _value(name: str) -> Any:
    return st.session_state.get(_key(name))


def _show_problems(name: str) -> None:
    """The problems of field ``name`` from the last Record, right under the field."""
    problems: dict[str, Sequence[str]] = st.session_state.get(ERRORS, {})
    for problem in problems.get(name, ()):
        st.error(literal(problem[:1].upper() + problem[1:]))


def _infusion_from_fields(time_zone: str) -> InfusionInput | dict[str, list[str]]:
    """The infusion the fields describe, or the problems that stop building one."""
    day, time = _value("day"), _value("time")
    if not isinstance(day, dt.date) or not isinstance(time, dt.time):
        return {"administered_at": ["enter the date and time of the infusion"]}
    whole: dict[str, Any] = {
        name: None if _value(name) is None else _whole(_value(name)) for name in WHOLE_NUMBER_FIELDS
    }
    return InfusionInput(
        administered_at=clinic_moment(day, time, time_zone),
        route=str(_value("route")),
        dose_mg=_value("dose_mg"),
        weight_kg=_value("weight_kg"),
        side_effects=tuple(_value("side_effects") or ()),
        side_effects_note=(_value("side_effects_note") or "").strip() or None,
        **whole,
    )


def _whole(value: float | int) -> float | int:
    # A whole number stays an int; 72.5 stays as typed, for the data layer to refuse.
    return int(value) if float(value).is_integer() else value


def _record(actor: Actor, patient_id: int, time_zone: str, confirmed: bool) -> None:
    """Record button (or the near-duplicate question's Yes): store, or say what is wrong."""
    ensure_signed_in(actor)
    st.session_state[ERRORS] = {}
    pending: Pending | None = st.session_state.pop(PENDING, None)
    built = pending.infusion if confirmed and pending else _infusion_from_fields(time_zone)
    if not isinstance(built, InfusionInput):
        st.session_state[ERRORS] = built
        return
    try:
        with resources.session_scope(write=True) as session:
            record_infusion(
                session,
                actor=actor,
                patient_id=patient_id,
                infusion=built,
                confirm_near_duplicate=confirmed,
            )
    except InfusionRefused as refused:
        st.session_state[ERRORS] = {k: list(v) for k, v in refused.by_field.items()}
    except NearDuplicateInfusion as near:
        st.session_state[PENDING] = Pending(built, near.other_at)
    except (InvalidInput, AccessDenied) as refused:
        problems = refused.problems if isinstance(refused, InvalidInput) else (str(refused),)
        st.session_state[ERRORS] = {FORM_PROBLEM: list(problems)}
    else:
        st.session_state[DONE] = _recorded_text(built, time_zone)
        _clear()


def _do_not_record() -> None:
    st.session_state.pop(PENDING, None)
    st.session_state[DONE] = "Nothing recorded: the infusion was recorded already."
    _clear()


def _clear() -> None:
    """A fresh form, and the whole page run again (from the button's callback, so the form
    alone is not drawn first): its log, chart and summary show what was stored."""
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    st.session_state[ERRORS] = {}
    st.rerun(scope="app")


def _local(moment: dt.datetime, time_zone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone)).strftime("%d %b %Y, %H:%M")


def _recorded_text(infusion: InfusionInput, time_zone: str) -> str:
    dose = f"{infusion.dose_mg:g} mg" if infusion.dose_mg is not None else "dose"
    if infusion.dose_mg is not None and infusion.weight_kg:
        dose += f" ({infusion.dose_mg / infusion.weight_kg:.2f} mg/kg)"
    return (
        f"Infusion recorded: {_local(infusion.administered_at, time_zone)} ({time_zone}), "
        f"{ROUTE_LABELS[infusion.route]}, {dose}. It is in the infusion log."
    )


def _near_question(pending: Pending, time_zone: str) -> str:
    gap = abs(pending.infusion.administered_at - pending.other_at)
    hours, minutes = divmod(int(gap.total_seconds()) // 60, 60)
    apart = f"{hours} h {minutes} min from" if hours else f"{minutes} min from"
    if not hours and not minutes:
        apart = "the same time as"
    return (
        f"Another infusion of this patient is already recorded at "
        f"{_local(pending.other_at, time_zone)} ({time_zone}), {apart} this one. "
        "Record this as a second infusion only if the patient really had two."
    )


def show_infusion_form(actor: Actor, patient_id: int, *, time_zone: str) -> None:
    """The form that records one infusion of this patient, at times on the clinic's clock
    (``time_zone``, an IANA name)."""
    _infusion_fragment(actor, patient_id, time_zone)


@st.fragment(key="infusion_form")
def _infusion_fragment(actor: Actor, patient_id: int, time_zone: str) -> None:
    done = st.session_state.pop(DONE, None)
    now = clinic_now(time_zone)
    when = st.columns(2)
    with when[0]:
        st.date_input("Date", value=now.date(), max_value=now.date(), key=_key("day"))
    with when[1]:
        st.time_input(
            f"Time ({time_zone})",
            value=now.time().replace(second=0, microsecond=0),
            step=60,
            key=_key("time"),
        )
        _show_problems("administered_at")
    st.selectbox("Route", ROUTES, format_func=lambda r: ROUTE_LABELS[r], key=_key("route"))
    _show_problems("route")

    dose = st.columns(3)
    with dose[0]:
        st.number_input("Dose given (mg), required", value=None, step=1.0, key=_key("dose_mg"))
        _show_problems("dose_mg")
    with dose[1]:
        st.number_input("Weight today (kg)", value=None, step=0.5, key=_key("weight_kg"))
        _show_problems("weight_kg")
    with dose[2]:
        st.number_input("Duration (min)", value=None, step=5, key=_key("duration_minutes"))
        _show_problems("duration_minutes")
    mg, kg = _value("dose_mg"), _value("weight_kg")
    if mg is not None and kg:
        st.markdown(f"**{mg / kg:.2f} mg/kg** ({mg:g} mg for {kg:g} kg)")
    else:
        st.caption("Enter the dose and today's weight to see the dose in mg/kg.")
    _show_problems("dose_mg_per_kg")

    for moment, label in VITALS:
        cols = st.columns(3)
        for col, (kind, kind_label) in zip(cols, VITAL_KINDS, strict=True):
            with col:
                st.number_input(
                    f"{kind_label} {label}", value=None, step=1, key=_key(f"{kind}_{moment}")
                )
                _show_problems(f"{kind}_{moment}")
    extra = st.columns(3)
    for col, (name, label) in zip(
        extra,
        (
            ("spo2_min", "Lowest SpO2 (%)"),
            ("dissociation_cadss6", "Dissociation (CADSS-6, 0-24)"),
            ("sedation_moaas", "Sedation (MOAA/S 0-5)"),
        ),
        strict=True,
    ):
        with col:
            st.number_input(label, value=None, step=1, key=_key(name))
            _show_problems(name)
    st.multiselect(
        "Side effects", SIDE_EFFECTS, format_func=side_effect_label, key=_key("side_effects")
    )
    _show_problems("side_effects")
    st.text_input("Other side effects or notes", key=_key("side_effects_note"))

    _show_problems(FORM_PROBLEM)
    pending: Pending | None = st.session_state.get(PENDING)
    if pending is not None and _infusion_from_fields(time_zone) != pending.infusion:
        # The fields changed since the question: it was about other values.
        st.session_state.pop(PENDING, None)
        pending = None
    if pending is not None:
        st.warning(_near_question(pending, time_zone))
        yes, no = st.columns(2)
        yes.button(
            "Yes, record a second infusion",
            on_click=_record,
            args=(actor, patient_id, time_zone, True),
            key=_key("confirm"),
        )
        no.button("No, do not record it", on_click=_do_not_record, key=_key("cancel"))
        return
    if st.session_state.get(ERRORS):
        st.error("Nothing was recorded: correct the fields marked above and press Record again.")
    if done:
        # Beside the button just pressed, and as a toast: the form is long, and the clinician
        # is at its foot.
        st.success(done)
        st.toast(done, icon=":material/check_circle:")
    st.button(
        "Record infusion",
        type="primary",
        on_click=_record,
        args=(actor, patient_id, time_zone, False),
        key=_key("record"),
    )
