"""Questionnaire answers for the planned check-ins: PHQ-9, GAD-7 and QIDS-SR16.

Each check-in's expected total (from its :class:`~data.demo.plan.Plan`) plus noise is split
into item answers, then scored by :func:`outcomes.score_frame` exactly as a check-in would
be, so that totals, severities and flags always match the answers. Everything is drawn
from one ``numpy.random.Generator`` in a fixed order: the same seed, the same answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from data.demo.plan import Checkin, Plan
from outcomes import PRORATED, get_instrument, score_frame
from outcomes.instruments import Instrument
from outcomes.instruments.safety import safety_alert_kinds

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_PHQ9_NOISE = 1.7
_GAD7_NOISE = 1.5
_QIDS_NOISE = 1.5

# Relative weight of each PHQ-9 item 1-8 (item 9 is drawn separately), GAD-7 items 1-7 and
# the eight QIDS-SR16 domains other than suicidal ideation: sleep and energy complaints are
# the most common, psychomotor change the least.
_PHQ9_ITEM_WEIGHTS = (1.2, 1.2, 1.3, 1.4, 0.9, 1.0, 1.1, 0.6)
_GAD7_ITEM_WEIGHTS = (1.2, 1.0, 1.3, 1.1, 0.8, 1.0, 0.8)
_QIDS_DOMAIN_WEIGHTS = (1.3, 1.2, 0.9, 1.0, 1.0, 1.1, 1.3, 0.7)
_QIDS_DOMAINS = (
    (1, 2, 3, 4),  # sleep
    (5,),  # mood
    (6, 7, 8, 9),  # appetite/weight
    (10,),  # concentration
    (11,),  # self-view
    (13,),  # interest
    (14,),  # energy
    (15, 16),  # psychomotor
)


def _distribute(
    rng: np.random.Generator, totals: IntArray, weights: FloatArray, cap: int
) -> IntArray:
    """Split each row's total into item answers of at most ``cap``, in proportion to weights.

    One unit at a time goes to an item chosen with probability proportional to its weight
    among the items not yet at ``cap`` (a Gumbel-max draw, vectorised over rows).
    """
    rows, items = weights.shape
    answers = np.zeros((rows, items), dtype=np.int64)
    remaining = np.minimum(totals, cap * items).astype(np.int64)
    log_weights = np.log(weights)
    while True:
        need = np.flatnonzero(remaining > 0)
        if not len(need):
            return answers
        keys = log_weights[need] - np.log(-np.log(rng.random((len(need), items))))
        keys[answers[need] >= cap] = -np.inf
        answers[need, keys.argmax(axis=1)] += 1
        remaining[need] -= 1


def _row_weights(
    rng: np.random.Generator, base: Sequence[float], profiles: FloatArray, owners: IntArray
) -> FloatArray:
    """Item weights per row: the patient's profile times a little week-to-week noise."""
    noise = rng.lognormal(0.0, 0.35, size=(len(owners), len(base)))
    weights: FloatArray = np.asarray(base) * profiles[owners] * noise
    return weights


def _targets(
    rng: np.random.Generator,
    expected: FloatArray,
    exact: npt.NDArray[np.bool_],
    sd: float,
    top: int,
) -> IntArray:
    noisy = expected + rng.normal(0.0, sd, size=len(expected))
    chosen = np.where(exact, expected, noisy)
    targets: IntArray = np.clip(np.rint(chosen), 0, top).astype(np.int64)
    return targets


@dataclass(frozen=True)
class _Scored:
    """Scored answers of one instrument, in the order of the answers."""

    answers: list[dict[str, int]]
    totals: list[int | None]
    severities: list[str | None]
    flags: list[list[str]]
    valid: list[bool]


