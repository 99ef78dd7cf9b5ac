"""Score questionnaire answers: total, severity band, safety flags, validity.

There is one implementation, :func:`score_frame`, vectorised over columns with numpy so that a
million check-ins score in tens of milliseconds; :func:`score` puts one record through the
same code. Both read every rule from the instrument registry
(:mod:`outcomes.instruments`) and the rule settings (:mod:`outcomes.rules`).

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

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.errors import ScoringError
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, InstrumentRules, Rules

PRORATED = "prorated"
"""Flag added when a total was prorated from the answered items."""

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


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
class _ItemColumn:
    """One item's answers, read once: integer values and where they can be used."""

    values: IntArray  # meaningful only where the answer is usable
    missing: BoolArray  # absent, None or NA
    unusable: BoolArray  # missing, or present but not an allowed answer

    @property
    def answered(self) -> BoolArray:
        """Present and an allowed answer."""
        return ~self.unusable

    @property
    def invalid(self) -> BoolArray:
        """Present but not an allowed answer."""
        return self.unusable & ~self.missing


def _masked_parts(series: pd.Series) -> tuple[np.ndarray, BoolArray] | None:
    """Zero-copy data and mask of a pandas nullable (masked) array, if it is one."""
    array = series.array
    data = getattr(array, "_data", None)
    mask = getattr(array, "_mask", None)
    if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):
        return data, mask
    return None


def _all_in_range(values: np.ndarray, low: int, high: int) -> bool:
    """Whether every stored value (masked cells included) lies in ``low..high``."""
    if not len(values):
        return True
    if low == 0 and values.dtype.kind == "i":
        # Negative numbers read as unsigned are huge: one max() checks both ends.
        unsigned = values.view(np.dtype(f"u{values.dtype.itemsize}"))
        return bool(unsigned.max() <= high)
    return bool(values.min() >= low and values.max() <= high)


def _out_of_range(values: np.ndarray, low: int, high: int) -> BoolArray:
    if low == 0 and values.dtype.kind == "i":
        # One unsigned comparison finds negatives and values above the range alike.
        unsigned = values.view(np.dtype(f"u{values.dtype.itemsize}"))
        above: BoolArray = np.greater(unsigned, high)
        return above
    outside: BoolArray = np.less(values, low) | np.greater(values, high)
    return outside


def _classify_objects(raw: Sequence[object] | np.ndarray, low: int, high: int) -> _ItemColumn:
    """Read answers of mixed Python types (one record from :func:`score`, or object columns)."""
    n = len(raw)
    values = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=bool)
    unusable = np.ones(n, dtype=bool)
    for row, value in enumerate(raw):
        integer = _as_answer(value)
        if isinstance(integer, _Missing):
            missing[row] = True
        elif integer is not None and low <= integer <= high:
            values[row] = integer
            unusable[row] = False
    return _ItemColumn(values, missing, unusable)


class _Missing:
    pass


_MISSING = _Missing()


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _as_answer(value: object) -> int | _Missing | None:
    """The integer an answer stands for, ``None`` if it is no answer, or ``_MISSING``."""
    if _is_missing(value):
        return _MISSING
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value):
        return int(value)
    return None


def _read_item(column: pd.Series | None, n: int, low: int, high: int) -> _ItemColumn:
    if column is None:
        everywhere = np.ones(n, dtype=bool)
        return _ItemColumn(np.zeros(n, dtype=np.int64), everywhere, everywhere)
    dtype = column.dtype
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        parts = _masked_parts(column)
        if parts is not None:
            values, missing = parts
        else:
            values, missing = column.to_numpy(), np.zeros(n, dtype=bool)
        if _all_in_range(values, low, high):
            # The usual case: one read-only reduction proves the whole column in range, so
            # only missing cells are unusable (the mask is shared, never written to).
            unusable = missing
        else:
            unusable = _out_of_range(values, low, high)
            unusable |= missing
        if values.dtype != np.int64:
            values = values.astype(np.int64)
        return _ItemColumn(values, missing, unusable)
    if kind == "b":
        missing = column.isna().to_numpy(dtype=bool)
        return _ItemColumn(np.zeros(n, dtype=np.int64), missing, np.ones(n, dtype=bool))
    if kind == "f":
        floats = column.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(floats)
        finite = np.isfinite(floats)
        whole = finite & (np.floor(floats) == floats) & (floats >= low) & (floats <= high)
        values = np.where(whole, floats, 0).astype(np.int64)
        return _ItemColumn(values, missing, ~whole)
    return _classify_objects(column.to_numpy(dtype=object), low, high)


