"""Reading an import file: its limits, its bytes, its text and its CSV cells.

Everything an import does before it knows what the records mean: the file is refused fast,
in one linear pass and before any parsing, when it is beyond the stated limits; CSV cells are
read as text, each distinct text converted once; times with and without a zone are parsed
apart. Problems name the row and column, never the value. The limits are documented in
``docs/records.md`` ("Import limits").
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from data.errors import InvalidInput

_T = TypeVar("_T")

MAX_FILE_BYTES = 100_000_000
"""Largest file an import reads (100 MB, about 1.4 million assessment rows)."""
MAX_RECORDS = 500_000
"""Most lines a CSV file may have (records, blank rows included, and the header). The write
holds the database's write lock (SQLite: everyone's) for about a second per 100,000 rows;
this keeps it to a few seconds, well under the 15 s a waiting check-in gives up after."""
MAX_LINE_BYTES = 10_000
"""Longest line of a CSV file, in bytes of UTF-8 (a record is about a hundred)."""
MAX_COLUMNS = 100
"""Most columns a CSV header may name (an assessments file has fewer than 30)."""
MAX_LISTED_PROBLEMS = 20
"""Problems listed one by one in a refusal; the others are counted by kind."""


DATE_ONLY = r"\s*\d{4}-\d{1,2}-\d{1,2}\s*"
# A zone after the time part: Z, or a sign (the date's own hyphens come before the time).
ZONED = r"[T ]\S*[Zz+-]"

Source = str | os.PathLike[str] | IO[str]


def listed_problems(problems: Sequence[str], *, kinds: Sequence[str] | None = None) -> list[str]:
    """The first :data:`MAX_LISTED_PROBLEMS` problems, then the others counted by kind.

    A file of 50,000 bad records must not produce a refusal of megabytes: the first ones show
    what is wrong, the counts how much. ``kinds`` gives each problem's kind (its reason
    without the record's label); by default the text after the first ``": "``.
    """
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return list(problems)
    if kinds is None:
        kinds = [problem.partition(": ")[2] or problem for problem in problems]
    rest = Counter(kinds[MAX_LISTED_PROBLEMS:])
    listed = list(problems[:MAX_LISTED_PROBLEMS])
    listed.append(
        f"... and {len(problems) - MAX_LISTED_PROBLEMS:,} more record(s) with problems, "
        f"of {len(rest):,} kind(s); the most common:"
    )
    for kind, count in rest.most_common(MAX_LISTED_PROBLEMS // 2):
        listed.append(f"{count:,} x {kind}")
    return listed


def read_import_bytes(source: str | os.PathLike[str] | IO[str] | IO[bytes], *, what: str) -> bytes:
    """The file's bytes, refused before reading when larger than :data:`MAX_FILE_BYTES`."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput([too_large(what)])
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    else:
        read = source.read(MAX_FILE_BYTES + 1)
        data = read.encode("utf-8", "surrogatepass") if isinstance(read, str) else read
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput([too_large(what)])
    return data


def too_large(what: str) -> str:
    return (
        f"the file is larger than {MAX_FILE_BYTES / 1e6:g} MB, the largest {what} file "
        "an import takes; split it into several files and import them one after the other"
    )


def check_lines(data: bytes) -> None:
    """Refuse, before any parsing, a file with too many lines, an overlong line or a NUL.

    Linear and in C (numpy over the bytes): an absurd file is refused in a fraction of a
    second, whatever it holds.
    """
    if not data:
        return
    octets = np.frombuffer(data, dtype=np.uint8)
    newline = octets == ord("\n")
    if not newline.any():  # lines ended by CR alone (old Macintosh files)
        newline = octets == ord("\r")
    ends = np.flatnonzero(newline)
    if len(ends) > MAX_RECORDS + 1:
        raise InvalidInput(
            [
                f"the file has more than {MAX_RECORDS:,} lines, the most an import takes; split "
                "it into several files and import them one after the other"
            ]
        )
    breaks = np.flatnonzero((octets == ord("\n")) | (octets == ord("\r")))
    starts = np.concatenate(([0], breaks + 1))
    lengths = np.diff(np.concatenate((starts, [len(octets)]))) - 1
    too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
    if len(too_long):
        numbers = np.searchsorted(ends, starts[too_long[:MAX_LISTED_PROBLEMS]], side="left") + 1
        distinct = list(dict.fromkeys(numbers.tolist()))
        rows = ", ".join(str(int(row)) for row in distinct)
        raise InvalidInput(
            [
                f"{'rows' if len(distinct) > 1 else 'row'} {rows} "
                f"{'are' if len(distinct) > 1 else 'is'} longer than "
                f"{MAX_LINE_BYTES:,} bytes, the longest line an import takes; is this a CSV "
                "file of records?"
            ]
        )
    nul = np.flatnonzero(octets == 0)
    if len(nul):
        # A NUL ends a text early in some readers (and in C): "MRN-1\0x" would become MRN-1.
        at = list(
            dict.fromkeys(
                (np.searchsorted(ends, nul[:MAX_LISTED_PROBLEMS], side="left") + 1).tolist()
            )
        )
        listed = ", ".join(str(int(row)) for row in at)
        raise InvalidInput(
            [
                f"{'rows' if len(at) > 1 else 'row'} {listed} "
                f"{'hold' if len(at) > 1 else 'holds'} a NUL character (byte 0), which no "
                "record may contain"
            ]
        )


