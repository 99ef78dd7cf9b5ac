"""A patient's scores against their infusions: phase, onset in days and in infusions.

The index date of every outcome is the patient's **first infusion** (spec §3: "the date of the
first ketamine/esketamine treatment"). Everything here works on calendar dates, like the
spec: an assessment dated on an infusion day counts as taken *before* that day's infusion, the
same presumption the spec makes for the baseline on the index date.

Frames
------
``assessments``
    One row per administration of one instrument: ``patient_id``, ``administered_at``
    (date, datetime or ISO string) and ``total`` (NA for an invalid record).
``infusions``
    One row per infusion: ``patient_id`` and ``administered_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from outcomes.errors import ScoringError
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.trajectory import is_response, trajectory

PHASES = ("baseline", "induction", "maintenance", "after_course")
"""Phases of a course, in order (see :func:`align`)."""

COURSE_COLUMNS = (
    "first_infusion_date",
    "last_infusion_date",
    "infusions",
    "completed_induction",
    "baseline_date",
    "baseline_total",
    "latest_date",
    "latest_total",
    "response_date",
    "days_to_response",
    "infusions_to_response",
    "remission_date",
    "days_to_remission",
    "relapse_date",
    "durable_response_days",
    "censored",
    "followup_days",
    "losing_response",
    "status",
)
"""Columns of :func:`course_outcomes`, documented there."""


def calendar_days(values: pd.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of dates, datetimes or ISO strings."""
    try:
        stamps = pd.to_datetime(values, utc=False, format="mixed")
    except (ValueError, TypeError) as error:
        raise ScoringError(f"administered_at holds a value that is not a date: {error}") from None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    if stamps.isna().any():
        raise ScoringError("administered_at is empty on some rows; every row needs its date")
    days: np.ndarray = stamps.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return days


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ScoringError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringError(f"{name} needs the column(s) {', '.join(missing)}")


def _patient_codes(*keys: pd.Series) -> tuple[list[np.ndarray], pd.Index]:
    combined = pd.concat(keys, ignore_index=True)
    codes, uniques = pd.factorize(combined, sort=True)
    out: list[np.ndarray] = []
    start = 0
    for key in keys:
        out.append(codes[start : start + len(key)].astype(np.int64))
        start += len(key)
    return out, pd.Index(uniques)


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
            Infusions on earlier dates than the assessment.
        ``phase`` (categorical)
            ``baseline`` before any infusion; ``induction`` after 1 to
            ``induction_infusions`` infusions; ``maintenance`` after more; ``after_course``
            when more than ``after_course_days`` have passed since the latest infusion.
    """
    rules = rules or DEFAULT_RULES
    _require(assessments, "assessments", ("patient_id", "administered_at"))
    _require(infusions, "infusions", ("patient_id", "administered_at"))
    (a_patient, i_patient), _ = _patient_codes(assessments["patient_id"], infusions["patient_id"])
    a_day = (
        calendar_days(assessments["administered_at"]) if len(assessments) else np.zeros(0, np.int64)
    )
    i_day = calendar_days(infusions["administered_at"]) if len(infusions) else np.zeros(0, np.int64)

    # One sorted key per infusion, (patient, day), lets a binary search count the infusions
    # before every assessment at once: no loop over patients.
    span = np.int64(1 << 32)
    offset = np.int64(1 << 31)
    i_key = np.sort(i_patient * span + (i_day + offset))
    i_day_sorted = i_key % span - offset
    a_key = a_patient * span + (a_day + offset)
    block_start = np.searchsorted(i_key, a_patient * span, side="left")
    block_end = np.searchsorted(i_key, (a_patient + 1) * span, side="left")
    before = np.searchsorted(i_key, a_key, side="left") - block_start
    has_infusion = block_end > block_start
    if len(i_key):
        last = len(i_key) - 1
        first_day = i_day_sorted[np.clip(block_start, 0, last)]
        latest_day = i_day_sorted[np.clip(block_start + before - 1, 0, last)]
    else:
        first_day = latest_day = np.zeros_like(a_day)

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


def _as_date(day: Any) -> dt.date | None:
    if day is None or pd.isna(day):
        return None
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def course_outcomes(
    instrument: str | Instrument,
    assessments: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    rules: Rules | None = None,
) -> pd.DataFrame:
    """One row per patient: baseline, onset, remission, relapse, durability and status.

    Every patient with an assessment or an infusion gets a row. Outcomes follow
    :func:`outcomes.trajectory.trajectory` (spec §3) with the first infusion as index date.

    Parameters
    ----------
    instrument : str or Instrument
        The instrument the ``total`` column belongs to. If ``assessments`` has an
        ``instrument`` column, only its rows for this instrument are used.
    assessments, infusions : DataFrame
        See the module docstring.
    rules : Rules, optional
        Rule settings; the spec's rules by default.

    Returns
    -------
    DataFrame
        Indexed by ``patient_id``, with columns (dates are ``datetime.date`` or None):

        ``first_infusion_date``, ``last_infusion_date``, ``infusions`` (count),
        ``completed_induction`` (at least
        ``induction_infusions`` infusions), ``baseline_date``, ``baseline_total``,
        ``latest_date`` and ``latest_total`` (latest valid assessment), ``response_date``,
        ``days_to_response``, ``infusions_to_response`` (infusions received before the
        response assessment: onset counted in infusions), ``remission_date``,
        ``days_to_remission``, ``relapse_date``, ``durable_response_days``, ``censored``,
        ``followup_days`` (first infusion to last valid post-baseline assessment; the
        censoring time for time to response), ``losing_response`` (responded, not relapsed,
        and the latest total is no longer a response: consider a booster) and ``status``:
        ``relapsed``, ``remitter``, ``responder``, ``not_yet`` (followed, no response yet),
        ``no_followup`` (baseline but nothing after the first infusion) or ``no_baseline``.
    """
    definition = get_instrument(instrument)
    rules = rules or DEFAULT_RULES
    _require(assessments, "assessments", ("patient_id", "administered_at", "total"))
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
    valid = aligned[aligned["total"].notna()]
    by_patient_scores = {
        patient: (group["_day"].to_numpy(), group["total"].to_numpy(dtype=np.int64))
        for patient, group in valid.groupby("patient_id", sort=False)
    }
    patients = sorted(
        set(aligned["patient_id"]) | set(infusion_days["patient_id"]), key=lambda p: (str(p), p)
    )
    epoch = dt.date(1970, 1, 1)
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
        row["completed_induction"] = len(days_of_infusions) >= rules.induction_infusions
        row["censored"] = False
        row["losing_response"] = False
        if len(score_days):
            row["latest_date"] = _as_date(score_days[-1])
            row["latest_total"] = int(totals[-1])
        if not len(days_of_infusions):
            row["status"] = "no_baseline"
            rows.append(row)
            continue
        index_day = int(days_of_infusions[0])
        row["first_infusion_date"] = _as_date(index_day)
        row["last_infusion_date"] = _as_date(int(days_of_infusions[-1]))
        pre = score_days <= index_day
        if pre.any():
            row["baseline_date"] = _as_date(score_days[pre][-1])
        outcome = trajectory(
            definition,
            baseline_date=epoch + dt.timedelta(days=index_day),
            assessments=[
                (epoch + dt.timedelta(days=int(d)), int(t))
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
            response_day = (outcome.response_date - epoch).days
            row["infusions_to_response"] = int(
                np.searchsorted(days_of_infusions, response_day, side="left")
            )
        if outcome.baseline_total is not None and len(post_days):
            row["followup_days"] = int(post_days[-1]) - index_day
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
