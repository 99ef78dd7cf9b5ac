"""Score questionnaire answers: total, severity band, safety flags, validity.

There is one implementation, :func:`score_frame`, vectorised over columns with numpy so that a
million check-ins score in tens of milliseconds; :func:`score` puts one record through the
same code. Both read every rule from the instrument registry
(:mod:`outcomes.instruments`) and the rule settings (:mod:`outcomes.rules`). Reading each
item's answers (usable, missing or wrong) and saying why a record is invalid is
:mod:`outcomes.answers`; adding, prorating, banding and flagging them is here.

Rules (``shared/clinical/scoring-spec.md``)
-------------------------------------------
* An answer is a whole number inside the item's range. A non-integral number, a string
  (even ``"2"``), a boolean or an out-of-range integer makes the whole record invalid
  (spec §1.2 [D]; MNCM treats decimal PHQ answers as invalidating the tool). A float that is
  exactly integral (``2.0``) is accepted as that integer.
* An absent key, ``None`` and ``NA`` all mean *missing*; keys the instrument does not define
  are ignored; unscored items (PHQ-9 item 10) affect nothing (spec §1.1, §2.1).
* Up to ``max_missing`` missing domains are prorated as
  ``round_half_up(sum * N / n) = (2*sum*N + n) // (2*n)`` in exact integers, and the flag
  ``prorated`` is added (spec §1.4; the mean-item convention of PROscorerTools ``scoreScale``).
* Invalid records have ``total`` and ``severity`` null, but safety flags are still computed
  from every safety item that is present and in range: an invalid form never hides a positive
  suicide item (spec §1.3 [D]).

References
----------
.. [1] Kroenke K, Spitzer RL, Williams JBW. The PHQ-9. J Gen Intern Med. 2001;16(9):606-613.
.. [2] Arrieta J et al. Validity and utility of the PHQ-9 ... J Clin Psychol. 2017;73(9):1076-1090
   (up to two missing PHQ-9 items replaced by the mean of the answered items).
.. [3] Rush AJ et al. The 16-item QIDS. Biol Psychiatry. 2003;54(5):573-583 (domain maxima).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.answers import (
    BoolArray,
    IntArray,
    ItemColumn,
    RequirementUnmet,
    answer_in,
    invalid_reasons,
    read_frame_answers,
    read_record_answers,
)
from outcomes.errors import ScoringError
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, InstrumentRules, Rules

PRORATED = "prorated"
"""Flag added when a total was prorated from the answered items."""


@dataclass(frozen=True)
class Score:
    """The score of one administration.

    Attributes
    ----------
    total : int or None
        Sum score (prorated if flagged so); ``None`` when invalid or the instrument has none.
    severity : str or None
        Severity band, or risk level for the C-SSRS screener; ``None`` when invalid.
    flags : tuple of str
        Safety and other flags, sorted. Computed even for an invalid record.
    valid : bool
        Whether the answers make a scorable record.
    errors : tuple of str
        Why the record is invalid, in words a clinician or patient can act on; empty if valid.
    """

    total: int | None
    severity: str | None
    flags: tuple[str, ...]
    valid: bool
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Scored:
    """Everything the scorer computes, before it is shaped for a caller."""

    total: IntArray
    valid: BoolArray
    prorated: BoolArray
    severity_codes: npt.NDArray[np.integer[Any]]  # -1 where there is no severity
    severity_labels: tuple[str, ...]
    flags: dict[str, BoolArray]
    items: dict[str, ItemColumn]
    missing_domains: npt.NDArray[np.int8]
    requirement_unmet: RequirementUnmet


def _score_arrays(
    instrument: Instrument, items: dict[str, ItemColumn], n: int, rules: InstrumentRules
) -> _Scored:

    # One dense pass per item column: add every value, and count unusable and missing
    # answers in int8 (bools viewed as int8 keep numpy on its fast same-type loop).
    # A row holds a wrong answer exactly when it has more unusable than missing answers.
    total = np.zeros(n, dtype=np.int64)
    n_unusable = np.zeros(n, dtype=np.int8)
    # When every unusable cell is a missing one (columns proven in range), no row can hold
    # a wrong answer and the missing cells need no count of their own.
    wrong_possible = any(c.unusable is not c.missing for c in items.values())
    n_missing = np.zeros(n, dtype=np.int8) if wrong_possible else n_unusable
    single = {domain.items[0] for domain in instrument.domains if len(domain.items) == 1}
    for key, column in items.items():
        if key in single:
            total += column.values
        n_unusable += column.unusable.view(np.int8)
        if wrong_possible:
            n_missing += column.missing.view(np.int8)
    invalid_answer = n_unusable > n_missing if wrong_possible else np.zeros(n, dtype=bool)

    # Take back what unusable cells added; only those few cells are visited.
    for key in single:
        column = items[key]
        gaps = np.flatnonzero(column.unusable)
        total[gaps] -= column.values[gaps]
    if single == set(items):
        missing_domains = n_unusable.copy()
    else:
        missing_domains = np.zeros(n, dtype=np.int8)
        for key in single:
            missing_domains += items[key].unusable.view(np.int8)
    for domain in instrument.domains:
        if len(domain.items) == 1:
            continue
        best = np.full(n, -1, dtype=np.int64)
        for key in domain.items:
            column = items[key]
            np.maximum(best, column.values, out=best, where=column.answered)
        present = best >= 0
        np.add(total, best, out=total, where=present)
        missing_domains += (~present).view(np.int8)

    requirement_unmet: RequirementUnmet = []
    unmet_any = np.zeros(n, dtype=bool)
    for index, requirement in enumerate(instrument.requirements):
        applies = np.ones(n, dtype=bool)
        if requirement.when is not None:
            gate = items[requirement.when.item]
            applies = gate.answered & (gate.values == requirement.when.equals)
        for key in requirement.items:
            unmet = applies & ~items[key].answered
            requirement_unmet.append((index, key, unmet))
            unmet_any |= unmet

    too_many_missing = missing_domains > rules.max_missing
    valid = ~(invalid_answer | unmet_any)
    if instrument.has_total:
        valid &= ~too_many_missing
    prorated = valid & (missing_domains > 0) if instrument.has_total else np.zeros(n, dtype=bool)
    rows = np.flatnonzero(prorated)
    if rows.size:
        n_domains = len(instrument.domains)
        answered_domains = n_domains - missing_domains[rows].astype(np.int64)
        sums = total[rows]
        # round half up in exact integers (spec §1.4); Python's round() would round half to even
        total[rows] = (2 * sums * n_domains + answered_domains) // (2 * answered_domains)

    flags: dict[str, BoolArray] = {}
    for safety in instrument.safety_items:
        column = items[safety.item]
        flags[safety.flag] = column.answered & (column.values >= rules.safety_threshold)
    for total_flag in instrument.total_flags:
        cutoff = (
            rules.total_flag_cutoff if rules.total_flag_cutoff is not None else total_flag.cutoff
        )
        flags[total_flag.flag] = valid & (total >= cutoff)

    severity_codes: npt.NDArray[np.integer[Any]] = np.full(n, -1, dtype=np.int8)
    severity_labels: tuple[str, ...] = ()
    if instrument.bands:
        severity_labels = tuple(band.label for band in instrument.bands)
        # A lookup table from every possible total (plus one slot for "invalid") to its band
        # is several times faster than a binary search per row.
        max_total = instrument.max_total or 0
        table = np.full(max_total + 1, -1, dtype=np.int8)
        for code, band in enumerate(instrument.bands):
            table[band.lower : band.upper + 1] = code
        severity_codes = np.take(table, total, mode="clip")
        severity_codes[np.flatnonzero(~valid)] = -1
    elif instrument.risk_levels:
        # Ordered least to most serious for the categorical; matched most serious first.
        severity_labels = tuple(level.level for level in reversed(instrument.risk_levels))
        level_code = np.full(n, -1, dtype=np.int8)
        for position, level in enumerate(instrument.risk_levels):
            holds = np.zeros(n, dtype=bool) if level.any_of else np.ones(n, dtype=bool)
            for clause in level.any_of:
                clause_holds = np.ones(n, dtype=bool)
                for condition in clause:
                    column = items[condition.item]
                    assumed = rules.assume_when_missing.get(condition.item)
                    met = column.answered & (column.values == condition.equals)
                    if assumed == condition.equals:
                        met |= ~column.answered
                    clause_holds &= met
                holds |= clause_holds
            newly = holds & (level_code < 0)
            level_code[newly] = len(instrument.risk_levels) - 1 - position
            if level.flag is not None:
                flags[level.flag] = newly
        severity_codes = np.where(valid, level_code, -1)

    return _Scored(
        total=total,
        valid=valid,
        prorated=prorated,
        severity_codes=severity_codes,
        severity_labels=severity_labels,
        flags=flags,
        items=items,
        missing_domains=missing_domains,
        requirement_unmet=requirement_unmet,
    )


def _prepare(
    instrument: str | Instrument, frame: object, rules: Rules | None
) -> tuple[Instrument, pd.DataFrame, InstrumentRules]:
    definition = get_instrument(instrument)
    if not isinstance(frame, pd.DataFrame):
        raise ScoringError(
            "score_frame needs a pandas DataFrame with one column per item, "
            f"got {type(frame).__name__}"
        )
    return definition, frame, (rules or DEFAULT_RULES).for_instrument(definition)


def score_frame(
    instrument: str | Instrument,
    frame: pd.DataFrame,
    *,
    rules: Rules | None = None,
    errors: bool = False,
) -> pd.DataFrame:
    """Score many administrations of one instrument at once.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id (``"phq9"``, ``"gad7"``, ``"qids_sr16"``, ``"madrs"``, ``"cssrs_screen"``,
        ``"pcl5"``) or a registry entry.
    frame : DataFrame
        One row per administration, one column per item key (``phq9_1`` ...). Missing answers
        are NA; absent columns are missing items; other columns are ignored. Nullable
        ``Int64`` columns are read without copying.
    rules : Rules, optional
        Rule settings; :data:`outcomes.rules.DEFAULT_RULES` (the spec's rules) by default.
    errors : bool, default False
        Add an ``errors`` column: a tuple of readable reasons, empty for valid rows.

    Returns
    -------
    DataFrame
        Same index as ``frame``, with columns ``total`` (nullable ``Int64``, NA when invalid or
        when the instrument has no total), ``severity`` (ordered categorical of the band labels
        or C-SSRS risk levels; NA when invalid), ``valid`` (bool), ``prorated`` (bool), and one
        bool column per flag the instrument can raise, named after the flag.

    Raises
    ------
    UnknownInstrumentError
        For an unknown instrument id (invalid *answers* never raise).

    Notes
    -----
    Vectorised: the cost is a handful of numpy passes per item column, with no Python loop
    per row (except for columns of mixed Python objects, which are read one value at a time).
    """
    definition, frame, instrument_rules = _prepare(instrument, frame, rules)
    n = len(frame)
    scored = _score_arrays(definition, read_frame_answers(definition, frame), n, instrument_rules)
    no_total = ~scored.valid if definition.has_total else np.ones(n, dtype=bool)
    total = pd.arrays.IntegerArray(scored.total, no_total)
    severity = pd.Categorical.from_codes(
        scored.severity_codes,  # type: ignore[arg-type]  # the stubs omit ndarray codes
        categories=pd.Index(scored.severity_labels),
        ordered=True,
    )
    result = pd.DataFrame(
        {
            "total": total,
            "severity": severity,
            "valid": scored.valid,
            "prorated": scored.prorated,
        },
        index=frame.index,
        copy=False,
    )
    for name in definition.flag_names:
        result[name] = scored.flags[name]
    if errors:
        row_errors: list[tuple[str, ...]] = [()] * n
        for row in np.flatnonzero(~scored.valid):
            row_errors[row] = invalid_reasons(
                definition,
                instrument_rules,
                answer_in(frame, int(row)),
                scored.items,
                scored.requirement_unmet,
                int(row),
            )
        result["errors"] = pd.Series(row_errors, index=frame.index, dtype=object)
    return result


def score(
    instrument: str | Instrument,
    items: Mapping[str, object],
    *,
    rules: Rules | None = None,
) -> Score:
    """Score one administration.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    items : Mapping[str, object]
        Item key to answer. Absent keys and ``None`` are missing; unknown keys are ignored.
    rules : Rules, optional
        Rule settings; the spec's rules by default.

    Returns
    -------
    Score
        ``total``, ``severity``, ``flags`` (sorted; includes ``"prorated"`` when prorated),
        ``valid`` and readable ``errors``. Invalid answers never raise.

    Notes
    -----
    Runs the one-row case of :func:`score_frame`, so the two always agree.
    """
    if not isinstance(items, Mapping):
        raise ScoringError(
            f"items must be a mapping of item key to answer, got {type(items).__name__}"
        )
    definition = get_instrument(instrument)
    instrument_rules = (rules or DEFAULT_RULES).for_instrument(definition)
    scored = _score_arrays(definition, read_record_answers(definition, items), 1, instrument_rules)
    valid = bool(scored.valid[0])
    flags = {name for name, raised in scored.flags.items() if raised[0]}
    if scored.prorated[0]:
        flags.add(PRORATED)
    code = int(scored.severity_codes[0])
    return Score(
        total=int(scored.total[0]) if valid and definition.has_total else None,
        severity=scored.severity_labels[code] if code >= 0 else None,
        flags=tuple(sorted(flags)),
        valid=valid,
        errors=()
        if valid
        else invalid_reasons(
            definition, instrument_rules, items.get, scored.items, scored.requirement_unmet, 0
        ),
    )
