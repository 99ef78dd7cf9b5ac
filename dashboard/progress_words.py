"""My progress in plain words: how a patient's scores changed, what a score means, and the
sentence and table that stand beside each chart for someone who cannot see it.

Pure functions (no Streamlit, no database), so every sentence is tested as text
(``tests/test_dashboard/test_progress_words.py``). The words follow three rules:

* **Honest in both directions.** A rise is said to be a rise ("went up from 6 to 12"), a
  score that did not move is "the same as last time", and a fall to 0 is a fall to 0.
* **No percentages.** A percentage of a small first score is loud and meaningless (a fall
  from 2 to 0 is "100% lower"; 12 to 5 was "58% lower: a big improvement" on a day the score
  had just doubled), so the words give the two scores themselves.
* **No clinical jargon.** No "remission", "response" or "total": a questionnaire is named by
  what it asks about, "Mood questionnaire (PHQ-9)", and a score's meaning is its band's
  everyday word ("mild") from the instrument's own bands (:mod:`outcomes.instruments`).

Lower is better on every questionnaire a patient answers here, and the words say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from dashboard.plain import plain_severity
from outcomes.instruments import INSTRUMENTS, Instrument, instrument_ids

LOWER_IS_BETTER = "Lower is better."
TABLE_COLUMNS = ("Date", "Score", "What it means")
"""The columns of :func:`score_table`: the chart's data, for someone who cannot see it."""


def clinic_days(values: pd.Series, time_zone: str) -> pd.Series:
    """Stored times as the calendar days the clinic's wall clock showed (naive timestamps at
    midnight), so that a check-in answered late in the evening is dated as the patient
    lived it, not by UTC.

    Parameters
    ----------
    values : Series
        Times as stored (UTC; naive values are read as UTC).
    time_zone : str
        The clinic's IANA time zone (:attr:`data.clinic.ClinicConfig.time_zone`).
    """
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.tz_convert(time_zone).dt.tz_localize(None).dt.normalize()


def progress_instruments(
    checkin_instruments: Sequence[str], recorded: Sequence[str]
) -> tuple[Instrument, ...]:
    """The questionnaires My progress shows, in order: the clinic's check-in questionnaires
    (even before the first answer), then any other questionnaire the patient answered that
    is on record, in registry order.

    Only questionnaires with a score are shown (the C-SSRS screener has none), and of those
    on record only the ones a patient answers themself: a clinician's rating (MADRS) is the
    care team's to explain. Ids the registry does not know are left out.
    """
    known = set(instrument_ids())
    by_id = {instrument.id: instrument for instrument in INSTRUMENTS}
    chosen = [by_id[i] for i in dict.fromkeys(checkin_instruments) if i in known]
    recorded_ids = set(recorded)
    chosen += [
        instrument
        for instrument in INSTRUMENTS
        if instrument.id in recorded_ids
        and instrument.rater == "patient"
        and instrument not in chosen
    ]
    return tuple(instrument for instrument in chosen if instrument.has_total)


def long_date(day: dt.date) -> str:
    """``"3 March 2026"``: a date as people write it (no leading zero, on any platform)."""
    return f"{day.day} {day:%B %Y}"


def questionnaire_title(instrument: Instrument) -> str:
    """``"Mood questionnaire (PHQ-9)"``: what it asks about, then its name as on paper.

    An instrument without a plain topic word is named ``"Questionnaire (PCL-5)"``.
    """
    topic = f"{instrument.topic} questionnaire" if instrument.topic else "Questionnaire"
    return f"{topic} ({instrument.name})"


def band_word(instrument: Instrument, total: int) -> str:
    """The everyday word of the instrument's own band holding ``total`` (``"mild"``), or
    ``""`` when the instrument has no bands (PCL-5) or no band holds it."""
    for band in instrument.bands:
        if band.lower <= total <= band.upper:
            return plain_severity(band.label)
    return ""


def score_meaning(instrument: Instrument, total: int) -> str:
    """What a score means, for the table beside the chart: its band's word (``"moderate"``).

    Without bands (PCL-5), where the score lies on the scale (``"12 out of 80"``).
    """
    return band_word(instrument, total) or f"{total} out of {instrument.max_total}"


def _in_band(instrument: Instrument, total: int) -> str:
    word = band_word(instrument, total)
    return f" ({word})" if word else ""


