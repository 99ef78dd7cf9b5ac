"""A patient's scores against their infusions: days since the first infusion, phase.

The index date of every outcome is the patient's **first infusion** (spec §3: "the date of the
first ketamine/esketamine treatment"). Everything here works on calendar dates, like the
spec: an assessment dated on an infusion day counts as taken *before* that day's infusion, the
same presumption the spec makes for the baseline on the index date.

Each rule is stated readably for one assessment (:func:`infusions_before`,
:func:`assessment_phase`); :func:`align` applies them to every assessment of a clinic at once,
and ``tests/test_outcomes/test_course_vectorised.py`` checks that the two agree.

Frames
------
``assessments``
    One row per administration of one instrument: ``patient_id``, ``administered_at``
    (date, datetime or ISO string) and ``total`` (NA for an invalid record).
``infusions``
    One row per infusion: ``patient_id`` and ``administered_at``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from outcomes.course_days import (
    DAY_SPAN,
    day_keys,
    frame_days,
    key_days,
    patient_codes,
    require_columns,
)
from outcomes.rules import DEFAULT_RULES, Rules

PHASES = ("baseline", "induction", "maintenance", "after_course")
"""Phases of a course, in order (see :func:`assessment_phase`)."""


def infusions_before(infusion_dates: Sequence[dt.date], day: dt.date) -> int:
    """How many infusions were given before an assessment dated ``day``.

    ``infusion_dates`` are sorted. An infusion on ``day`` itself is not counted: the
    assessment of that day is presumed to come before it (spec §3, the baseline on the index
    date). This is also the onset of a response counted in infusions.
    """
    return bisect.bisect_left(infusion_dates, day)


def assessment_phase(
    *, infusions_before: int, days_since_latest_infusion: int | None, rules: Rules
) -> str:
    """The phase of the course an assessment belongs to (one of :data:`PHASES`).

    Parameters
    ----------
    infusions_before : int
        Infusions given before the assessment (:func:`infusions_before`).
    days_since_latest_infusion : int or None
        Calendar days from the latest of those infusions; None when there is none.
    rules : Rules
        ``induction_infusions`` and ``after_course_days``.

    Returns
    -------
    str
        ``baseline`` before any infusion; ``after_course`` when more than
        ``after_course_days`` have passed since the latest infusion; otherwise ``induction``
        after 1 to ``induction_infusions`` infusions and ``maintenance`` after more.
    """
    if infusions_before == 0 or days_since_latest_infusion is None:
        return "baseline"
    if days_since_latest_infusion > rules.after_course_days:
        return "after_course"
    if infusions_before <= rules.induction_infusions:
        return "induction"
    return "maintenance"


def align(
    assessments: pd.DataFrame, infusions: pd.DataFrame, *, rules: Rules | None = None
) -> pd.DataFrame:
    """Place each assessment on its patient's infusion course.

    Parameters
    ----------
    assessments, infusions : DataFrame
        See the module docstring. Any number of patients.
    rules : Rules, optional
        ``induction_infusions`` and ``after_course_days`` come from here.

    Returns
    -------
    DataFrame
        ``assessments`` (same index, same columns) plus:

        ``days_since_first_infusion`` (Int64)
            Calendar days from the patient's first infusion; NA without infusions.
        ``infusions_before`` (int)
            Infusions on earlier dates than the assessment (:func:`infusions_before`).
        ``phase`` (categorical)
            :func:`assessment_phase` of the assessment.

    Notes
    -----
    Vectorised over patients: one sort of packed (patient, day) keys
    (:func:`outcomes.course_days.day_keys`), then binary searches for every assessment at once.
    """
    rules = rules or DEFAULT_RULES
    require_columns(assessments, "assessments", ("patient_id", "administered_at"))
    require_columns(infusions, "infusions", ("patient_id", "administered_at"))
    (a_patient, i_patient), patients = patient_codes(
        assessments["patient_id"], infusions["patient_id"]
    )
    a_day = frame_days(assessments)
    i_day = frame_days(infusions)

    # infusions_before(): one sorted key per infusion, (patient, day), lets a binary search
    # count the infusions before every assessment at once, with no loop over patients.
    i_key = np.sort(day_keys(i_patient, i_day))
    i_day_sorted = key_days(i_key)
    # Each patient's block of infusions is found once per patient, not once per assessment:
    # binary searches of unsorted queries are the slow part here.
    every_patient = np.arange(len(patients), dtype=np.int64)
    block_start = np.searchsorted(i_key, every_patient * DAY_SPAN, side="left")[a_patient]
    block_end = np.searchsorted(i_key, (every_patient + 1) * DAY_SPAN, side="left")[a_patient]
    before = np.searchsorted(i_key, day_keys(a_patient, a_day), side="left") - block_start
    has_infusion = block_end > block_start
    if len(i_key):
        last = len(i_key) - 1
        first_day = i_day_sorted[np.clip(block_start, 0, last)]
        latest_day = i_day_sorted[np.clip(block_start + before - 1, 0, last)]
    else:
        first_day = latest_day = np.zeros_like(a_day)

    # assessment_phase(), as codes into PHASES.
    phase_code = np.where(
        before == 0,
        0,
        np.where(
            a_day - latest_day > rules.after_course_days,
            3,
            np.where(before <= rules.induction_infusions, 1, 2),
        ),
    )
    result = assessments.copy()
    result["days_since_first_infusion"] = pd.array(
        np.where(has_infusion, a_day - first_day, 0), dtype="Int64"
    )
    result.loc[~has_infusion, "days_since_first_infusion"] = pd.NA
    result["infusions_before"] = before.astype(np.int64)
    result["phase"] = pd.Categorical.from_codes(
        phase_code.astype(np.int8),  # type: ignore[arg-type]  # the stubs omit ndarray codes
        categories=pd.Index(PHASES),
        ordered=True,
    )
    return result
