"""The one guard against spreadsheet formulas in the CSV files the project writes.

A spreadsheet opening a CSV file runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
(and, in some, a tab or carriage return) as a formula: ``=HYPERLINK(...)`` or a DDE call in a
patient's name would run on the clinician's computer (OWASP, CSV injection). Spreadsheets
also read the full-width forms (``＝``, ``＋``, ``－``, ``＠``) as the ASCII ones, and skip
leading spaces of any kind, a non-breaking space included, before looking for the ``=``.

:func:`guard_cell` puts an apostrophe in front of such a cell, which every spreadsheet shows as
text and does not display; :func:`restore_cell` removes exactly that apostrophe again, so a
guarded export re-imports unchanged. Every CSV file the project writes goes through
:func:`guard_cell` (:func:`frame_to_csv` for tables, :mod:`data.interchange.csv_export` for
record exports).

References
----------
.. [1] OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from typing import IO

import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "frame_to_csv", "guard_cell", "restore_cell", "write_rows"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP), in their ASCII
forms; their full-width and small forms (``＝``, ``﹦``, ...) count as well."""

_APOSTROPHE = "'"


def _is_trigger(character: str) -> bool:
    # NFKC folds the full-width and small forms (U+FF1D, U+FE66, ...) onto ASCII.
    return unicodedata.normalize("NFKC", character) in FORMULA_TRIGGERS or character in "\t\r"


def _is_invisible(character: str) -> bool:
    """Characters a spreadsheet may skip before the formula: any space (NBSP, ideographic
    space, ...), line breaks, other control characters and format characters (zero-width
    space, byte-order mark, direction marks)."""
    return character.isspace() or unicodedata.category(character) in ("Cc", "Cf", "Zs")


def _needs_guard(text: str) -> bool:
    if not text:
        return False
    if text[0] == _APOSTROPHE or _is_trigger(text[0]):
        # An apostrophe already there is doubled, so that restore_cell can tell ours apart.
        return True
    for character in text:
        if _is_trigger(character):
            return True
        if not _is_invisible(character):
            return False
    return False


def guard_cell(value: object) -> object:
    """A cell that no spreadsheet will run as a formula.

    Parameters
    ----------
    value : object
        A cell. Text (``str``) that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
        return, or their full-width forms, also after leading spaces or invisible
        characters of any kind, gets an apostrophe in front; so does text that already
        starts with an apostrophe (see :func:`restore_cell`). Anything else, numbers and
        dates included, is returned unchanged.

    Returns
    -------
    object
        The guarded text, or ``value`` itself.

    References
    ----------
    .. [1] OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
    """
    if isinstance(value, str) and _needs_guard(value):
        return _APOSTROPHE + value
    return value


def restore_cell(value: str) -> str:
    """Undo :func:`guard_cell`: remove the apostrophe it added, and only that one."""
    if value.startswith(_APOSTROPHE) and _needs_guard(value[1:]):
        return value[1:]
    return value


def frame_to_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index), every text cell and column name guarded.

    Parameters
    ----------
    frame : DataFrame
        Any table; text cells may be in object, string or categorical columns.

    Returns
    -------
    str
        The CSV text, lines ending in ``\\n``, ready for a download button.
    """
    guarded = frame.copy()
    carriage_return = False
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        # Numbers and times are never formulas; their columns keep pandas' own formatting.
        numeric = pd.api.types.is_numeric_dtype(column)
        if not (numeric or pd.api.types.is_datetime64_any_dtype(column)):
            cells = column.astype(object).map(guard_cell)
            carriage_return |= bool(cells.map(lambda c: isinstance(c, str) and "\r" in c).any())
            guarded.isetitem(position, cells.to_numpy())
    guarded.columns = [guard_cell(str(name)) for name in frame.columns]
    # Python's CSV writer quotes a cell holding a line feed but not one holding a lone
    # carriage return when lines end in "\n": a spreadsheet would start a new row there, and
    # "note\r=cmd" would put "=cmd" at the start of a cell. Lines end in "\r\n" (RFC 4180)
    # when a cell holds one, which makes the writer quote it.
    text: str = guarded.to_csv(index=False, lineterminator="\r\n" if carriage_return else "\n")
    return text


def write_rows(out: IO[str], rows: Iterable[Iterable[object]]) -> None:
    """Write rows as CSV to ``out``, every cell guarded (:func:`guard_cell`).

    Lines end in ``\n``; a cell holding a line break of any kind (a lone carriage return
    included, which Python's writer would leave unquoted) is quoted.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # quotes cells with CR or LF
    for row in rows:
        writer.writerow([guard_cell(cell) for cell in row])
        line = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        out.write(line[:-2] + "\n")
