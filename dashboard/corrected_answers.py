"""Answers a patient corrected, for the care team: both kept, side by side (issue 12).

A patient may correct their own check-in within ``correction_hours`` (course-and-reporting
§3). Outcomes count only the latest of a correction chain, but the care team sees both: each
corrected check-in is listed, marked "corrected by the patient at <time>", with every
question's first and corrected answer, so an answer that raised a safety alert stays
readable whatever the correction says.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.alert_cards import when_text
from dashboard.forms import question_text
from outcomes.instruments import Instrument

__all__ = ["corrections_table", "show_corrected_answers"]


def corrections_table(
    assessments: pd.DataFrame, instrument: Instrument, *, time_zone: str = "UTC"
) -> list[tuple[str, pd.DataFrame]]:
    """Each corrected check-in of ``instrument``: a heading line and a table of its answers.

    Parameters
    ----------
    assessments : DataFrame
        :func:`data.records.patient_record.patient_assessments` with
        ``include_superseded=True`` (columns ``assessment_id``, ``instrument``,
        ``administered_at``, ``total``, ``answers``, ``corrects_id``, ``superseded_at``).
    instrument : Instrument
    time_zone : str
        The clinic's time zone, for the times shown.

    Returns
    -------
    list of (str, DataFrame)
        Oldest first. The table has one row per question: ``Question``, ``First answer``,
        ``Corrected answer`` (the answer that now counts).
    """
    mine = assessments[assessments["instrument"] == instrument.id]
    by_corrected = {
        int(row["corrects_id"]): row for _, row in mine[mine["corrects_id"].notna()].iterrows()
    }
    found: list[tuple[str, pd.DataFrame]] = []
    for _, row in mine[mine["superseded_at"].notna()].iterrows():
        correction = by_corrected.get(int(row["assessment_id"]))
        first, later = (
            dict(row["answers"] or {}),
            dict(correction["answers"] if correction is not None else {}),
        )
        total = "" if pd.isna(row["total"]) else f", total {int(row['total'])}"
        heading = (
            f"{instrument.name} answered {when_text(row['administered_at'], time_zone)}{total}: "
            f"corrected by the patient at {when_text(row['superseded_at'], time_zone)}"
        )
        table = pd.DataFrame(
            {
                "Question": [
                    f"{n}. {question_text(instrument, key)}"
                    for n, key in enumerate(instrument.item_keys, start=1)
                ],
                "First answer": [first.get(key) for key in instrument.item_keys],
                "Corrected answer": [later.get(key) for key in instrument.item_keys],
            }
        )
        found.append((heading, table))
    return found


def show_corrected_answers(
    assessments: pd.DataFrame, instrument: Instrument, *, time_zone: str = "UTC"
) -> None:
    """The patient's corrected check-ins of ``instrument`` (nothing if there are none)."""
    corrected = corrections_table(assessments, instrument, time_zone=time_zone)
    if not corrected:
        return
    st.markdown(
        f"**Corrected by the patient ({len(corrected)})**: both answers are kept; the "
        "corrected ones count in scores and charts. A safety alert raised by the first "
        "answers stays open until it is acknowledged."
    )
    for heading, table in corrected:
        st.markdown(heading)
        st.dataframe(table, hide_index=True, width="stretch")
