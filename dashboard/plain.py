"""Plain words: scores for patients without jargon, and supplied text kept literal."""

from __future__ import annotations

import re
import string
import unicodedata

from outcomes import Score
from outcomes.instruments import Instrument

PLAIN_SEVERITY = {
    "none_minimal": "minimal",
    "minimal": "minimal",
    "none": "minimal",
    "mild": "mild",
    "moderate": "moderate",
    "moderately_severe": "moderately severe",
    "severe": "severe",
    "very_severe": "very severe",
    "normal": "minimal",
}


def describe_score(instrument: Instrument, score: Score) -> str:
    """``"Mood (PHQ-9): 7 out of 27 — mild symptoms."``"""
    topic = {"phq9": "Mood", "gad7": "Anxiety", "qids_sr16": "Mood"}.get(instrument.id, "Score")
    if score.total is None:
        return f"{topic} ({instrument.name}): saved."
    level = PLAIN_SEVERITY.get(score.severity or "", "")
    words = f" — {level} symptoms." if level else "."
    return f"{topic} ({instrument.name}): {score.total} out of {instrument.max_total}{words}"


def describe_change(baseline: int, latest: int) -> str:
    """How the latest score compares with the first one, in words."""
    if baseline <= 0:
        return "Your scores started low; keep checking in so your care team can follow along."
    change = (baseline - latest) / baseline
    if change >= 0.5:
        return f"Your score is {change:.0%} lower than when you started: a big improvement."
    if change > 0:
        return f"Your score is {change:.0%} lower than when you started."
    if change == 0:
        return "Your score is the same as when you started."
    return "Your score is higher than when you started. Your care team can see this."


def alert_label(kind: str) -> str:
    """A safety alert's kind in a clinician's words: which item, of which questionnaire."""
    from outcomes.instruments import INSTRUMENTS

    for instrument in INSTRUMENTS:
        for safety in instrument.safety_items:
            if safety.flag == kind:
                number = instrument.item_keys.index(safety.item) + 1
                short = instrument.item(safety.item).short_name
                return f"{instrument.name} item {number} ({short}) positive"
        for level in instrument.risk_levels:
            if level.flag == kind:
                return f"{instrument.name}: {level.level} risk"
    return kind.replace("_", " ")


_MARKDOWN_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# GitHub-flavoured Markdown turns web addresses and emails in plain text into links, even
# when escaped; an invisible word joiner in "://", "www." and after "@" stops it.
_WORD_JOINER = "\u2060"
_AUTOLINK_TRIGGERS = re.compile(r"(\\:)(\\/\\/)|(www)(\\\.)|(\\@)", re.IGNORECASE)


def _unlink(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + _WORD_JOINER + match.group(2)
    if match.group(3):
        return match.group(3) + _WORD_JOINER + match.group(4)
    return match.group(5) + _WORD_JOINER


def literal(text: object) -> str:
    """Text that a person or a file supplied, safe to place inside Markdown.

    Names, ids, usernames and notes are data, never markup: every ASCII punctuation
    character is backslash-escaped (CommonMark lets any of them be escaped, and Streamlit's
    colour, icon and maths syntax all start with one), and line breaks and other control
    characters become single spaces, so a value can neither format text, show an image,
    start a heading nor forge a coloured "all clear"; web addresses and emails do not become
    links. Where no formatting is wanted at all, prefer an element that never parses
    Markdown (``st.text``, ``st.dataframe``).
    """
    flat = "".join(
        " " if unicodedata.category(character)[0] in "CZ" else character for character in str(text)
    )
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(flat.split()))
    return _AUTOLINK_TRIGGERS.sub(_unlink, escaped)