def read_text(source: Source, *, what: str) -> str:
    data = read_import_bytes(source, what=what)
    check_lines(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            ["the file is not UTF-8 text; save it as 'CSV UTF-8' and import it again"]
        ) from None
    # Spreadsheets save UTF-8 with a byte-order mark; it is not part of the first column name.
    return text.removeprefix("\ufeff")


def column_name(position: int) -> str:
    """A column as a spreadsheet names it: 1 is A, 27 is AA."""
    name = ""
    while position > 0:
        position, remainder = divmod(position - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


def columns_at(positions: Sequence[int]) -> str:
    shown = ", ".join(f"{p} ({column_name(p)})" for p in positions[:MAX_LISTED_PROBLEMS])
    more = (
        f" and {len(positions) - MAX_LISTED_PROBLEMS:,} more"
        if len(positions) > MAX_LISTED_PROBLEMS
        else ""
    )
    return shown + more


class RowLabels(Sequence[str]):
    """``"row N"`` for each record, made only when a problem needs one.

    Rows are numbered as a spreadsheet shows them: the header is row 1, so the record at
    position ``i`` of the file (from 0, blank rows included) is row ``i + 2``.
    """

    def __init__(self, positions: npt.NDArray[np.intp]) -> None:
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [f"row {p + 2}" for p in self._positions[index]]
        return f"row {int(self._positions[index]) + 2}"


@dataclass(frozen=True)
class Distinct:
    """A column as its distinct texts and, per row, which one it holds.

    A column of answers or dates holds a handful of distinct texts in 100,000 rows: each
    conversion done once per distinct text is ~10x faster than once per cell.
    """

    codes: npt.NDArray[np.intp]
    texts: npt.NDArray[np.object_]

    def per_row(self, values: npt.ArrayLike, index: pd.Index) -> pd.Series:
        """``values`` (one per distinct text) spread back over the rows."""
        return pd.Series(np.asarray(values)[self.codes], index=index)


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    cells: pd.DataFrame  # every cell as stripped text, blank rows removed
    labels: Sequence[str]
    distinct: dict[str, Distinct]  # the same cells, column by column


def read_csv(
    source: Source, *, required: Sequence[str], allowed: Iterable[str], what: str
) -> CsvFile:
    text = read_text(source, what=what)
    try:
        header_row = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as error:
        raise InvalidInput([f"row 1 (the header) cannot be read: {error}"]) from None
    if not header_row or not any(name.strip() for name in header_row):
        raise InvalidInput([f"the file is empty; row 1 must name the columns of {what}"])
    expected = (
        f"a file of {what} starts with the header row {', '.join(required)}, then the columns "
        "described in docs/records.md"
    )
    if len(header_row) > MAX_COLUMNS:
        raise InvalidInput(
            [
                f"row 1 (the header) has {len(header_row):,} columns, more than the "
                f"{MAX_COLUMNS} an import takes; {expected}"
            ]
        )
    header = [name.strip().lower() for name in header_row]
    # Problems name columns by position and our own names only: a file without a header has
    # its first record in row 1, and that is patient data.
    problems = []
    allowed_set = set(allowed)
    counts = Counter(header)
    repeated = [name for name in allowed if counts[name] > 1]
    if repeated:
        problems.append(f"row 1 (the header) names column(s) twice: {', '.join(repeated)}")
    missing = [name for name in required if counts[name] == 0]
    if missing:
        problems.append(f"row 1 (the header) lacks the column(s): {', '.join(missing)}")
    unknown = [number for number, name in enumerate(header, start=1) if name not in allowed_set]
    if unknown:
        problems.append(
            f"row 1 (the header) has unknown column name(s) in column(s) {columns_at(unknown)}; "
            f"{expected} (a misspelt item column would silently lose answers)"
        )
    if problems:
        raise InvalidInput(problems)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # As categories, each column comes back as its distinct texts and a code per row
            # (see Distinct), numbered by the parser itself.
            cells = pd.read_csv(
                io.StringIO(text),
                dtype="category",
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                header=0,
                names=header,
            )
    except (pd.errors.ParserError, csv.Error, ValueError):
        raise InvalidInput(malformed_rows(text, len(header))) from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        # pandas drops the fields of a row beyond the header's columns, with only a warning:
        # refuse rows where that would lose a value (empty trailing fields lose nothing).
        malformed = malformed_rows(text, len(header), strict=False)
        if malformed:
            raise InvalidInput(malformed)
    # Rows with fewer fields than the header are read with the rest blank, as spreadsheets
    # save them; the blank rows are dropped but the others keep their spreadsheet number.
    columns: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]] = {}
    blank = np.ones(len(cells), dtype=bool)
    for name in header:
        given_codes = cells[name].cat.codes.to_numpy()
        given = cells[name].cat.categories.to_numpy(dtype=object)
        stripped = pd.Series(given, dtype=object).astype(str).str.strip()
        # Stripping can make two texts one (" 1" and "1"): number the stripped texts afresh.
        merged, distinct_texts = pd.factorize(stripped, use_na_sentinel=False)
        codes = merged[given_codes]
        texts = np.asarray(distinct_texts, dtype=object)
        empty = np.flatnonzero(texts == "")
        blank &= (codes == empty[0]) if len(empty) else False
        columns[name] = (codes, texts)
    positions = np.flatnonzero(~blank)
    distinct = {
        name: Distinct(codes=codes[positions], texts=texts)
        for name, (codes, texts) in columns.items()
    }
    cells = pd.DataFrame(
        {name: column.texts[column.codes] for name, column in distinct.items()},
        columns=header,
        dtype=object,
    )
    return CsvFile(header=header, cells=cells, labels=RowLabels(positions), distinct=distinct)


