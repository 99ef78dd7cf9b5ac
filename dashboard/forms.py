"""Questionnaire forms rendered from an instrument's definition, with unanswered questions
marked where they are and brought into view."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import streamlit as st

from dashboard.plain import literal
from dashboard.scroll import bring_into_view
from outcomes.instruments import Instrument

FIRST_UNANSWERED_KEY = "first_unanswered"
"""The container key of the first unanswered question's message (the CSS class
``st-key-first_unanswered``): the page scrolls there."""


def answer_labels(instrument: Instrument) -> tuple[str, ...]:
    """Labels of answers ``min_value..max_value`` (numbers where the registry has none)."""
    if instrument.answer_labels:
        return instrument.answer_labels
    return tuple(str(v) for v in range(instrument.min_value, instrument.max_value + 1))


def question_text(instrument: Instrument, key: str) -> str:
    item = instrument.item(key)
    return item.text or item.short_name.capitalize()


def render(
    instrument: Instrument,
    *,
    key_prefix: str,
    missing: Collection[str] = (),
    scroll_here: bool = True,
) -> dict[str, int | None]:
    """One labelled radio group per question; unanswered questions stay ``None``.

    Parameters
    ----------
    instrument
        The questionnaire.
    key_prefix
        Prefix of the widgets' keys (one per item key).
    missing
        Item keys left unanswered at the last submit: each gets a message right above it,
        naming the question in words.
    scroll_here
        Bring this instrument's first missing question into view: True for the form's first
        instrument with missing answers (:func:`first_with_unanswered`), False for the others.
    """
    if instrument.stem:
        st.markdown(f"**{instrument.stem}**")
    answers: dict[str, int | None] = {}
    first = scroll_here
    for number, item in enumerate(instrument.items, start=1):
        if item.key in missing:
            _mark_unanswered(instrument, item.key, first=first)
            first = False
        labels = item.answer_labels or answer_labels(instrument)
        choice = st.radio(
            f"{number}. {question_text(instrument, item.key)}",
            options=list(range(len(labels))),
            format_func=lambda value, labels=labels: labels[value],
            index=None,
            key=f"{key_prefix}:{item.key}",
        )
        answers[item.key] = None if choice is None else instrument.min_value + int(choice)
    return answers


def _mark_unanswered(instrument: Instrument, key: str, *, first: bool) -> None:
    message = f"Please answer: {literal(question_text(instrument, key))}"
    if not first:
        st.warning(message, icon=":material/arrow_downward:")
        return
    with st.container(key=FIRST_UNANSWERED_KEY):
        bring_into_view(f".st-key-{FIRST_UNANSWERED_KEY}")
        st.warning(message, icon=":material/arrow_downward:")


def unanswered(instrument: Instrument, answers: Mapping[str, int | None]) -> list[int]:
    """Question numbers (1-based) of scored items left blank."""
    return [
        number
        for number, item in enumerate(instrument.items, start=1)
        if item.scored and answers.get(item.key) is None
    ]


def unanswered_keys(instrument: Instrument, answers: Mapping[str, int | None]) -> list[str]:
    """Item keys of scored items left blank, in the form's order."""
    return [item.key for item in instrument.items if item.scored and answers.get(item.key) is None]


def still_unanswered(
    missing: Mapping[str, Collection[str]], *, form_key: str
) -> dict[str, list[str]]:
    """The unanswered items of the last submit that are still on screen.

    ``missing`` maps an instrument id to item keys; ``form_key`` is the prefix the form's
    widgets were drawn with (``f"{form_key}:{instrument_id}"`` passed to :func:`render`).
    After a visit to another page Streamlit has forgotten the form's answers: a fresh form
    has nothing to point at, so nothing is kept.
    """
    kept = {
        instrument_id: [
            key for key in keys if f"{form_key}:{instrument_id}:{key}" in st.session_state
        ]
        for instrument_id, keys in missing.items()
    }
    return {instrument_id: keys for instrument_id, keys in kept.items() if keys}


def first_with_unanswered(
    instruments: Sequence[Instrument], missing: Mapping[str, Collection[str]]
) -> str | None:
    """The id of the form's first instrument with unanswered questions (None if none)."""
    return next((i.id for i in instruments if missing.get(i.id)), None)


def show_unanswered_summary(
    instruments: Sequence[Instrument], missing: Mapping[str, Collection[str]]
) -> None:
    """Above the submit button: every unanswered question, in words, by questionnaire.

    ``missing`` maps an instrument id to its unanswered item keys; nothing is drawn when
    every question is answered.
    """
    lines = [
        f"- {literal(instrument.name)}, question {number}: "
        f"{literal(question_text(instrument, item.key))}"
        for instrument in instruments
        for number, item in enumerate(instrument.items, start=1)
        if item.key in missing.get(instrument.id, ())
    ]
    if lines:
        count = "this question" if len(lines) == 1 else f"these {len(lines)} questions"
        st.warning(
            f"Nothing is saved yet. Please answer {count}, then press Submit again:\n\n"
            + "\n".join(lines),
            icon=":material/error:",
        )
