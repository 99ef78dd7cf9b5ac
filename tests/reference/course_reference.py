"""The course outcomes of a clinic, one patient at a time: the reference for ``course_outcomes``.

:func:`outcomes.course.course_outcomes` computes every patient at once with sorts, binary
searches and running counts over packed integers, which is fast and hard to read.
:func:`course_outcomes_reference` computes the same frame by calling the readable statement
of the rules, :func:`outcomes.patient_course.patient_course`, once per patient, and
``tests/test_outcomes/test_course_vectorised.py`` checks that the two agree value for value
and dtype for dtype (Hypothesis clinics and hand-written cases); ``bench/cohort.py`` times
both.

No clinical rule is stated here: only how a clinic's frames become each patient's dates and
totals, and the rows back into a frame. The loop lived in ``outcomes/course.py`` as
``_course_outcomes_reference`` until issue 10 moved it here and put its rules in
:mod:`outcomes.patient_course` and :mod:`outcomes.status`. It takes seconds for a large clinic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd

from outcomes.course_days import calendar_days
from outcomes.instruments import Instrument, get_instrument
from outcomes.patient_course import COURSE_COLUMNS, patient_course
from outcomes.rules import Rules

EPOCH = dt.date(1970, 1, 1)
INT_COLUMNS = (
    "baseline_total",
    "latest_total",
    "days_to_response",
    "infusions_to_response",
    "days_to_remission",
    "durable_response_days",
    "followup_days",
    "infusions",
)
BOOL_COLUMNS = ("completed_induction", "censored", "losing_response")


def _dates(frame: pd.DataFrame) -> list[dt.date]:
    """Each row's calendar day (as ``course_outcomes`` counts it) as a date."""
    days = calendar_days(frame["administered_at"]) if len(frame) else []
    return [EPOCH + dt.timedelta(days=int(day)) for day in days]


def course_outcomes_reference(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    rules: Rules | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """:func:`outcomes.course.course_outcomes`, one ``patient_course()`` per patient.

    Parameters and the returned frame are those of
    :func:`~outcomes.course.course_outcomes` (see its docstring for the columns).
    """
    definition = get_instrument(instrument)
    if "instrument" in assessments.columns:
        assessments = assessments[assessments["instrument"] == definition.id]
    infusion_dates: dict[Any, list[dt.date]] = {}
    for patient, day in zip(infusions["patient_id"], _dates(infusions), strict=True):
        infusion_dates.setdefault(patient, []).append(day)
    scores: dict[Any, list[tuple[dt.date, int | None]]] = {}
    totals = assessments["total"]
    for patient, day, total in zip(
        assessments["patient_id"], _dates(assessments), totals, strict=True
    ):
        # The totals as course_outcomes reads them: whole numbers, NA for an invalid form.
        scores.setdefault(patient, []).append((day, None if pd.isna(total) else int(total)))
    patients = sorted(set(infusion_dates) | set(scores), key=lambda p: (str(p), p))
    rows = [
        {
            "patient_id": patient,
            **dataclasses.asdict(
                patient_course(
                    definition,
                    infusion_dates=infusion_dates.get(patient, []),
                    assessments=scores.get(patient, []),
                    rules=rules,
                    today=today,
                )
            ),
        }
        for patient in patients
    ]
    frame = pd.DataFrame(rows, columns=["patient_id", *COURSE_COLUMNS]).set_index("patient_id")
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    for column in BOOL_COLUMNS:
        frame[column] = frame[column].astype(bool)
    return frame