def malformed_rows(text: str, width: int, *, strict: bool = True) -> list[str]:
    """Rows with more fields than the header has columns (all of them, by number)."""
    problems = []
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
            if len(record) > width and (strict or any(f.strip() for f in record[width:])):
                problems.append(
                    f"row {number} has {len(record)} fields but the header names {width} "
                    "columns; a comma inside a value needs the value in double quotes"
                )
    except csv.Error as error:
        problems.append(f"the file is not valid CSV: {error}")
    return listed_problems(problems) or (["the file is not valid CSV"] if strict else [])


def add_problem(problems: dict[int, list[str]], positions: Iterable[int], message: str) -> None:
    for position in positions:
        problems.setdefault(int(position), []).append(message)


def parse_times(
    cells: Distinct, index: pd.Index, problems: dict[int, list[str]], *, column: str
) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 text to UTC times (a date alone is noon UTC, a naive time is UTC), and
    which cells were a date alone."""
    raw = pd.Series(cells.texts, dtype=object)
    # pandas (2.3) gives a naive time or a date the offset of a zoned time parsed before it
    # in the same call: "2025-01-13T10:30" after "...-05:00" became 15:30 UTC. Texts with
    # and without a zone are therefore parsed apart.
    zoned = raw.str.contains(ZONED, regex=True).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    for part in (zoned, ~zoned):
        if part.any():
            parsed[part] = pd.to_datetime(raw[part], format="ISO8601", utc=True, errors="coerce")
    date_only = raw.str.fullmatch(DATE_ONLY).astype(bool)
    parsed = parsed.where(~date_only, parsed + pd.Timedelta(hours=12))
    # Stored times keep microseconds; compare and store in the same precision.
    parsed = parsed.dt.floor("us")
    blank = (raw == "").to_numpy()
    add_problem(problems, np.flatnonzero(blank[cells.codes]), f"{column} is empty")
    unreadable = parsed.isna().to_numpy() & ~blank
    add_problem(
        problems,
        np.flatnonzero(unreadable[cells.codes]),
        f"{column} is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] with an optional "
        "zone (Z, +01:00); no zone means UTC",
    )
    when = pd.Series(parsed.array.take(cells.codes), index=index)
    return when, cells.per_row(date_only.to_numpy(), index)


def factorized(raw: pd.Series) -> Distinct:
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    return Distinct(codes=codes, texts=np.asarray(uniques, dtype=object))


def per_unique(cells: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``convert`` applied to each distinct cell once (see :class:`Distinct`)."""
    distinct = factorized(cells)
    converted = convert(pd.Series(distinct.texts, dtype=object)).to_numpy()
    return distinct.per_row(converted, cells.index)


def parse_numbers(cells: Distinct, index: pd.Index) -> tuple[pd.Series, pd.Series | None]:
    """Numbers of a text column (NA where blank or text), and the text cells (else ""), or
    None when every cell is a number or blank."""
    distinct = pd.Series(cells.texts, dtype=object)
    blank = distinct == ""
    numbers = pd.to_numeric(distinct.mask(blank), errors="coerce").astype("float64")
    text = distinct.where(numbers.isna() & ~blank, "")
    texts = cells.per_row(text.to_numpy(), index) if (text != "").any() else None
    finite = numbers.dropna()
    whole = np.isfinite(finite) & (np.floor(finite) == finite) & (finite.abs() < 2**53)
    if whole.all():
        # Whole numbers read as nullable integers: scoring's fast path, and messages that say
        # "7", not "7.0". Built from the distinct values (pandas' checked cast of every row
        # cost more than the rest of the column's reading).
        missing = numbers.isna().to_numpy()
        whole_numbers = np.where(missing, 0, numbers.to_numpy()).astype(np.int64)
        integers = pd.arrays.IntegerArray(whole_numbers[cells.codes], missing[cells.codes])
        return pd.Series(integers, index=index), texts
    return pd.Series(numbers.to_numpy()[cells.codes], index=index, dtype="float64"), texts