@dataclass(frozen=True)
class _Scored:
    """Everything the scorer computes, before it is shaped for a caller."""

    total: IntArray
    valid: BoolArray
    prorated: BoolArray
    severity_codes: npt.NDArray[np.integer[Any]]  # -1 where there is no severity
    severity_labels: tuple[str, ...]
    flags: dict[str, BoolArray]
    items: dict[str, _ItemColumn]
    missing_domains: npt.NDArray[np.int8]
    requirement_unmet: list[tuple[int, str, BoolArray]]


def _frame_items(instrument: Instrument, frame: pd.DataFrame) -> dict[str, _ItemColumn]:
    n = len(frame)
    low, high = instrument.min_value, instrument.max_value
    columns = set(frame.columns)
    return {
        key: _read_item(frame[key] if key in columns else None, n, low, high)
        for key in instrument.scored_item_keys
    }


def _record_items(instrument: Instrument, record: Mapping[str, object]) -> dict[str, _ItemColumn]:
    # One record's answers read as one-row columns directly: building a DataFrame for them
    # cost more than scoring them.
    low, high = instrument.min_value, instrument.max_value
    return {
        key: _classify_objects([record.get(key)], low, high) for key in instrument.scored_item_keys
    }


def _score_arrays(
    instrument: Instrument, items: dict[str, _ItemColumn], n: int, rules: InstrumentRules
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

    requirement_unmet: list[tuple[int, str, BoolArray]] = []
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


def _describe_invalid_answer(key: str, value: object, low: int, high: int) -> str:
    allowed = f"answers are whole numbers from {low} to {high}"
    if isinstance(value, bool | np.bool_):
        return f"{key}: {value!r} is a yes/no value, not an answer; {allowed}"
    if isinstance(value, str):
        return f"{key}: {value!r} is text, not a number; {allowed}"
    if isinstance(value, numbers.Integral):
        return f"{key}: {value} is outside the range {low} to {high}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number == int(number):
            return f"{key}: {value} is outside the range {low} to {high}"
        return f"{key}: {value!r} is not a whole number; {allowed}"
    return f"{key}: {value!r} ({type(value).__name__}) is not an answer; {allowed}"


def _answer_in(frame: pd.DataFrame, row: int) -> Callable[[str], object]:
    # Column by column: a whole row read at once would convert 5 to 5.0 next to a float.
    def answer(key: str) -> object:
        value: object = frame[key].iloc[row]
        return value

    return answer


def _row_errors(
    instrument: Instrument,
    rules: InstrumentRules,
    answer: Callable[[str], object],
    scored: _Scored,
    row: int,
) -> tuple[str, ...]:
    """Readable reasons why one row is invalid (only ever called for invalid rows);
    ``answer(key)`` is the row's answer as given."""
    errors: list[str] = []
    low, high = instrument.min_value, instrument.max_value
    for key, column in scored.items.items():
        if column.invalid[row]:
            errors.append(_describe_invalid_answer(key, answer(key), low, high))
    # Only domains left blank count here: a wrong answer has its own message above.
    unanswered = [
        domain
        for domain in instrument.domains
        if all(scored.items[key].missing[row] for key in domain.items)
    ]
    if instrument.has_total and len(unanswered) > rules.max_missing:
        names = ", ".join(
            d.items[0] if len(d.items) == 1 else f"{d.name} ({', '.join(d.items)})"
            for d in unanswered
        )
        what = "items" if all(len(d.items) == 1 for d in instrument.domains) else "domains"
        limit = (
            f"at most {rules.max_missing} may be missing"
            if rules.max_missing
            else f"every one of the {len(instrument.domains)} {what} must be answered"
        )
        errors.append(
            f"{len(unanswered)} of {len(instrument.domains)} {what} unanswered ({names}); {limit}"
        )
    for index, key, unmet in scored.requirement_unmet:
        if unmet[row] and not scored.items[key].invalid[row]:
            when = instrument.requirements[index].when
            reason = (
                "it is required"
                if when is None
                else (f"it is required when {when.item} is {when.equals}")
            )
            errors.append(f"{key} is unanswered; {reason}")
    return tuple(errors)


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
    scored = _score_arrays(definition, _frame_items(definition, frame), n, instrument_rules)
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
            row_errors[row] = _row_errors(
                definition, instrument_rules, _answer_in(frame, int(row)), scored, int(row)
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
    scored = _score_arrays(definition, _record_items(definition, items), 1, instrument_rules)
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
        errors=() if valid else _row_errors(definition, instrument_rules, items.get, scored, 0),
    )
