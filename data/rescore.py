"""Recompute stored scores from the stored answers, after a rule or scoring change.

Item answers are the source of truth (``DESIGN.md``); total, severity, flags and validity
are derived and stamped with :data:`data.clinic.SCORING_VERSION`. When a clinic changes a
rule (``clinic_settings.rule_overrides``, e.g. PHQ-9 ``max_missing`` from 2 to 1) or a new
release scores differently, :func:`rescore` brings every stored record in line with the
clinic's current rules, one vectorised :func:`outcomes.score_frame` per instrument.

What a clinic should expect
---------------------------
* **Answers are never changed.** Only derived values and the version stamp are.
* **A record that the current rules do not allow stays, marked invalid**
  (``valid=False``, ``total`` and ``severity`` empty), rather than being deleted: the answers
  are still the patient's answers, invalid records are left out of totals and outcome
  statistics, and a later rule change can make them valid again. Its safety flags are still
  computed (scoring never hides a positive self-harm answer).
* **Safety alerts are never removed** (they record what was seen and done). A rule change
  that raises a safety flag on a stored answer creates its alert, with the importers' rule:
  answers older than 14 days get an alert that is already acknowledged as history.
* **Corrected check-ins are rescored too, and stay corrected** (issue 12): a patient's
  correction chain (``corrects_id``, ``superseded_at``) is not touched, and an alert raised
  by answers that were later corrected stays as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.clinic import SCORING_VERSION, clinic_config
from data.course_state import build_clinic
from data.models import Assessment, SafetyAlert, utcnow
from data.records.alerts import HISTORICAL_ALERT_AGE, alerts_for_answers, write_alerts
from outcomes import PRORATED, get_instrument, score_frame
from outcomes.instruments import Instrument
from outcomes.instruments.safety import safety_alert_kinds
from outcomes.rules import Rules

__all__ = ["RescoreSummary", "rescore"]

_UPDATE_CHUNK = 10_000


@dataclass(frozen=True)
class RescoreSummary:
    """What :func:`rescore` found and changed.

    Attributes
    ----------
    examined : int
        Stored records scored again.
    changed : int
        Records whose total, severity, flags or validity changed.
    now_invalid : int
        Valid records that the current rules do not allow (kept, marked invalid).
    now_valid : int
        Invalid records that the current rules allow.
    restamped : int
        Records whose values were right but carried another scoring version.
    alerts_created : int
        Safety alerts for safety flags raised by the new scores.
    changed_by_instrument : Mapping of str to int
        ``changed`` per instrument id (instruments with changes only).
    scoring_version : str
        The version now stamped on every record of the clinic.
    """

    examined: int
    changed: int
    now_invalid: int
    now_valid: int
    restamped: int
    alerts_created: int
    changed_by_instrument: Mapping[str, int] = field(default_factory=dict)
    scoring_version: str = SCORING_VERSION


@dataclass(frozen=True)
class _Outcome:
    changed: int
    now_invalid: int
    now_valid: int
    restamped: int
    alerts: list[tuple[int, int, dt.datetime, tuple[str, ...]]]


def _flag_tuples(scored: pd.DataFrame, names: list[str]) -> list[tuple[str, ...]]:
    raised = np.column_stack([scored[name].to_numpy(dtype=bool) for name in names])
    flags: list[tuple[str, ...]] = [()] * len(scored)
    for row in np.flatnonzero(raised.any(axis=1)):
        flags[row] = tuple(names[column] for column in np.flatnonzero(raised[row]))
    return flags


def _rescore_instrument(
    session: Session, actor: Actor, definition: Instrument, rules: Rules
) -> _Outcome:
    stored = session.execute(
        select(
            Assessment.id,
            Assessment.patient_id,
            Assessment.administered_at,
            Assessment.answers,
            Assessment.total,
            Assessment.severity,
            Assessment.flags,
            Assessment.valid,
            Assessment.scoring_version,
        )
        .where(Assessment.clinic_id == actor.clinic_id, Assessment.instrument == definition.id)
        .order_by(Assessment.id)
    ).all()
    if not stored:
        return _Outcome(0, 0, 0, 0, [])
    # Answers as stored: numbers (NaN where unanswered), or whatever else is there, which
    # scoring then refuses by name.
    answers = pd.DataFrame.from_records(
        [dict(row.answers or {}) for row in stored], columns=list(definition.scored_item_keys)
    )
    scored = score_frame(definition, answers, rules=rules)
    totals = scored["total"].astype(object).where(scored["total"].notna(), None).tolist()  # type: ignore[call-overload]
    severities = (
        scored["severity"].astype(object).where(scored["severity"].notna(), None).tolist()  # type: ignore[call-overload]
    )
    names = sorted((*definition.flag_names, PRORATED))
    flags = _flag_tuples(scored, names)
    valid = scored["valid"].to_numpy(dtype=bool).tolist()
    safety = set(safety_alert_kinds(definition, definition.flag_names))

    updates: list[dict[str, Any]] = []
    new_alerts: list[tuple[int, int, dt.datetime, tuple[str, ...]]] = []
    changed = now_invalid = now_valid = restamped = 0
    for row, total, severity, flag_tuple, is_valid in zip(
        stored, totals, severities, flags, valid, strict=True
    ):
        old_flags = tuple(row.flags or ())
        differs = (
            row.total != total
            or row.severity != severity
            or old_flags != flag_tuple
            or bool(row.valid) != is_valid
        )
        if not differs and row.scoring_version == SCORING_VERSION:
            continue
        updates.append(
            {
                "id": row.id,
                "total": total,
                "severity": severity,
                "flags": list(flag_tuple),
                "valid": is_valid,
                "scoring_version": SCORING_VERSION,
            }
        )
        if not differs:
            restamped += 1
            continue
        changed += 1
        now_invalid += bool(row.valid) and not is_valid
        now_valid += is_valid and not bool(row.valid)
        raised = tuple(kind for kind in flag_tuple if kind in safety and kind not in old_flags)
        if raised:
            new_alerts.append((row.id, row.patient_id, row.administered_at, raised))
    for start in range(0, len(updates), _UPDATE_CHUNK):
        # ORM bulk UPDATE by primary key: one executemany per chunk.
        session.execute(update(Assessment), updates[start : start + _UPDATE_CHUNK])
    return _Outcome(changed, now_invalid, now_valid, restamped, new_alerts)


def _without_existing_alerts(
    session: Session, alerts: list[tuple[int, int, dt.datetime, tuple[str, ...]]]
) -> list[tuple[int, int, dt.datetime, tuple[str, ...]]]:
    """Drop kinds that already have an alert for the same answer (from an earlier rescore)."""
    if not alerts:
        return alerts
    existing: set[tuple[int, str]] = set()
    ids = [alert[0] for alert in alerts]
    for start in range(0, len(ids), 1000):
        existing.update(
            session.execute(
                select(SafetyAlert.assessment_id, SafetyAlert.kind).where(
                    SafetyAlert.assessment_id.in_(ids[start : start + 1000])
                )
            )
        )
    kept = []
    for assessment_id, patient_id, answered_at, kinds in alerts:
        new = tuple(kind for kind in kinds if (assessment_id, kind) not in existing)
        if new:
            kept.append((assessment_id, patient_id, answered_at, new))
    return kept


def rescore(
    session: Session,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> RescoreSummary:
    """Recompute every stored score of the actor's clinic with the clinic's current rules.

    Parameters
    ----------
    session : Session
        The caller's session (one transaction); nothing is committed here.
    actor : Actor
        An administrator of the clinic or the system actor (command line): rescoring changes
        derived values of every patient, but reads no individual record out.
    now : datetime, optional
        The time of the rescore (for new alerts); now by default.
    historical_after : timedelta, default 14 days
        New safety alerts for answers older than this are created acknowledged as history.

    Returns
    -------
    RescoreSummary

    Raises
    ------
    AccessDenied
        If the actor is not an administrator or the system.

    Notes
    -----
    Vectorised per instrument (one :func:`outcomes.score_frame` over all of the clinic's
    records of it); only rows that differ are written, with an ORM bulk ``UPDATE`` by
    primary key. A record the current rules do not allow is kept with ``valid=False`` and
    no total or severity (see the module notes). One audit event ``rescore`` for the
    clinic, none per patient: no patient's record is read out.
    """
    ensure_role(session, actor, "administrator", "system")
    now = now or utcnow()
    rules = clinic_config(session, actor.clinic_id).rules
    instruments = session.scalars(
        select(Assessment.instrument)
        .where(Assessment.clinic_id == actor.clinic_id)
        .distinct()
        .order_by(Assessment.instrument)
    ).all()
    examined = session.scalar(select(func.count()).where(Assessment.clinic_id == actor.clinic_id))
    changed = now_invalid = now_valid = restamped = 0
    by_instrument: dict[str, int] = {}
    alerts: list[tuple[int, int, dt.datetime, tuple[str, ...]]] = []
    for instrument_id in instruments:
        outcome = _rescore_instrument(session, actor, get_instrument(instrument_id), rules)
        changed += outcome.changed
        now_invalid += outcome.now_invalid
        now_valid += outcome.now_valid
        restamped += outcome.restamped
        alerts.extend(outcome.alerts)
        if outcome.changed:
            by_instrument[instrument_id] = outcome.changed
    new_alerts = alerts_for_answers(
        clinic_id=actor.clinic_id,
        answers=_without_existing_alerts(session, alerts),
        now=now,
        historical_after=historical_after,
    )
    write_alerts(session, new_alerts)
    created = len(new_alerts)
    audit.record(session, actor=actor, action=audit.Action.RESCORE)
    # Every patient of the clinic, not only those whose scores changed: a rescore is what
    # follows a change of the clinic's rules, and a course rule (induction infusions, the
    # response threshold) changes courses without changing any score. A rescore reads every
    # record of the clinic already; the rebuild is of the same order (chunked).
    build_clinic(session, clinic_id=actor.clinic_id)
    session.flush()
    return RescoreSummary(
        examined=int(examined or 0),
        changed=changed,
        now_invalid=now_invalid,
        now_valid=now_valid,
        restamped=restamped,
        alerts_created=created,
        changed_by_instrument=by_instrument,
    )
