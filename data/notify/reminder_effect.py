"""Check-in completeness before and after the clinic switched reminders on (issue 14).

The same weekly completeness as the outcomes page (:func:`outcomes.completeness.
weekly_completeness_from_days`, on the stored course state read by
:func:`data.records.cohort.cohort_courses`), for the ``weeks`` whole weeks before
``reminders_on_since`` and the whole weeks after it that have ended (at most ``weeks``). The
weeks are laid so that one ends the day before the switch: no week mixes the two.

Two numbers (checked in / expected over each period) and the weekly series. It shows what
happened, not why: patients, their courses and the season change too, and a demo clinic's
check-ins are synthetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from data.access import Actor, ensure_role
from data.clinic import clinic_config
from data.errors import InvalidInput
from data.models import ClinicSettings, utcnow
from data.records.cohort import cohort_courses
from outcomes.completeness import first_expected_from, weekly_completeness_from_days

__all__ = ["ReminderEffect", "reminder_completeness"]

MAX_WEEKS = 26


@dataclass(frozen=True)
class ReminderEffect:
    """Completeness before and after reminders were switched on.

    ``since`` is the switch (None: reminders are off, and nothing else is filled);
    ``before`` and ``after`` are the shares checked in (received / expected over the
    period's weeks; None when nobody was expected, or no week after has ended yet);
    ``weekly`` is :data:`outcomes.completeness.WEEKLY_COLUMNS` plus ``period``
    (``"before"`` or ``"after"``), oldest first; ``instrument`` is the one counted.
    """

    since: dt.datetime | None
    instrument: str
    before: float | None
    after: float | None
    weekly: pd.DataFrame


def _share(weeks: pd.DataFrame) -> float | None:
    expected = int(weeks["expected"].sum())
    return None if expected == 0 else float(weeks["received"].sum()) / expected


def reminder_completeness(
    session: Session, *, actor: Actor, weeks: int = 8, today: dt.date | None = None
) -> ReminderEffect:
    """Weekly check-in completeness of the clinic's first check-in instrument in the
    ``weeks`` weeks before reminders were switched on and up to ``weeks`` weeks after
    (the clinic's aggregates: its care team, administrators and the operator).

    Reads the course state as the outcomes page does (audited there as a view of the
    cohort). ``today`` (UTC) bounds the weeks after; today by default.
    """
    ensure_role(session, actor, "clinician", "administrator", "system")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput([f"compare 1 to {MAX_WEEKS} weeks before and after"])
    instrument = clinic_config(session, actor.clinic_id).checkin_instruments[0]
    settings = session.get(ClinicSettings, actor.clinic_id)
    since = settings.reminders_on_since if settings is not None else None
    empty = pd.DataFrame(
        columns=["week_start", "week_end", "expected", "received", "missing", "share", "period"]
    )
    if since is None:
        return ReminderEffect(None, instrument, None, None, empty)
    today = today or utcnow().date()
    switch_day = since.astimezone(dt.UTC).date()
    after_weeks = min(weeks, max((today - switch_day).days + 1, 0) // 7)
    last_day = switch_day + dt.timedelta(days=7 * after_weeks - 1)
    total = weeks + after_weeks
    courses = cohort_courses(
        session,
        actor=actor,
        instrument=instrument,
        checkin_days_from=first_expected_from(last_day, weeks=total),
    )
    weekly = weekly_completeness_from_days(courses, today=last_day, weeks=total)
    weekly["period"] = np.where(
        pd.to_datetime(weekly["week_end"]) < pd.Timestamp(switch_day), "before", "after"
    )
    before = weekly[weekly["period"] == "before"]
    after = weekly[weekly["period"] == "after"]
    return ReminderEffect(since, instrument, _share(before), _share(after), weekly)
