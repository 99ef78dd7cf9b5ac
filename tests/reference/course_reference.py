"""The course outcomes of a clinic, one patient at a time: the reference for ``course_outcomes``.

:func:`outcomes.course.course_outcomes` computes every patient at once with sorts, binary
searches and running counts over packed integers, which is fast and hard to read.
:func:`course_outcomes_reference` computes the same frame the plain way, and
``tests/test_outcomes/test_course_vectorised.py`` checks that the two agree value for value
and dtype for dtype (Hypothesis clinics and hand-written cases); ``bench/cohort.py`` times
both.

Each clinical rule is stated once, readably:

* baseline, response, remission, relapse and durability by
  :func:`outcomes.trajectory.trajectory` (spec §3, the normative algorithm), with the first
  infusion as the index date;
* below, in the loop: what the frame adds around it (first and last infusion, infusions
  counted, induction completed, infusions before the response, follow-up, the one status
  of each patient and "losing response").

It was the production implementation before the vectorised one, and lived in
``outcomes/course.py`` as ``_course_outcomes_reference`` until issue 10 moved it here, since
only tests and the benchmark use it. It takes seconds for a large clinic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from outcomes.alignment import align
from outcomes.course import COURSE_COLUMNS
from outcomes.course_days import calendar_days
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.trajectory import is_response, trajectory

EPOCH = dt.date(1970, 1, 1)


def _as_date(day: Any) -> dt.date | None:
    """A calendar day number (days since 1970-01-01) as a date."""
    if day is None or pd.isna(day):
        return None
    return EPOCH + dt.timedelta(days=int(day))


def course_outcomes_reference(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    rules: Rules | None = None,
) -> pd.DataFrame:
    """:func:`outcomes.course.course_outcomes`, one ``trajectory()`` per patient.

    Parameters and the returned frame are those of
    :func:`~outcomes.course.course_outcomes` (see its docstring for the columns).
    """
    definition = get_instrument(instrument)
    rules = rules or DEFAULT_RULES
    if "instrument" in assessments.columns:
        assessments = assessments[assessments["instrument"] == definition.id]
    aligned = align(assessments, infusions, rules=rules)
    aligned["_day"] = (
        calendar_days(aligned["administered_at"]) if len(aligned) else np.zeros(0, np.int64)
    )
    infusion_days = pd.DataFrame(
        {
            "patient_id": infusions["patient_id"].to_numpy(),
            "_day": calendar_days(infusions["administered_at"]) if len(infusions) else [],
        }
    )
    by_patient_infusions = {
        patient: np.sort(group["_day"].to_numpy())
        for patient, group in infusion_days.groupby("patient_id", sort=False)
    }
    # An invalid form (no total) counts for nothing below, not even as the latest score.
    valid = aligned[aligned["total"].notna()]
    by_patient_scores = {
        patient: (group["_day"].to_numpy(), group["total"].to_numpy(dtype=np.int64))
        for patient, group in valid.groupby("patient_id", sort=False)
    }
    patients = sorted(
        set(aligned["patient_id"]) | set(infusion_days["patient_id"]), key=lambda p: (str(p), p)
    )
    rows: list[dict[str, Any]] = []
    for patient in patients:
        days_of_infusions = by_patient_infusions.get(patient, np.zeros(0, dtype=np.int64))
        score_days, totals = by_patient_scores.get(
            patient, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        )
        order = np.argsort(score_days, kind="stable")
        score_days, totals = score_days[order], totals[order]
        row: dict[str, Any] = dict.fromkeys(COURSE_COLUMNS)
        row["patient_id"] = patient
        row["infusions"] = len(days_of_infusions)
        # Induction is complete once the protocol's number of infusions has been given.
        row["completed_induction"] = len(days_of_infusions) >= rules.induction_infusions
        row["censored"] = False
        row["losing_response"] = False
        if len(score_days):
            row["latest_date"] = _as_date(score_days[-1])
            row["latest_total"] = int(totals[-1])
        # No infusion, no index date: nothing can be measured against a baseline.
        if not len(days_of_infusions):
            row["status"] = "no_baseline"
            rows.append(row)
            continue
        index_day = int(days_of_infusions[0])
        row["first_infusion_date"] = _as_date(index_day)
        row["last_infusion_date"] = _as_date(int(days_of_infusions[-1]))
        # An assessment on the day of the first infusion was taken before it (spec §3).
        pre = score_days <= index_day
        if pre.any():
            row["baseline_date"] = _as_date(score_days[pre][-1])
        outcome = trajectory(
            definition,
            baseline_date=EPOCH + dt.timedelta(days=index_day),
            assessments=[
                (EPOCH + dt.timedelta(days=int(d)), int(t))
                for d, t in zip(score_days, totals, strict=True)
            ],
            rules=rules,
        )
        post_days = score_days[score_days > index_day]
        row["baseline_total"] = outcome.baseline_total
        row["response_date"] = outcome.response_date
        row["days_to_response"] = outcome.days_to_response
        row["remission_date"] = outcome.remission_date
        row["relapse_date"] = outcome.relapse_date
        row["durable_response_days"] = outcome.durable_response_days
        row["censored"] = outcome.censored
        if outcome.remission_date is not None:
            row["days_to_remission"] = (outcome.remission_date - row["first_infusion_date"]).days
        if outcome.response_date is not None:
            # Infusions given strictly before the response day: one given on that day
            # comes after the assessment that showed the response.
            response_day = (outcome.response_date - EPOCH).days
            row["infusions_to_response"] = int(
                np.searchsorted(days_of_infusions, response_day, side="left")
            )
        # Follow-up: first infusion to the last valid assessment after it (the censoring
        # time for time to response).
        if outcome.baseline_total is not None and len(post_days):
            row["followup_days"] = int(post_days[-1]) - index_day
        # One status per patient, the furthest the course has come: relapsed, remitter,
        # responder, then followed without a response yet.
        if outcome.baseline_total is None:
            row["status"] = "no_baseline"
        elif not len(post_days):
            row["status"] = "no_followup"
        elif outcome.relapse_date is not None:
            row["status"] = "relapsed"
        elif outcome.remission_date is not None:
            row["status"] = "remitter"
        elif outcome.response_date is not None:
            row["status"] = "responder"
        else:
            row["status"] = "not_yet"
        # Losing response: responded, not relapsed, and the latest total is no longer a
        # response (consider a booster).
        if outcome.response_date is not None and outcome.relapse_date is None:
            row["losing_response"] = not is_response(
                int(totals[-1]), outcome.baseline_total or 0, min_drop=rules.response_min_drop
            )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["patient_id", *COURSE_COLUMNS]).set_index("patient_id")
    for column in (
        "baseline_total",
        "latest_total",
        "days_to_response",
        "infusions_to_response",
        "days_to_remission",
        "durable_response_days",
        "followup_days",
        "infusions",
    ):
        frame[column] = frame[column].astype("Int64")
    for column in ("completed_induction", "censored", "losing_response"):
        frame[column] = frame[column].astype(bool)
    return frame
