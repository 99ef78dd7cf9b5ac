"""Scoring an import: each instrument's rows at once, with refusals that quote nothing.

:func:`score_group` scores the rows of one instrument with the clinic's rules
(:func:`outcomes.score_frame`, vectorised) and records scoring's own readable reason for each
refused row, without the answer it quotes (a refusal names the row and the column, never the
file's content). :func:`new_rows` turns the scored rows into what the writer stores
(:class:`NewAssessments`), with the safety alerts each one raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from data.interchange import bulk
from data.interchange.csv_read import add_problem, per_unique
from data.interchange.pipeline import AdministrationTable
from outcomes import INSTRUMENTS, PRORATED, score_frame
from outcomes.instruments import Instrument
from outcomes.instruments.safety import safety_alert_kinds

__all__ = ["NewAssessments", "ScoredGroup", "instrument_ids", "new_rows", "score_group"]

_INSTRUMENT_NAMES: dict[str, str] = {}
for _definition in INSTRUMENTS:
    _INSTRUMENT_NAMES[_definition.id] = _definition.id
    _INSTRUMENT_NAMES[_definition.name.lower()] = _definition.id
_KNOWN_INSTRUMENTS = ", ".join(i.id for i in INSTRUMENTS) + " (or their names, e.g. PHQ-9)"


def instrument_ids(given: pd.Series, problems: dict[int, list[str]]) -> pd.Series:
    """Our instrument id for each row (``phq9``, or its name ``PHQ-9``, in any case); NA,
    with a problem, where the file names none we know."""
    instrument = per_unique(
        given, lambda names: names.str.strip().str.lower().map(_INSTRUMENT_NAMES)
    )
    for position in np.flatnonzero(instrument.isna().to_numpy()):
        problems.setdefault(int(position), []).append(
            "instrument is empty"
            if not given.iloc[position]
            else f"instrument is not one we know; known: {_KNOWN_INSTRUMENTS}"
        )
    return instrument


@dataclass(frozen=True)
class ScoredGroup:
    """The rows of one instrument, scored."""

    instrument: Instrument
    positions: npt.NDArray[np.intp]
    scored: pd.DataFrame  # score_frame output, indexed by position


def _answers_as_given(
    table: AdministrationTable, key: str, rows: npt.NDArray[np.intp]
) -> pd.Series:
    """One item's cells for scoring's messages: numbers, the text itself, or None."""
    numbers = table.items[key].iloc[rows]
    text = table.item_text.get(key)
    cells: list[object] = []
    for offset, position in enumerate(rows):
        given = "" if text is None else str(text.iloc[position])
        if given:
            cells.append(given)
            continue
        value = numbers.iloc[offset]
        if pd.isna(value):
            cells.append(None)
        else:
            number = float(value)
            cells.append(int(number) if number.is_integer() else number)
    return pd.Series(cells, index=rows, dtype=object)


def _filled(
    table: AdministrationTable, key: str, rows: npt.NDArray[np.intp]
) -> npt.NDArray[np.bool_]:
    filled: npt.NDArray[np.bool_] = table.items[key].iloc[rows].notna().to_numpy(dtype=bool)
    if key in table.item_text:
        filled |= (table.item_text[key].iloc[rows] != "").to_numpy(dtype=bool)
    return filled


def score_group(
    table: AdministrationTable,
    definition: Instrument,
    positions: npt.NDArray[np.intp],
    *,
    rules: Any,
    problems: dict[int, list[str]],
    warnings: list[str],
) -> ScoredGroup:
    keys = [key for key in definition.item_keys if key in table.items]
    frame = pd.DataFrame({key: table.items[key].iloc[positions] for key in keys}, index=positions)
    scored = score_frame(definition, frame, rules=rules, errors=True)
    errors = scored["errors"].to_numpy(dtype=object)
    valid = scored["valid"].to_numpy(dtype=bool).copy()

    # A text cell was read as blank above; score those few rows again with the text itself,
    # so that the reason is scoring's own ("'two' is text, not a number").
    text_rows = np.zeros(len(positions), dtype=bool)
    for key in keys:
        if key in table.item_text:
            text_rows |= (table.item_text[key].iloc[positions] != "").to_numpy(dtype=bool)
    if text_rows.any():
        rows = positions[text_rows]
        as_given = pd.DataFrame(
            {key: _answers_as_given(table, key, rows) for key in keys}, index=rows
        )
        again = score_frame(definition, as_given, rules=rules, errors=True)
        errors[text_rows] = again["errors"].to_numpy(dtype=object)
        valid[text_rows] = False
    for offset in np.flatnonzero(~valid):
        problems.setdefault(int(positions[offset]), []).extend(
            _without_answers(message, definition) for message in errors[offset]
        )

    low, high = definition.min_value, definition.max_value
    for item in definition.items:
        # Unscored items (PHQ-9 item 10) are not read by scoring, but are stored: same range.
        if item.scored or item.key not in keys:
            continue
        numbers = table.items[item.key].iloc[positions].astype("float64").to_numpy()
        wrong = ~np.isnan(numbers) & (
            (numbers < low) | (numbers > high) | (np.floor(numbers) != numbers)
        )
        if item.key in table.item_text:
            wrong |= (table.item_text[item.key].iloc[positions] != "").to_numpy(dtype=bool)
        add_problem(problems, positions[wrong], _not_an_answer(item.key, definition))

    own = set(definition.item_keys)
    for key in table.items:
        if key not in own:
            add_problem(
                problems,
                positions[_filled(table, key, positions)],
                f"{key} has an answer, but this row is a {definition.name} record; give each "
                "administration its own row",
            )

    if table.reported_total is not None:
        reported = table.reported_total.iloc[positions].astype("float64").to_numpy()
        total = scored["total"].astype("float64").to_numpy()
        differs = ~np.isnan(reported) & valid & ((reported != total) | np.isnan(total))
        for offset in np.flatnonzero(differs):
            warnings.append(
                f"{table.labels[positions[offset]]}: the total in the file differs from the "
                f"{definition.name} total recomputed from the answers; the recomputed total "
                "is stored"
            )
    return ScoredGroup(definition, positions, scored)


def _not_an_answer(key: str, definition: Instrument) -> str:
    return (
        f"{key} is not an answer; answers are whole numbers from {definition.min_value} to "
        f"{definition.max_value}"
    )


def _without_answers(message: str, definition: Instrument) -> str:
    """Scoring's reason without the answer it quotes (``"phq9_3: 'two' is text, ..."``): a
    refusal names the row and the column, never the file's content."""
    key, colon, _ = message.partition(": ")
    if colon and key in definition.item_keys:
        return _not_an_answer(key, definition)
    return message