def _score(instrument: Instrument, answers: list[dict[str, int]]) -> _Scored:
    """Score stored answers exactly as a check-in would (one vectorised pass)."""
    frame = pd.DataFrame(
        {
            key: pd.array([row.get(key) for row in answers], dtype="Int64")
            for key in instrument.item_keys
        }
    )
    result = score_frame(instrument, frame)
    totals = [None if pd.isna(v) else int(v) for v in result["total"]]
    severities = [None if pd.isna(v) else str(v) for v in result["severity"]]
    flag_columns = {name: result[name].to_numpy(dtype=bool) for name in instrument.flag_names}
    prorated = result["prorated"].to_numpy(dtype=bool)
    flags = []
    for row in range(len(answers)):
        raised = {name for name, column in flag_columns.items() if column[row]}
        if prorated[row]:
            raised.add(PRORATED)
        flags.append(sorted(raised))
    return _Scored(
        answers, totals, severities, flags, [bool(v) for v in result["valid"].to_numpy()]
    )


def _phq9_answers(
    rng: np.random.Generator, plans: list[Plan], rows: list[tuple[int, Checkin]]
) -> tuple[list[dict[str, int]], IntArray]:
    owners = np.array([owner for owner, _ in rows], dtype=np.int64)
    expected = np.array([checkin.depression for _, checkin in rows])
    exact = np.array([checkin.exact for _, checkin in rows], dtype=bool)
    forced = np.array([checkin.force_item9 for _, checkin in rows], dtype=bool)
    totals = _targets(rng, expected, exact, _PHQ9_NOISE, 27)
    suicidality = np.array([plan.suicidality for plan in plans])[owners]
    chance = suicidality * 0.4 / (1 + np.exp(-(totals - 15) / 2.5))
    draw = rng.random(len(rows))
    item9 = np.where(rng.random(len(rows)) < chance, 1 + (draw < 0.2) + (draw < 0.04), 0)
    item9 = np.where(forced, np.maximum(item9, 1), item9)
    item9 = np.minimum(np.maximum(item9, totals - 24), totals).astype(np.int64)
    profiles = rng.gamma(4.0, 0.25, size=(len(plans), 8))
    rest = _distribute(
        rng, totals - item9, _row_weights(rng, _PHQ9_ITEM_WEIGHTS, profiles, owners), 3
    )
    difficulty = np.clip(np.rint(totals / 7 + rng.normal(0, 0.5, len(rows))), 0, 3)
    answers = [
        {f"phq9_{i + 1}": int(value) for i, value in enumerate(items)}
        | {"phq9_9": int(nine), "phq9_10": int(ten)}
        for items, nine, ten in zip(rest.tolist(), item9.tolist(), difficulty.tolist(), strict=True)
    ]
    return answers, item9


def _gad7_answers(
    rng: np.random.Generator, plans: list[Plan], rows: list[tuple[int, Checkin]]
) -> list[dict[str, int]]:
    owners = np.array([owner for owner, _ in rows], dtype=np.int64)
    expected = np.array([checkin.anxiety for _, checkin in rows])
    exact = np.array([checkin.exact for _, checkin in rows], dtype=bool)
    totals = _targets(rng, expected, exact, _GAD7_NOISE, 21)
    profiles = rng.gamma(4.0, 0.25, size=(len(plans), 7))
    items = _distribute(rng, totals, _row_weights(rng, _GAD7_ITEM_WEIGHTS, profiles, owners), 3)
    return [{f"gad7_{i + 1}": int(v) for i, v in enumerate(row)} for row in items.tolist()]


