"""One patient's course outcomes, stated readably: the rules of the course frame, one at a time.

:func:`patient_course` computes one row of :func:`outcomes.course.course_outcomes` for one
patient, in plain Python:

* baseline, response, remission, relapse and durability by
  :func:`outcomes.trajectory.trajectory` (``shared/clinical/scoring-spec.md`` §3, the
  normative algorithm), with the first infusion as the index date;
* what the course adds around it: first and last infusion, infusions counted, induction
  completed (:func:`completed_induction`), infusions before the response
  (:func:`outcomes.alignment.infusions_before`), follow-up (:func:`followup_days`) and the one
  current status at a date (:func:`outcomes.status.current_status`, over every response
  episode of :func:`outcomes.episodes.episodes`).

This is the statement of each rule; :func:`outcomes.course.course_outcomes` computes the same
for every patient of a clinic at once, and ``tests/test_outcomes/test_course_vectorised.py``
checks with Hypothesis that the two agree (through ``tests/reference/course_reference.py``,
which calls :func:`patient_course` once per patient).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outcomes.alignment import infusions_before
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import current_status
from outcomes.trajectory import DateLike, as_date, trajectory


@dataclass(frozen=True)
class PatientCourse:
    """One patient's course on one instrument: a row of ``course_outcomes``.

    Attributes
    ----------
    first_infusion_date, last_infusion_date : date or None
        The index date (spec §3) and the latest infusion; None without infusions.
    infusions : int
        Infusions given.
    completed_induction : bool
        :func:`completed_induction`.
    baseline_date, baseline_total : date or None, int or None
        The last valid assessment on or before the first infusion (spec §3).
    latest_date, latest_total : date or None, int or None
        The latest valid assessment, whenever it was.
    response_date, days_to_response : date or None, int or None
        As :class:`~outcomes.trajectory.Trajectory`.
    infusions_to_response : int or None
        Infusions received before the response assessment: onset counted in infusions.
    remission_date, days_to_remission : date or None, int or None
        As ``Trajectory``, days counted from the first infusion.
    relapse_date, durable_response_days, censored
        As ``Trajectory``.
    followup_days : int or None
        :func:`followup_days`.
    losing_response : bool
        The status is ``losing_response``: consider a booster.
    status : str
        :func:`outcomes.status.current_status` at the date the course is evaluated.
    """

    first_infusion_date: dt.date | None = None
    last_infusion_date: dt.date | None = None
    infusions: int = 0
    completed_induction: bool = False
    baseline_date: dt.date | None = None
    baseline_total: int | None = None
    latest_date: dt.date | None = None
    latest_total: int | None = None
    response_date: dt.date | None = None
    days_to_response: int | None = None
    infusions_to_response: int | None = None
    remission_date: dt.date | None = None
    days_to_remission: int | None = None
    relapse_date: dt.date | None = None
    durable_response_days: int | None = None
    censored: bool = False
    followup_days: int | None = None
    losing_response: bool = False
    status: str = "no_baseline"


COURSE_COLUMNS = tuple(field.name for field in dataclasses.fields(PatientCourse))
"""Columns of :func:`outcomes.course.course_outcomes`: the fields of :class:`PatientCourse`."""


def completed_induction(infusions: int, *, rules: Rules) -> bool:
    """Induction is complete once the protocol's ``induction_infusions`` have been given."""
    return infusions >= rules.induction_infusions


def followup_days(index_date: dt.date, post_baseline_dates: Sequence[dt.date]) -> int | None:
    """Days from the first infusion to the last valid assessment after it.

    The censoring time of a patient who has not responded (spec §3, Kaplan-Meier time to
    response); None without such an assessment.
    """
    if not post_baseline_dates:
        return None
    return (max(post_baseline_dates) - index_date).days


def patient_course(
    instrument: str | Instrument,
    *,
    infusion_dates: Iterable[DateLike],
    assessments: Iterable[tuple[DateLike, int | None]],
    rules: Rules | None = None,
    today: DateLike | None = None,
) -> PatientCourse:
    """The course outcomes of one patient on one instrument.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    infusion_dates : iterable of date or str
        The patient's infusions, in any order.
    assessments : iterable of (date or str, int or None)
        Dated totals in any order; ``None`` marks an invalid form, which counts for nothing
        (not even as the latest score). Should a date repeat, the one given last is the latest.
    rules : Rules, optional
        Rule settings; the spec's rules by default.
    today : date or str, optional
        The day the status is evaluated at; the day of the call (``datetime.date.today()``,
        the server's date) when not given, so a page that does not say shows today's status.

    Returns
    -------
    PatientCourse
    """
    definition = get_instrument(instrument)
    rules = rules or DEFAULT_RULES
    day = dt.date.today() if today is None else as_date(today, what="today")
    infusions = sorted(as_date(day, what="infusion date") for day in infusion_dates)
    # sorted() is stable: on a repeated date the order given decides which is the latest.
    scores = sorted(
        (
            (as_date(when, what="assessment date"), total)
            for when, total in assessments
            if total is not None
        ),
        key=lambda score: score[0],
    )
    latest_date, latest_total = scores[-1] if scores else (None, None)
    induction = completed_induction(len(infusions), rules=rules)
    if not infusions:
        # No infusion, no index date: nothing can be measured against a baseline.
        return PatientCourse(
            completed_induction=induction,
            latest_date=latest_date,
            latest_total=latest_total,
            status="no_baseline",
        )

    index_date = infusions[0]
    outcome = trajectory(definition, baseline_date=index_date, assessments=scores, rules=rules)
    # An assessment on the day of the first infusion was taken before it (spec §3).
    pre = [day for day, _ in scores if day <= index_date]
    post = [day for day, _ in scores if day > index_date]
    followed_up = outcome.baseline_total is not None and bool(post)
    status = current_status(
        definition,
        baseline_date=index_date,
        assessments=scores,
        today=day,
        last_infusion_date=infusions[-1],
        rules=rules,
    )
    return PatientCourse(
        infusions=len(infusions),
        completed_induction=induction,
        latest_date=latest_date,
        latest_total=latest_total,
        first_infusion_date=index_date,
        last_infusion_date=infusions[-1],
        baseline_date=pre[-1] if pre else None,
        baseline_total=outcome.baseline_total,
        response_date=outcome.response_date,
        days_to_response=outcome.days_to_response,
        infusions_to_response=(
            infusions_before(infusions, outcome.response_date)
            if outcome.response_date is not None
            else None
        ),
        remission_date=outcome.remission_date,
        days_to_remission=(
            (outcome.remission_date - index_date).days
            if outcome.remission_date is not None
            else None
        ),
        relapse_date=outcome.relapse_date,
        durable_response_days=outcome.durable_response_days,
        censored=outcome.censored,
        followup_days=followup_days(index_date, post) if followed_up else None,
        losing_response=status == "losing_response",
        status=status,
    )