def _answers_json(
    table: AdministrationTable, definition: Instrument, positions: npt.NDArray[np.intp]
) -> list[str]:
    """The answers of the rows at ``positions`` as JSON text (:func:`bulk.answers_json`)."""
    items = {
        key: table.items[key].iloc[positions] for key in definition.item_keys if key in table.items
    }
    return bulk.answers_json(items, len(positions), definition.min_value, definition.max_value)


@dataclass
class NewAssessments:
    """Rows to insert, as values the database takes directly (JSON already as text)."""

    position: list[int] = field(default_factory=list)
    patient_id: list[int] = field(default_factory=list)
    instrument: list[str] = field(default_factory=list)
    at: list[int] = field(default_factory=list)  # microseconds since 1970, UTC
    answers: list[str] = field(default_factory=list)
    total: list[int | None] = field(default_factory=list)
    severity: list[str | None] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    alert_kinds: list[tuple[str, ...]] = field(default_factory=list)

    def extend(self, other: NewAssessments) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))

    def without(self, skip: npt.NDArray[np.bool_]) -> NewAssessments:
        """These rows less those whose position ``skip`` marks (already stored)."""
        keep = ~skip[np.asarray(self.position, dtype=np.intp)]
        if keep.all():
            return self
        kept = NewAssessments()
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            if len(values) == len(keep):
                setattr(kept, name, list(compress(values, keep)))
        return kept

    def in_patient_order(self) -> NewAssessments:
        """These rows in the order the writer takes them (:func:`bulk.patient_order`)."""
        order = bulk.patient_order(self.patient_id, self.instrument, self.at)
        if order is None:
            return self
        ordered = NewAssessments()
        for name in self.__dataclass_fields__:
            setattr(ordered, name, list(map(getattr(self, name).__getitem__, order)))
        return ordered


def _nullable_list(values: pd.Series) -> list[Any]:
    """Python values with None for NA (what the drivers take)."""
    listed: list[Any] = values.astype(object).where(values.notna(), None).tolist()  # type: ignore[call-overload]
    return listed


def new_rows(
    table: AdministrationTable, group: ScoredGroup, at: npt.NDArray[np.int64]
) -> NewAssessments:
    """The group's rows as they will be written; their patients' ids are filled in when the
    rows are written (a patient may be registered only then)."""
    definition = group.instrument
    positions = group.positions
    scored = group.scored
    flag_names = sorted((*definition.flag_names, PRORATED))
    safety = sorted(safety_alert_kinds(definition, definition.flag_names))
    raised = {name: scored[name].to_numpy(dtype=bool) for name in safety}
    any_safety = np.zeros(len(positions), dtype=bool)
    for values in raised.values():
        any_safety |= values
    kinds: list[tuple[str, ...]] = [()] * len(positions)
    for offset in np.flatnonzero(any_safety):
        kinds[offset] = tuple(name for name in safety if raised[name][offset])
    total = scored["total"]
    severity = scored["severity"].astype(object)
    return NewAssessments(
        position=positions.tolist(),
        instrument=[definition.id] * len(positions),
        at=at[positions].tolist(),
        answers=_answers_json(table, definition, positions),
        total=_nullable_list(total),
        severity=_nullable_list(severity),
        flags=bulk.flags_json(
            {name: scored[name].to_numpy(dtype=bool) for name in flag_names}, len(positions)
        ),
        alert_kinds=kinds,
    )