def trend_sentences(instrument: Instrument, totals: Sequence[int]) -> tuple[str, ...]:
    """How the scores moved, oldest first: since last time, since the start, and where the
    latest score lies, in plain words that stay honest at 0 and when a score rises.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire (its bands and highest score give a score its meaning).
    totals : sequence of int
        The patient's scores on it, oldest first (only scores that count: corrected
        answers replaced, unscorable forms left out).

    Returns
    -------
    tuple of str
        Sentences to show in order. ``"Your score went up from 6 to 12 since last time."``,
        ``"Your score is 6, the same as last time."``, ``"Since your first check-in it went
        down from 20 to 6."``; never a percentage.
    """
    if not totals:
        return ("No answers yet: your scores will appear here after your first check-in.",)
    latest = int(totals[-1])
    word = band_word(instrument, latest)
    placed = f"{latest} out of {instrument.max_total}" + (
        f", in the {word} range." if word else "."
    )
    if len(totals) == 1:
        return (
            f"Your first score is {placed}",
            "After your next check-in you will see here how it changes.",
            LOWER_IS_BETTER,
        )
    previous, first = int(totals[-2]), int(totals[0])
    sentences = [_since_last_time(previous, latest)]
    if latest > previous:
        sentences.append("Your care team can see this too.")
    if len(totals) > 2:
        sentences.append(_since_the_start(first, latest))
    sentences.append(f"Your latest score is {placed}")
    sentences.append(LOWER_IS_BETTER)
    return tuple(sentences)


def _since_last_time(previous: int, latest: int) -> str:
    if latest > previous:
        return f"Your score went up from {previous} to {latest} since last time."
    if latest < previous:
        return f"Your score went down from {previous} to {latest} since last time."
    return f"Your score is {latest}, the same as last time."


def _since_the_start(first: int, latest: int) -> str:
    if latest > first:
        return f"Since your first check-in it went up from {first} to {latest}."
    if latest < first:
        return f"Since your first check-in it went down from {first} to {latest}."
    return f"It is the same as at your first check-in ({first})."


def chart_summary(
    instrument: Instrument,
    days: Sequence[dt.date],
    totals: Sequence[int],
    infusion_days: Sequence[dt.date] = (),
) -> str:
    """One or two sentences that say what the chart shows: its text alternative.

    ``"Chart of your Mood questionnaire (PHQ-9) scores: 5 check-ins from 3 March 2026 to
    31 March 2026, from 20 (severe) at first to 6 (mild) at the latest; 7 infusions are
    marked. Lower is better."``
    """
    title = questionnaire_title(instrument)
    if not totals:
        return f"Your {title} scores will be drawn here after your first check-in."
    first, latest = int(totals[0]), int(totals[-1])
    if len(totals) == 1:
        shown = (
            f"one check-in, on {long_date(days[0])}, with a score of {first}"
            f"{_in_band(instrument, first)}"
        )
    else:
        shown = (
            f"{len(totals)} check-ins from {long_date(days[0])} to {long_date(days[-1])}, "
            f"from {first}{_in_band(instrument, first)} at first to "
            f"{latest}{_in_band(instrument, latest)} at the latest"
        )
    count = len(infusion_days)
    infusions = (
        "no infusions are marked"
        if count == 0
        else f"{count} {'infusion is' if count == 1 else 'infusions are'} marked"
    )
    return f"Chart of your {title} scores: {shown}; {infusions}. {LOWER_IS_BETTER}"


def score_table(
    instrument: Instrument, days: Sequence[dt.date], totals: Sequence[int]
) -> pd.DataFrame:
    """The chart's scores as a table (columns :data:`TABLE_COLUMNS`), oldest first:
    ``"3 March 2026" | 12 | "moderate"``."""
    return pd.DataFrame(
        {
            "Date": [long_date(day) for day in days],
            "Score": [int(total) for total in totals],
            "What it means": [score_meaning(instrument, int(total)) for total in totals],
        },
        columns=list(TABLE_COLUMNS),
    )


def infusion_days_sentence(infusion_days: Sequence[dt.date]) -> str:
    """The infusion days the chart marks, as a sentence (the table's companion)."""
    if not infusion_days:
        return "No infusions are on record yet."
    listed = ", ".join(long_date(day) for day in infusion_days)
    return f"Infusion days: {listed}."
