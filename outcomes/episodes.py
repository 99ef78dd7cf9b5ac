"""Response episodes of one patient: response, relapse, and response again under boosters.

Implements ``shared/clinical/course-and-reporting.md`` §1. Episode 1 is the response, relapse
and durability of ``scoring-spec.md`` §3 (:func:`outcomes.trajectory.trajectory`), unchanged.
After a confirmed relapse, the first later valid score at least ``response_min_drop`` below
the *original* baseline starts the next episode [D], whose relapse and durability follow §3's
rules from its own response date. Without this, a patient who relapsed and then responded
again under boosters would read "relapsed" for ever.

:func:`episodes` is the readable statement; :func:`outcomes.status.current_status` reads the
latest episode, and :func:`outcomes.course.course_outcomes` computes the same latest episode
for a whole clinic (checked against this through ``tests/reference/course_reference.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from outcomes.alignment import infusions_before
from outcomes.course_days import frame_days, require_columns
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.trajectory import (
    DateLike,
    as_date,
    dated_totals,
    is_response,
    relapse_date_after,
)

_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Episode:
    """One response episode (course-and-reporting §1 and §8).

    Attributes
    ----------
    number : int
        1 for the first response (spec §3), 2 for the first re-response after a relapse, ...
    response_date : date
        The score that started the episode: at least ``response_min_drop`` below the
        original baseline.
    days_to_response : int
        Calendar days from the first infusion (the index date) to ``response_date``.
    relapse_date : date or None
        First of the ``relapse_confirmations`` consecutive valid scores after the response
        date that lost response and are at or above the relapse floor (spec §3).
    durable_response_days : int
        Days from the response to the relapse, or to the last valid score after the first
        infusion when there is no relapse (then right-censored).
    censored : bool
        No relapse (yet): the durability is a lower bound.
    """

    number: int
    response_date: dt.date
    days_to_response: int
    relapse_date: dt.date | None
    durable_response_days: int
    censored: bool


def episodes(
    instrument: str | Instrument,
    *,
    baseline_date: DateLike,
    assessments: Iterable[tuple[DateLike, int | None]],
    rules: Rules | None = None,
) -> tuple[Episode, ...]:
    """Every response episode of one patient, in order (course-and-reporting §1).

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    baseline_date : date or str
        The index date: the first infusion.
    assessments : iterable of (date or str, int or None)
        Dated totals in any order; ``None`` marks an invalid form, which counts for nothing.
    rules : Rules, optional
        Rule settings; the spec's rules by default.

    Returns
    -------
    tuple of Episode
        Empty when there is no baseline, no follow-up or no response. Episode 1's fields
        equal those of :func:`outcomes.trajectory.trajectory`.

    Notes
    -----
    Scores are ordered as :func:`~outcomes.trajectory.trajectory` orders them, by date and
    then total, so two scores on one day (outside the spec) are read as there. An episode's
    relapse looks only at scores dated after its response date; the next episode starts at
    the first responding score dated after the relapse date.
    """
    definition = get_instrument(instrument)
    all_rules = rules or DEFAULT_RULES
    instrument_rules = all_rules.for_instrument(definition)
    index_date = as_date(baseline_date, what="baseline_date")
    valid = dated_totals(assessments)
    pre = [a for a in valid if a[0] <= index_date]
    post = [a for a in valid if a[0] > index_date]
    if not pre or not post:
        return ()
    baseline_total = pre[-1][1]
    last_day = post[-1][0]
    found: list[Episode] = []
    since = index_date  # a response must be dated after this: the index date, then a relapse
    while True:
        response_date = next(
            (
                day
                for day, total in post
                if day > since
                and is_response(total, baseline_total, min_drop=all_rules.response_min_drop)
            ),
            None,
        )
        if response_date is None:
            return tuple(found)
        after = [a for a in post if a[0] > response_date]
        relapse_date = relapse_date_after(after, baseline_total, instrument_rules, all_rules)
        end = relapse_date if relapse_date is not None else last_day
        found.append(
            Episode(
                number=len(found) + 1,
                response_date=response_date,
                days_to_response=(response_date - index_date).days,
                relapse_date=relapse_date,
                durable_response_days=(end - response_date).days,
                censored=relapse_date is None,
            )
        )
        if relapse_date is None:
            return tuple(found)
        since = relapse_date


@dataclass(frozen=True)
class EpisodeInfusions:
    """Infusions around one episode (course-and-reporting §1, per episode report).

    Attributes
    ----------
    number : int
        The episode's number.
    infusions_before : int
        Infusions received before its response (one on the response day comes after it).
    boosters_to_response : int or None
        Infusions between the previous episode's relapse and this response ("boosters to
        re-response"); None for episode 1.
    """

    number: int
    infusions_before: int
    boosters_to_response: int | None


def episode_infusions(
    found: Iterable[Episode], infusion_dates: Iterable[DateLike]
) -> tuple[EpisodeInfusions, ...]:
    """Infusions before each episode's response, and boosters since the previous relapse.

    An infusion on a relapse's date counts as a booster (the relapse is dated at its first
    qualifying score, which comes before that day's infusion, as at baseline).
    """
    infusions = sorted(as_date(day, what="infusion date") for day in infusion_dates)
    rows: list[EpisodeInfusions] = []
    previous_relapse: dt.date | None = None
    for episode in found:
        before = infusions_before(infusions, episode.response_date)
        boosters = (
            None
            if previous_relapse is None
            else before - infusions_before(infusions, previous_relapse)
        )
        rows.append(EpisodeInfusions(episode.number, before, boosters))
        previous_relapse = episode.relapse_date
    return tuple(rows)


def patient_episodes(
    instrument: str | Instrument,
    scores: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    rules: Rules | None = None,
) -> tuple[Episode, ...]:
    """:func:`episodes` of one patient from the frames the patient page already holds.

    One call on the patient's scores (``administered_at``, ``total``; an ``instrument``
    column, if present, selects this instrument's rows) and infusions (``administered_at``),
    with days counted as :func:`outcomes.course.course_outcomes` counts them. Empty without
    an infusion.
    """
    definition = get_instrument(instrument)
    require_columns(scores, "scores", ("administered_at", "total"))
    require_columns(infusions, "infusions", ("administered_at",))
    if "instrument" in scores.columns:
        scores = scores[scores["instrument"] == definition.id]
    if infusions.empty:
        return ()
    first_infusion = _EPOCH + dt.timedelta(days=int(frame_days(infusions).min()))
    days = frame_days(scores)
    pairs = [
        (_EPOCH + dt.timedelta(days=int(day)), None if pd.isna(total) else int(total))
        for day, total in zip(days, scores["total"], strict=True)
    ]
    return episodes(definition, baseline_date=first_infusion, assessments=pairs, rules=rules)
