"""Where a patient's course stands: the one status of each patient, and "losing response".

Stated readably for one patient, from the outcome of :func:`outcomes.trajectory.trajectory`
(``shared/clinical/scoring-spec.md`` §3: the first response episode). Every page and printout
that shows a status takes the status and its words from here; the vectorised
:func:`outcomes.course.course_outcomes` computes the same values for a whole clinic.

``shared/clinical/course-and-reporting.md`` §2 defines a richer *current* status, evaluated at
a date and over every response episode (§1); when it is built it belongs in this module, as
``current_status``, next to :func:`course_status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from outcomes.rules import Rules
from outcomes.trajectory import Trajectory, is_response

STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "relapsed": "relapsed after responding",
        "remitter": "remission reached",
        "responder": "responding",
        "not_yet": "not yet responding",
        "no_followup": "no follow-up score yet",
        "no_baseline": "no baseline score",
    }
)
"""Each value of :func:`course_status` in words, for every page and printout that shows it."""


def status_label(status: object) -> str:
    """``status`` in words (an unknown value is shown as it is)."""
    return STATUS_LABELS.get(str(status), str(status))


def course_status(outcome: Trajectory, *, followed_up: bool) -> str:
    """The one status of a patient's course: the furthest the course has come.

    Parameters
    ----------
    outcome : Trajectory
        The patient's first response episode (:func:`~outcomes.trajectory.trajectory`); a
        patient without infusions has no baseline (all fields None).
    followed_up : bool
        Whether the patient has a valid score after the first infusion.

    Returns
    -------
    str
        A key of :data:`STATUS_LABELS`, first match wins:

        ``no_baseline``
            No valid score on or before the first infusion (or no infusion).
        ``no_followup``
            A baseline, but no valid score after the first infusion.
        ``relapsed``
            A confirmed relapse after the response (spec §3).
        ``remitter``
            Remission reached (spec §3; independent of response).
        ``responder``
            A response (spec §3).
        ``not_yet``
            Followed up, no response yet.

    Notes
    -----
    The precedence of course-and-reporting §2 (``no_baseline``, then ``no_follow_up``, then
    ``relapsed`` before the other outcomes of the episode), on the first episode only and
    without a date, so with no ``course_ended`` or ``lost_to_follow_up`` yet.
    """
    if outcome.baseline_total is None:
        return "no_baseline"
    if not followed_up:
        return "no_followup"
    if outcome.relapse_date is not None:
        return "relapsed"
    if outcome.remission_date is not None:
        return "remitter"
    if outcome.response_date is not None:
        return "responder"
    return "not_yet"


def is_losing_response(outcome: Trajectory, *, latest_total: int | None, rules: Rules) -> bool:
    """Whether a responder's latest score is no longer a response: consider a booster.

    Responded, no confirmed relapse, and the latest valid total is above the response
    threshold of the baseline (course-and-reporting §2, ``losing_response``:
    ``2 * L.total > B`` with the default ``response_min_drop`` of 1/2).
    """
    if outcome.response_date is None or outcome.relapse_date is not None:
        return False
    if latest_total is None or outcome.baseline_total is None:
        return False
    return not is_response(latest_total, outcome.baseline_total, min_drop=rules.response_min_drop)
