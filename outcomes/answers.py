"""Reading the answers of a questionnaire: which are usable, which are missing, which are wrong.

:mod:`outcomes.scoring` adds and bands the answers this module reads; here is everything about
one item's answers on their own (spec §1.1-§1.2 of ``shared/clinical/scoring-spec.md``):

* an answer is a whole number inside the item's range; a non-integral number, a string (even
  ``"2"``), a boolean or an out-of-range integer is *present but wrong*, and a float that is
  exactly integral (``2.0``) is that integer;
* an absent key or column, ``None``, ``NaN`` and ``NA`` are *missing*;
* the reasons a record is invalid, in words a clinician or patient can act on.

A column is read in one numpy pass when its dtype allows (nullable ``Int64`` without copying),
and value by value only for columns of mixed Python objects or a single record.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.instruments import Instrument
from outcomes.rules import InstrumentRules

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
RequirementUnmet = list[tuple[int, str, BoolArray]]
"""For each (requirement index, item key): the rows where that required item is unanswered."""


@dataclass(frozen=True)
class ItemColumn:
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


def _classify_objects(raw: Sequence[object] | np.ndarray, low: int, high: int) -> ItemColumn:
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
    return ItemColumn(values, missing, unusable)


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


def read_item(column: pd.Series | None, n: int, low: int, high: int) -> ItemColumn:
    """One item's ``n`` answers, allowed from ``low`` to ``high``; no column: all missing."""
    if column is None:
        everywhere = np.ones(n, dtype=bool)
        return ItemColumn(np.zeros(n, dtype=np.int64), everywhere, everywhere)
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
        return ItemColumn(values, missing, unusable)
    if kind == "b":
        missing = column.isna().to_numpy(dtype=bool)
        return ItemColumn(np.zeros(n, dtype=np.int64), missing, np.ones(n, dtype=bool))
    if kind == "f":
        floats = column.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(floats)
        finite = np.isfinite(floats)
        whole = finite & (np.floor(floats) == floats) & (floats >= low) & (floats <= high)
        values = np.where(whole, floats, 0).astype(np.int64)
        return ItemColumn(values, missing, ~whole)
    return _classify_objects(column.to_numpy(dtype=object), low, high)


def read_frame_answers(instrument: Instrument, frame: pd.DataFrame) -> dict[str, ItemColumn]:
    """Every scored item of ``instrument`` read from a frame of one column per item."""
    n = len(frame)
    low, high = instrument.min_value, instrument.max_value
    columns = set(frame.columns)
    return {
        key: read_item(frame[key] if key in columns else None, n, low, high)
        for key in instrument.scored_item_keys
    }


def read_record_answers(
    instrument: Instrument, record: Mapping[str, object]
) -> dict[str, ItemColumn]:
    """Every scored item of ``instrument`` read from one record (item key to answer)."""
    # One record's answers read as one-row columns directly: building a DataFrame for them
    # cost more than scoring them.
    low, high = instrument.min_value, instrument.max_value
    return {
        key: _classify_objects([record.get(key)], low, high) for key in instrument.scored_item_keys
    }


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


def answer_in(frame: pd.DataFrame, row: int) -> Callable[[str], object]:
    """The answers of one row of ``frame`` as given, by item key (for :func:`invalid_reasons`)."""

    # Column by column: a whole row read at once would convert 5 to 5.0 next to a float.
    def answer(key: str) -> object:
        value: object = frame[key].iloc[row]
        return value

    return answer


def invalid_reasons(
    instrument: Instrument,
    rules: InstrumentRules,
    answer: Callable[[str], object],
    items: Mapping[str, ItemColumn],
    requirement_unmet: RequirementUnmet,
    row: int,
) -> tuple[str, ...]:
    """Readable reasons why one row is invalid (only ever called for invalid rows).

    ``answer(key)`` is the row's answer as given, ``items`` the answers as read and
    ``requirement_unmet`` where each required item is missing (from the scorer).
    """
    errors: list[str] = []
    low, high = instrument.min_value, instrument.max_value
    for key, column in items.items():
        if column.invalid[row]:
            errors.append(_describe_invalid_answer(key, answer(key), low, high))
    # Only domains left blank count here: a wrong answer has its own message above.
    unanswered = [
        domain
        for domain in instrument.domains
        if all(items[key].missing[row] for key in domain.items)
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
    for index, key, unmet in requirement_unmet:
        if unmet[row] and not items[key].invalid[row]:
            when = instrument.requirements[index].when
            reason = (
                "it is required"
                if when is None
                else (f"it is required when {when.item} is {when.equals}")
            )
            errors.append(f"{key} is unanswered; {reason}")
    return tuple(errors)
