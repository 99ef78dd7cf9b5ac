"""Plain words: scores for patients without jargon, and supplied text kept literal."""

from __future__ import annotations

import re
import string
import unicodedata

from outcomes import Score
from outcomes.instruments import Instrument

# Severity band labels in everyday words. Bands whose label already reads plainly
# ("mild", "moderately_severe") need no entry: underscores become spaces.
PLAIN_SEVERITY = {
    "none_minimal": "minimal",
    "none": "minimal",
    "normal": "minimal",
}


def plain_severity(label: str | None) -> str:
    """A severity band's label as a patient would say it (``""`` for no band)."""
    if not label:
        return ""
    return PLAIN_SEVERITY.get(label, label.replace("_", " "))


def describe_score(instrument: Instrument, score: Score) -> str:
    """``"Mood (PHQ-9): 7 out of 27 — mild symptoms."``"""
    topic = instrument.topic or "Score"
    if score.total is None:
        return f"{topic} ({instrument.name}): saved."
    level = plain_severity(score.severity)
    words = f" — {level} symptoms." if level else "."
    return f"{topic} ({instrument.name}): {score.total} out of {instrument.max_total}{words}"


def alert_label(kind: str) -> str:
    """A safety alert's kind in a clinician's words: which item, of which questionnaire."""
    from outcomes.instruments import registry

    # The registry's own row list, so an instrument added there is named here too.
    for instrument in registry.INSTRUMENTS:
        for safety in instrument.safety_items:
            if safety.flag == kind:
                number = instrument.item_keys.index(safety.item) + 1
                short = instrument.item(safety.item).short_name
                return f"{instrument.name} item {number} ({short}) positive"
        for level in instrument.risk_levels:
            if level.flag == kind:
                return f"{instrument.name}: {level.level} risk"
    # A kind the registry does not know is stored data: keep letters and digits only, so it
    # cannot read as markup where the label is shown.
    return " ".join(re.sub(r"[^0-9A-Za-z]+", " ", kind).split())


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
