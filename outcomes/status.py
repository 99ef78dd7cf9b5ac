"""Where a patient's course stands today: the one current status, and its words.

Implements ``shared/clinical/course-and-reporting.md`` §2, stated readably for one patient
from the latest valid score and the response episodes (:func:`outcomes.episodes.episodes`,
§1). Every page, printout and export that shows a status takes the status and its words from
here; the vectorised :func:`outcomes.course.course_outcomes` computes the same status for a
whole clinic, checked against this rule through ``tests/reference/course_reference.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from outcomes.episodes import episodes
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.trajectory import DateLike, as_date, is_remission, is_response

STATUSES = (
    "no_baseline",
    "no_follow_up",
    "course_ended",
    "lost_to_follow_up",
    "relapsed",
    "losing_response",
    "in_remission",
    "responding",
    "not_yet_responded",
)
"""The §2 statuses in their precedence: the first that applies is the patient's status."""

STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        # Short enough to fit the patient page's status metric: at most 17 characters.
        "no_baseline": "No baseline",
        "no_follow_up": "No follow-up",
        "course_ended": "Course ended",
        "lost_to_follow_up": "Lost to follow-up",
        "relapsed": "Relapsed",
        "losing_response": "Losing response",
        "in_remission": "In remission",
        "responding": "Responding",
        "not_yet_responded": "No response yet",
    }
)
"""Each status of :func:`current_status` in clinic words, for every page and printout."""

BOOSTER_STATUSES = frozenset({"losing_response", "relapsed"})
"""Statuses for which a booster may be considered, while the latest score is recent (§2)."""


def status_label(status: object) -> str:
    """``status`` in words (an unknown value is shown as it is)."""
    return STATUS_LABELS.get(str(status), str(status))


def current_status(
    instrument: str | Instrument,
    *,
    baseline_date: DateLike | None,
    assessments: Iterable[tuple[DateLike, int | None]],
    today: DateLike,
    last_infusion_date: DateLike | None = None,
    rules: Rules | None = None,
) -> str:
    """A patient's status at ``today`` (course-and-reporting §2): one of :data:`STATUSES`.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    baseline_date : date or str or None
        The index date: the first infusion (None: no infusion yet, so no baseline).
    assessments : iterable of (date or str, int or None)
        Dated totals in any order; ``None`` marks an invalid form, which counts for nothing.
        Should a date repeat, the one given last is the latest score.
    today : date or str
        The day the status is evaluated at.
    last_infusion_date : date or str, optional
        The latest infusion; the first infusion when not given.
    rules : Rules, optional
        Rule settings (``after_course_days``, ``lost_to_follow_up_days``, response and
        remission); the spec's rules by default.

    Returns
    -------
    str
        The first that applies, in this order, with L the latest valid score and B the
        baseline:

        ``no_baseline``
            No valid score on or before the first infusion (or no infusion).
        ``no_follow_up``
            A baseline, no valid score after the first infusion.
        ``course_ended``
            No infusion and no score within ``after_course_days`` of today.
        ``lost_to_follow_up``
            In treatment (an infusion within ``after_course_days``) and no valid score for
            more than ``lost_to_follow_up_days``.
        ``relapsed``
            The latest episode ended in a confirmed relapse, with no response since.
        ``losing_response``
            In an episode without relapse, and L is no longer a response (``2 * L > B``).
        ``in_remission``
            In an episode without relapse, L is a response and meets remission.
        ``responding``
            In an episode without relapse, and L is a response.
        ``not_yet_responded``
            Followed up, never a response.
    """
    all_rules = rules or DEFAULT_RULES
    definition = get_instrument(instrument)
    day = as_date(today, what="today")
    # sorted() is stable: on a repeated date the order given decides which is the latest.
    scores = sorted(
        (
            (as_date(when, what="assessment date"), total)
            for when, total in assessments
            if total is not None
        ),
        key=lambda score: score[0],
    )
    if baseline_date is None:
        return "no_baseline"
    index_date = as_date(baseline_date, what="baseline_date")
    pre = [(when, total) for when, total in scores if when <= index_date]
    if not pre:
        return "no_baseline"
    # trajectory()'s baseline: the last (date, total) on or before the index date.
    baseline_total = max(pre)[1]
    if not any(when > index_date for when, _ in scores):
        return "no_follow_up"
    latest_date, latest_total = scores[-1]
    last_infusion = (
        index_date
        if last_infusion_date is None
        else max(index_date, as_date(last_infusion_date, what="last_infusion_date"))
    )
    in_treatment = (day - last_infusion).days <= all_rules.after_course_days
    if not in_treatment and (day - latest_date).days > all_rules.after_course_days:
        return "course_ended"
    if in_treatment and (day - latest_date).days > all_rules.lost_to_follow_up_days:
        return "lost_to_follow_up"
    found = episodes(definition, baseline_date=index_date, assessments=scores, rules=all_rules)
    if not found:
        return "not_yet_responded"
    if found[-1].relapse_date is not None:
        return "relapsed"
    if not is_response(latest_total, baseline_total, min_drop=all_rules.response_min_drop):
        return "losing_response"
    if is_remission(latest_total, all_rules.for_instrument(definition)):
        return "in_remission"
    return "responding"
