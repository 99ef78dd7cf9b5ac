"""Questionnaire forms rendered from an instrument's definition."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from outcomes.instruments import Instrument


def answer_labels(instrument: Instrument) -> tuple[str, ...]:
    """Labels of answers ``min_value..max_value`` (numbers where the registry has none)."""
    if instrument.answer_labels:
        return instrument.answer_labels
    return tuple(str(v) for v in range(instrument.min_value, instrument.max_value + 1))


def question_text(instrument: Instrument, key: str) -> str:
    item = instrument.item(key)
    return item.text or item.short_name.capitalize()


def render(instrument: Instrument, *, key_prefix: str) -> dict[str, int | None]:
    """One labelled radio group per question; unanswered questions stay ``None``."""
    if instrument.stem:
        st.markdown(f"**{instrument.stem}**")
    answers: dict[str, int | None] = {}
    for number, item in enumerate(instrument.items, start=1):
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


def unanswered(instrument: Instrument, answers: Mapping[str, int | None]) -> list[int]:
    """Question numbers (1-based) of scored items left blank."""
    return [
        number
        for number, item in enumerate(instrument.items, start=1)
        if item.scored and answers.get(item.key) is None
    ]