def _qids_answers(
    rng: np.random.Generator,
    plans: list[Plan],
    rows: list[tuple[int, Checkin]],
    suicidal: IntArray,
) -> list[dict[str, int]]:
    """QIDS-SR16 answers whose nine domains sum to the target; item 12 mirrors PHQ-9 item 9."""
    owners = np.array([owner for owner, _ in rows], dtype=np.int64)
    expected = np.array([checkin.depression * 0.95 for _, checkin in rows])
    totals = _targets(rng, expected, np.zeros(len(rows), dtype=bool), _QIDS_NOISE, 27)
    suicidal = np.minimum(suicidal, totals)
    profiles = rng.gamma(4.0, 0.25, size=(len(plans), 8))
    domains = _distribute(
        rng, totals - suicidal, _row_weights(rng, _QIDS_DOMAIN_WEIGHTS, profiles, owners), 3
    )
    # Which item carries each max-domain is a trait of the patient (e.g. early waking).
    sleep_item = rng.choice((1, 2, 3), size=len(plans), p=(0.45, 0.35, 0.2))
    appetite_item = rng.choice((6, 7), size=len(plans), p=(0.65, 0.35))
    psychomotor_item = rng.choice((15, 16), size=len(plans))
    lesser = rng.random((len(rows), 4))
    answers = []
    for row, (owner, values) in enumerate(zip(owners.tolist(), domains.tolist(), strict=True)):
        answer: dict[str, int] = {}
        for domain, (items, value) in enumerate(zip(_QIDS_DOMAINS, values, strict=True)):
            if len(items) == 1:
                answer[f"qids_{items[0]}"] = value
            elif domain == 0:
                main = int(sleep_item[owner])
                for position, item in enumerate((1, 2, 3, 4)):
                    other = 0 if item == 4 else int(lesser[row, position] * (value + 1))
                    answer[f"qids_{item}"] = value if item == main else other
            elif domain == 2:
                main = int(appetite_item[owner])
                weight_item = 8 if main == 6 else 9
                answer[f"qids_{main}"] = value
                answer[f"qids_{weight_item}"] = int(lesser[row, 0] * (value + 1))
            else:
                main = int(psychomotor_item[owner])
                answer[f"qids_{main}"] = value
                answer[f"qids_{31 - main}"] = int(lesser[row, 1] * (value + 1))
        answer["qids_12"] = int(suicidal[row])
        answers.append(dict(sorted(answer.items(), key=lambda kv: int(kv[0][5:]))))
    return answers


class ScoredAnswers(NamedTuple):
    """One questionnaire answered at a planned check-in, scored, not yet stored.

    ``owner`` is the index of the patient's plan; ``alert_kinds`` the safety alerts the
    answers raise (:func:`outcomes.instruments.safety.safety_alert_kinds`); ``left_open``
    whether the demo leaves them unacknowledged. A named tuple: the default clinic makes a
    few thousand, ``--patients 10000`` a quarter of a million.
    """

    owner: int
    instrument: str
    administered_at: dt.datetime
    answers: dict[str, int]
    total: int | None
    severity: str | None
    flags: list[str]
    valid: bool
    alert_kinds: tuple[str, ...]
    left_open: bool


def scored_checkins(rng: np.random.Generator, plans: list[Plan]) -> list[ScoredAnswers]:
    """Every planned check-in's questionnaires, answered and scored.

    A PHQ-9 at the check-in's time, a GAD-7 a minute later and, where planned, a QIDS-SR16
    three minutes later: all PHQ-9s first, then all GAD-7s, then the QIDS-SR16s.
    """
    rows = [(owner, checkin) for owner, plan in enumerate(plans) for checkin in plan.checkins]
    phq9, gad7, qids = (get_instrument(i) for i in ("phq9", "gad7", "qids_sr16"))
    phq9_answers, item9 = _phq9_answers(rng, plans, rows)
    gad7_answers = _gad7_answers(rng, plans, rows)
    qids_positions = [position for position, (_, checkin) in enumerate(rows) if checkin.qids]
    qids_answers = _qids_answers(
        rng,
        plans,
        [rows[position] for position in qids_positions],
        item9[qids_positions] if qids_positions else np.zeros(0, dtype=np.int64),
    )
    batches = (
        (phq9, _score(phq9, phq9_answers), list(range(len(rows))), 0),
        (gad7, _score(gad7, gad7_answers), list(range(len(rows))), 1),
        (qids, _score(qids, qids_answers), qids_positions, 3),
    )
    scored: list[ScoredAnswers] = []
    for instrument, result, positions, minutes_later in batches:
        for row, position in enumerate(positions):
            owner, checkin = rows[position]
            scored.append(
                ScoredAnswers(
                    owner=owner,
                    instrument=instrument.id,
                    administered_at=checkin.moment + dt.timedelta(minutes=minutes_later),
                    answers=result.answers[row],
                    total=result.totals[row],
                    severity=result.severities[row],
                    flags=result.flags[row],
                    valid=result.valid[row],
                    alert_kinds=safety_alert_kinds(instrument, tuple(result.flags[row])),
                    left_open=checkin.force_item9 and instrument is phq9,
                )
            )
    return scored
