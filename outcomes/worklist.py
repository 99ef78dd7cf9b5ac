"""What a clinician should look at first, and when each patient's next check-in is due.

Pure functions over :func:`outcomes.course.course_outcomes` and a few dates, so that the
worklist's order is a rule that can be read and tested, not a side effect of a page.

Priorities (most urgent first)
------------------------------
1. ``safety_alert``: an unacknowledged positive self-harm answer or C-SSRS risk.
2. ``booster``: the status (:func:`outcomes.status.current_status`) is ``losing_response`` or
   ``relapsed`` and the latest score is recent, at most ``booster_recency_cadences`` check-in
   cadences old (14 days with weekly check-ins): consider a booster.
3. ``not_responding``: four or more infusions and no response yet.
4. ``lost_to_follow_up``: in treatment and no valid score for more than
   ``lost_to_follow_up_days`` (the status of that name).
5. ``check_in``: losing response or relapsed on a score too old to decide a booster on:
   ask for a check-in first, never "consider a booster" on data weeks or months old.
6. ``overdue``: the check-in due date passed more than ``grace_days`` ago.
7. ``no_baseline``: infused, or waiting to start, without a baseline score.

Everything but the safety alerts and a missing baseline concerns patients whose course has
not ended: a patient with neither an infusion nor a score for ``after_course_days`` has the
status ``course_ended`` and is not listed. "Not responding" and "overdue" also need an
infusion within the last ``active_days`` (90 by default,
:attr:`outcomes.rules.Rules.after_course_days`); a lost-to-follow-up patient is listed as
that, not also as overdue.

Within a priority, the longest-waiting patient comes first. A patient appears once per reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.errors import ScoringError
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import BOOSTER_STATUSES, status_label

REASONS = (
    "safety_alert",
    "booster",
    "not_responding",
    "lost_to_follow_up",
    "check_in",
    "overdue",
    "no_baseline",
)
REASON_LABELS = {
    "safety_alert": "Safety alert",
    "booster": "Losing response or relapsed: consider a booster",
    "not_responding": "Not responding after 4+ infusions",
    "lost_to_follow_up": "Lost to follow-up: no recent score",
    "check_in": "Losing response or relapsed on an old score: ask for a check-in",
    "overdue": "Check-in overdue",
    "no_baseline": "No baseline score",
}
NOT_RESPONDING_AFTER = 4
WORKLIST_COLUMNS = ("patient_id", "reason", "priority", "since", "detail")


def next_checkin_due(
    *,
    first_infusion: dt.date | None,
    last_checkin: dt.date | None,
    today: dt.date,
    cadence_days: int = 7,
    early_days: int | None = None,
) -> dt.date:
    """The next date a check-in is due, counted from the patient's first infusion.

    Check-ins fall every ``cadence_days`` from the first infusion (the index date of every
    outcome), so weekly scores line up with weeks of treatment. Without an infusion yet, a
    baseline is due today. The due date is the first such day after the last check-in; a
    missed one stays due (the earliest unmet day), so lateness is visible.

    A check-in up to ``early_days`` before a due day (its window's opening,
    course-and-reporting §3; ``DEFAULT_RULES.early_days`` by default) meets that day, as
    :func:`outcomes.checkin_windows.window_status` counts it.

    .. versionchanged:: issue 12
       A check-in in the window's early days meets the due day it opens for.
    """
    if cadence_days < 1:
        raise ScoringError("cadence_days must be at least 1")
    early = dt.timedelta(days=DEFAULT_RULES.early_days if early_days is None else early_days)
    if first_infusion is None:
        return today if last_checkin is None else max(today, last_checkin)
    if last_checkin is None or last_checkin + early < first_infusion:
        return first_infusion
    periods = (last_checkin + early - first_infusion).days // cadence_days + 1
    return first_infusion + dt.timedelta(days=periods * cadence_days)


def worklist(
    courses: pd.DataFrame,
    *,
    last_checkin: pd.Series,
    open_alerts: pd.DataFrame,
    today: dt.date,
    patient_ids: pd.Index | None = None,
    cadence_days: int = 7,
    grace_days: int | None = None,
    active_days: int = 90,
    rules: Rules | None = None,
    next_due: pd.Series | None = None,
    next_due_closes: pd.Series | None = None,
) -> pd.DataFrame:
    """The clinician's worklist, most urgent first.

    Every patient at once, with array operations: a clinic of 10,000 patients costs
    milliseconds (issue 13). ``tests/reference/worklist_reference.py`` states the same rules
    one patient at a time, and a property test checks that both give the same frame.

    "Overdue" is counted from ``last_checkin``, the latest check-in the patient *submitted*,
    whatever its instrument and whether or not it could be scored (the course state's
    ``last_checkin_at``): a patient who sent this week's check-in is not overdue, even if a
    missing answer left it without a valid score. Booster, lost-to-follow-up and "not
    responding" decisions are the course's, on valid scores only.

    Parameters
    ----------
    courses : DataFrame
        :func:`outcomes.course.course_outcomes` (or :func:`outcomes.course.courses_at` of
        stored facts) for the clinic's patients (index ``patient_id``) on the check-in
        instrument.
    last_checkin : Series
        Time or date of each patient's latest check-in of any instrument, valid or not (index
        ``patient_id``); the date is read on the time's own clock (UTC for stored times).
    open_alerts : DataFrame
        Unacknowledged alerts: ``patient_id``, ``kind``, ``created_at``.
    today : date
    patient_ids : Index, optional
        Every patient of the clinic; those with no score and no infusion at all are new
        patients without a baseline.
    cadence_days : int
        Check-in cadence.
    grace_days : int, optional
        Days of lateness tolerated before "overdue": by default the clinic's
        ``rules.grace_days``, the day a check-in's window closes (course-and-reporting §3).
    active_days : int
        A patient is in treatment if their latest infusion is at most this many days old.
    rules : Rules, optional
        The clinic's rules: ``booster_recency_cadences`` and ``lost_to_follow_up_days``
        (in the detail). The spec's rules by default. ``courses`` must have been computed
        with the same rules and ``today``.
    next_due : Series, optional
        Each patient's next check-in due date on their measurement schedule
        (course-and-reporting §4: the stored ``patient_state.next_due``, from
        :func:`outcomes.schedule.next_due_after`; index ``patient_id``; missing: nothing
        due). When given, "overdue" is counted from it; otherwise from the weekly cadence
        (:func:`next_checkin_due`).
    next_due_closes : Series, optional
        The last clinic day of each ``next_due``'s window (``patient_state.next_due_closes``):
        when given, a patient is overdue only after it (a window of the schedule may be
        longer than ``grace_days``: the end of induction's runs 14 to 31 days).

    Returns
    -------
    DataFrame
        ``patient_id``, ``reason`` (one of :data:`REASONS`), ``priority`` (1 = most urgent),
        ``since`` (date the reason began) and ``detail`` (a short plain-language note).

    .. versionchanged:: issue 13
       Vectorised; ``last_checkin`` is any submitted check-in (the page passed the latest
       valid PHQ-9 before).
    .. versionchanged:: issue 14
       ``next_due``, ``next_due_closes``: "overdue" from the measurement schedule.
    """
    if cadence_days < 1:
        raise ScoringError("cadence_days must be at least 1")
    all_rules = rules or DEFAULT_RULES
    late_days = all_rules.grace_days if grace_days is None else grace_days
    recency_days = all_rules.booster_recency_cadences * cadence_days
    early_days = all_rules.early_days
    today_day = _day_number(today)
    ids = courses.index
    parts: list[pd.DataFrame] = [
        _rows(
            "safety_alert",
            open_alerts["patient_id"].to_numpy(dtype=object),
            pd.to_datetime(open_alerts["created_at"], utc=True).dt.date.to_numpy(dtype=object),
            open_alerts["kind"].astype(str).str.replace("_", " ", regex=False).to_numpy(),
        )
    ]
    status = courses["status"].astype(str).to_numpy(dtype=object)
    latest = courses["latest_date"].to_numpy(dtype=object)
    latest_day, has_latest = _day_numbers(courses["latest_date"])
    latest_text = _iso(latest_day)
    since_score = today_day - latest_day

    # Booster or check-in: losing response or relapsed, decided on a recent score only
    # (course-and-reporting §2); an old score asks for a check-in first.
    boosting = np.isin(status, tuple(BOOSTER_STATUSES)) & has_latest
    recent = since_score <= recency_days
    words = pd.Series(status).map({s: status_label(s).lower() for s in set(status)}).to_numpy()
    parts.append(
        _rows(
            np.where(recent, "booster", "check_in")[boosting],
            ids[boosting],
            latest[boosting],
            _joined(
                words[boosting],
                ": latest ",
                _text(courses["latest_total"])[boosting],
                " on ",
                latest_text[boosting],
                " vs baseline ",
                _text(courses["baseline_total"])[boosting],
            ),
        )
    )
    lost = (status == "lost_to_follow_up") & has_latest
    parts.append(
        _rows(
            "lost_to_follow_up",
            ids[lost],
            latest[lost],
            _joined(
                "no score for ",
                since_score[lost].astype(str),
                f" days (more than {all_rules.lost_to_follow_up_days})",
            ),
        )
    )

    infusions = courses["infusions"].astype("int64").to_numpy()
    if "last_infusion_date" in courses.columns:
        infusion_day, infused = _day_numbers(courses["last_infusion_date"])
        in_treatment = infused & (today_day - infusion_day <= active_days)
    else:
        in_treatment = np.zeros(len(ids), dtype=bool)
    stalled = in_treatment & (infusions >= NOT_RESPONDING_AFTER) & (status == "not_yet_responded")
    parts.append(
        _rows(
            "not_responding",
            ids[stalled],
            latest[stalled],
            _joined(infusions[stalled].astype(str), " infusions, no response yet"),
        )
    )

    # next_checkin_due for every patient (its rules, in day numbers).
    first_day, has_first = _day_numbers(courses["first_infusion_date"])
    checkin_day, checked_in = _day_numbers(last_checkin.reindex(ids))
    meets = checked_in & (checkin_day + early_days >= first_day)
    periods = (checkin_day + early_days - first_day) // cadence_days + 1
    due_day = np.where(meets, first_day + periods * cadence_days, first_day)
    # Not infused yet: a baseline is due today (or on a check-in dated after today).
    due_day = np.where(
        has_first, due_day, np.where(checked_in, np.maximum(today_day, checkin_day), today_day)
    )
    has_due = np.ones(len(ids), dtype=bool)
    if next_due is not None:
        # The schedule's due date (§4) replaces the weekly cadence's.
        due_day, has_due = _day_numbers(next_due.reindex(ids))
    late = today_day - due_day > late_days
    if next_due is not None and next_due_closes is not None:
        # The window's own last day (§4's windows differ in length), where it is stored.
        closes_day, has_close = _day_numbers(next_due_closes.reindex(ids))
        late = np.where(has_close, today_day > closes_day, late)
    overdue = in_treatment & has_due & (status != "lost_to_follow_up") & late
    parts.append(
        _rows(
            "overdue",
            ids[overdue],
            _dates(due_day[overdue]),
            _joined("due ", _iso(due_day[overdue])),
        )
    )

    no_baseline = courses["baseline_total"].isna().to_numpy()
    first_or_today = courses["first_infusion_date"].to_numpy(dtype=object).copy()
    first_or_today[~has_first] = today
    parts.append(
        _rows(
            "no_baseline",
            ids[no_baseline],
            first_or_today[no_baseline],
            "no score on or before the first infusion",
        )
    )
    if patient_ids is not None:
        new = patient_ids.difference(ids)
        parts.append(
            _rows("no_baseline", new, today, "new patient: no check-in and no infusion yet")
        )
    frame = pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)
    frame["patient_id"] = frame["patient_id"].infer_objects()
    frame["priority"] = frame["reason"].map({r: i + 1 for i, r in enumerate(REASONS)})
    # Within a priority the longest waiting first; a stable sort keeps the clinic's order.
    frame = frame.sort_values(["priority", "since"], kind="stable").reset_index(drop=True)
    return frame[list(WORKLIST_COLUMNS)]


_EPOCH = dt.date(1970, 1, 1)


def _day_number(day: dt.date) -> int:
    return (day - _EPOCH).days


def _day_numbers(values: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Day numbers of dates or times (0 where there is none), and where there is one.

    A time's day is read on its own clock (a stored UTC time's UTC date), as
    ``pd.Timestamp(time).date()`` reads it.
    """
    times = pd.to_datetime(values.astype(object), errors="coerce")
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_localize(None)
    present = times.notna().to_numpy()
    numbers = times.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")
    return np.where(present, numbers, 0), present


def _dates(days: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Day numbers as ``datetime.date`` objects."""
    return days.astype("datetime64[D]").astype(object)


def _iso(days: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _text(values: pd.Series) -> npt.NDArray[np.str_]:
    """Each value as an f-string shows it (``<NA>`` for a missing total)."""
    return values.astype(str).to_numpy(dtype=str)


def _joined(*parts: str | npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """Element-wise concatenation of strings and string arrays."""
    text: npt.NDArray[np.str_] = np.asarray("", dtype=str)
    for part in parts:
        text = np.char.add(text, np.asarray(part, dtype=str))
    return text


def _rows(
    reason: str | npt.NDArray[Any],
    patient_ids: pd.Index | npt.NDArray[Any],
    since: dt.date | npt.NDArray[Any] | list[dt.date],
    detail: str | npt.NDArray[Any],
) -> pd.DataFrame:
    """Worklist rows: one per patient id, the other columns arrays or one value for all."""
    count = len(patient_ids)

    def column(value: object) -> npt.NDArray[np.object_]:
        if isinstance(value, str | dt.date):
            return np.full(count, value, dtype=object)
        return np.asarray(value, dtype=object)

    return pd.DataFrame(
        {
            "patient_id": np.asarray(patient_ids, dtype=object),
            "reason": column(reason),
            "since": column(since),
            "detail": column(detail),
        }
    )
