"""Reading the series: :func:`load_series` reads one column of a CSV file with a header (or
stdin for ``--data -``) and names the file, line, column and value of anything it cannot use;
:func:`require_complete` rejects missing values for models that cannot take them."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _cli.errors import CliError

#: Cell contents read as a missing value (compared after stripping, case-insensitively):
#: empty, NA, NaN, N/A, null, and "." (FRED's and SAS's marker).
MISSING_MARKERS = frozenset({"", "na", "nan", "n/a", "null", "."})

#: The separators guessed from the header line, most usual first.
SEPARATORS = (",", ";", "\t", "|")

_THOUSANDS = re.compile(r"^[-+]?\d{1,3}([,.' ]\d{3})+([.,]\d+)?$")
_QUARTER = re.compile(r"^(\d{4})[- ]?Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Series:
    """One column of a CSV file, as float64, with where each value came from.

    ``values`` has shape (T,) and holds NaN where the cell was missing (empty, ``NA``,
    ``NaN``, ``null``; in a one-column file also a blank line between values); ``lines``
    has shape (T,) and holds the 1-based line of the file each value was read from, so
    messages can point at it. ``time`` is the time column, or ``None``.
    """

    values: np.ndarray
    lines: np.ndarray
    column: str
    source: str
    sha256: str
    time: np.ndarray | None = None
    time_column: str | None = None
    separator: str = ","
    separator_guessed: bool = False

    @property
    def length(self) -> int:
        return int(self.values.shape[0])

    def time_coordinate(self) -> np.ndarray:
        """The time column, or 0, 1, ..., T-1 when the file has none."""
        return self.time if self.time is not None else np.arange(self.length)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_source(data: str) -> tuple[bytes, str]:
    """The raw bytes of ``data`` (a path, or '-' for stdin) and a name to quote in messages."""
    if data == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(data)
    if not path.exists():
        raise CliError(f"data file '{path}' does not exist")
    if path.is_dir():
        raise CliError(f"data path '{path}' is a folder, not a CSV file")
    try:
        return path.read_bytes(), f"'{path}'"
    except OSError as error:
        raise CliError(f"cannot read data file '{path}': {error.strerror}") from None


def load_series(
    data: str | None,
    column: str | None,
    time_column: str | None = None,
    *,
    default_path: Path | None = None,
    default_column: str | None = None,
    sep: str | None = None,
) -> Series:
    """Read one numeric column of a CSV file with a header row.

    ``data`` is a path, ``'-'`` for stdin, or ``None`` for ``default_path`` (then ``column``
    defaults to ``default_column``). Raises :class:`CliError` naming the file and, where it
    applies, the line, column and value for: a missing or empty file, no header, an unknown
    column, ragged rows, a cell that is not a number, an infinite value, a bad time column.
    Missing cells (:data:`MISSING_MARKERS`) become NaN; whether the model can take them is
    the caller's question (:func:`require_complete`). ``sep`` is the field separator (``'tab'``
    for a tab); ``None`` guesses it from the header line (:data:`SEPARATORS`).
    """
    if data is None:
        if default_path is None:
            raise CliError("no --data given")
        data = str(default_path)
        column = column if column is not None else default_column
    raw, source = _read_source(data)
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")  # -sig: a byte-order mark would otherwise join the header
    except UnicodeDecodeError as error:
        raise CliError(
            f"{source} is not UTF-8 text (undecodable byte at offset {error.start})"
        ) from None
    if not text.strip():
        raise CliError(f"data file {source} is empty")

    separator, guessed = _separator(text, sep)
    try:
        numbered_rows = _data_rows(text, separator)
    except csv.Error as error:
        raise CliError(f"{source} is not a readable CSV file: {error}") from None

    if not numbered_rows:  # e.g. only separators: ",,\n,,"
        raise CliError(f"data file {source} has no non-empty cells")
    header_line, header_cells = numbered_rows[0]
    header = [name.strip() for name in header_cells]
    if all(_looks_numeric(name) for name in header):
        raise CliError(
            f"{source} has no header row: line {header_line} ('{','.join(header_cells)}') is data;"
            " the first line must name the columns, e.g. 't,y'"
        )
    for position, name in enumerate(header, start=1):
        if not name:
            raise CliError(f"{source} header (line {header_line}) has an empty name in column "
                           f"{position}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise CliError(f"{source} header names column(s) {', '.join(duplicates)} more than once")

    available = ", ".join(header)
    if column is None:
        candidates = [name for name in header if name != time_column]
        if len(candidates) != 1:
            raise CliError(
                f"{source} has several columns ({available}); choose the series with --column"
            )
        column = candidates[0]
    for option, name in (("--column", column), ("--time-column", time_column)):
        if name is not None and name not in header:
            raise CliError(
                f"{option} '{name}' is not a column of {source}; available columns: {available}"
            )
    if time_column is not None and time_column == column:
        raise CliError(f"--time-column and --column both name '{column}'")

    body = numbered_rows[1:]
    if not body:
        raise CliError(f"{source} has a header (line {header_line}) but no data rows")
    for line_number, row in body:
        if len(row) != len(header):
            hint = ""
            if separator == "," and len(row) > len(header) and any(
                    cell.strip().isdigit() and len(cell.strip()) == 3 for cell in row[1:]):
                hint = ("; if commas separate thousands (1,234), remove them or quote the "
                        "cells, or use another --sep")
            raise CliError(
                f"{source} line {line_number} has {len(row)} field(s); the header has "
                f"{len(header)} ({available}){hint}"
            )

    value_index = header.index(column)
    values = np.empty(len(body), dtype=np.float64)
    lines = np.array([line_number for line_number, _ in body], dtype=np.int64)
    for i, (line_number, row) in enumerate(body):
        cell = row[value_index].strip()
        if cell.lower() in MISSING_MARKERS:
            values[i] = np.nan
            continue
        try:
            number = float(cell)
        except ValueError:
            hint = ""
            if _THOUSANDS.match(cell):
                hint = ("; it looks like a number with thousands separators: remove them "
                        "(1234.5, with '.' as the decimal point)")
            elif re.match(r"^[-+]?\d+,\d+$", cell):
                hint = "; the decimal point must be '.', not ','"
            raise CliError(
                f"{source} line {line_number}, column '{column}': '{cell}' is not a number"
                f"{hint}"
            ) from None
        if not math.isfinite(number):
            raise CliError(
                f"{source} line {line_number}, column '{column}': '{cell}' is not a finite number"
            )
        values[i] = number

    time = None
    if time_column is not None:
        time_index = header.index(time_column)
        time = _time_coordinate(
            [(line_number, row[time_index].strip()) for line_number, row in body],
            time_column,
            source,
        )
    return Series(
        values=values,
        lines=lines,
        column=column,
        source=source,
        sha256=sha256,
        time=time,
        time_column=time_column,
        separator=separator,
        separator_guessed=guessed,
    )


def _separator(text: str, sep: str | None) -> tuple[str, bool]:
    """The field separator: ``sep`` as given ('tab' for a tab), or the one of
    :data:`SEPARATORS` the header line holds most of (',' when it holds none), and whether
    it was guessed."""
    if sep is not None:
        if sep.lower() in ("tab", "\\t"):
            return "\t", False
        if len(sep) != 1:
            raise CliError(f"--sep must be one character (or 'tab'), got '{sep}'")
        return sep, False
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {candidate: header.count(candidate) for candidate in SEPARATORS}
    best = max(SEPARATORS, key=lambda candidate: counts[candidate])
    return (best, best != ",") if counts[best] > 0 else (",", False)


def _csv_rows_with_line_numbers(text: str, separator: str = ",") -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    rows = []
    for row in reader:
        # reader.line_num is the line the row ended on; rows with quoted newlines are rare
        # enough in a numeric series that the end line is a fine pointer.
        rows.append((reader.line_num, row))
    return rows


def _data_rows(text: str, separator: str) -> list[tuple[int, list[str]]]:
    """The header and data rows with their line numbers. Blank lines carry no data, except
    in a one-column file between the header and the last value: there a blank line is the
    column's empty cell, i.e. a missing value (what pandas' ``to_csv`` and R's
    ``write.csv(na = "")`` write for NaN), and dropping it would shift every later value
    one step in time."""
    rows = _csv_rows_with_line_numbers(text, separator)
    kept = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not kept or len(kept[0][1]) != 1:
        return kept
    first, last = kept[0][0], kept[-1][0]
    return [(line, row if row else [""]) for line, row in rows if first <= line <= last]


def _time_coordinate(cells: list[tuple[int, str]], time_column: str, source: str) -> np.ndarray:
    """Integers, floats, ISO dates, quarters ('1959Q2' -> 1959-04-01, the quarter's first
    day) or, failing those, the labels as strings."""
    for line_number, cell in cells:
        if not cell:
            raise CliError(
                f"{source} line {line_number}: time column '{time_column}' is empty"
            )
    texts = [cell for _, cell in cells]
    seen: dict[str, int] = {}
    for line_number, cell in cells:
        if cell in seen:
            raise CliError(
                f"{source} line {line_number}: time column '{time_column}' repeats '{cell}' "
                f"(first at line {seen[cell]})"
            )
        seen[cell] = line_number
    for convert in (int, float):
        try:
            return np.array([convert(text) for text in texts])
        except ValueError:
            pass
    quarters = [_QUARTER.match(text) for text in texts]
    if all(quarters):
        return np.array([f"{match.group(1)}-{3 * int(match.group(2)) - 2:02d}-01"
                         for match in quarters], dtype="datetime64[D]")
    try:
        return np.array(texts, dtype="datetime64")
    except ValueError:
        return np.array(texts, dtype=str)


def require_complete(series: Series, needed_by: str) -> None:
    """Raise :class:`CliError` naming the lines of missing values, which ``needed_by`` can't take.

    The message reads, e.g., "column 'y' of 'f.csv' has 2 missing values (empty or NaN) at lines
    3, 9; the conditional ARMA likelihood needs a complete series".
    """
    missing = np.flatnonzero(np.isnan(series.values))
    if missing.size == 0:
        return
    shown = ", ".join(str(line) for line in series.lines[missing[:10]])
    more = f" and {missing.size - 10} more" if missing.size > 10 else ""
    plural = "s" if missing.size > 1 else ""
    raise CliError(
        f"column '{series.column}' of {series.source} has {missing.size} missing value{plural} "
        f"(empty or NaN) at line{plural} {shown}{more}; {needed_by} needs a complete series"
    )


@dataclass(frozen=True)
class Panel:
    """Several series of one CSV file on one time axis, as float64.

    ``values`` has shape (S, T): series s is row s, NaN where it has no value (a missing
    cell, or padding where series have unequal lengths). ``names`` are the S series' names
    (the values of ``--series-column``, or the ``--columns``); ``observed`` counts each
    series' non-missing values; ``time`` is the shared time axis (T,) or ``None``.
    """

    values: np.ndarray
    names: list[str]
    observed: np.ndarray
    lengths: np.ndarray
    source: str
    sha256: str
    column: str
    time: np.ndarray | None = None
    time_column: str | None = None

    @property
    def length(self) -> int:
        return int(self.values.shape[1])

    def time_coordinate(self) -> np.ndarray:
        """The time column, or 0, 1, ..., T-1 when the file has none."""
        return self.time if self.time is not None else np.arange(self.length)


def _text_column(data: str, name: str, sep: str | None, option: str) -> list[str]:
    """The cells of one column (stripped), in file order, rows as :func:`load_series` keeps
    them; the column must exist."""
    raw, source = _read_source(data)
    text = raw.decode("utf-8-sig", errors="replace")
    separator, _ = _separator(text, sep)
    rows = [row for _, row in _data_rows(text, separator)]
    header = [cell.strip() for cell in rows[0]]
    if name not in header:
        raise CliError(f"{option} '{name}' is not a column of {source}; available columns: "
                       f"{', '.join(header)}")
    index = header.index(name)
    return [row[index].strip() for row in rows[1:]]


def load_panel(
    data: str,
    *,
    column: str | None = None,
    series_column: str | None = None,
    columns: list[str] | None = None,
    time_column: str | None = None,
    sep: str | None = None,
) -> Panel:
    """Read several series from one CSV file: long format (``series_column`` names each
    row's series, ``column`` holds the values) or wide format (``columns``, one per series).

    Long format: with ``time_column`` the series are aligned on the sorted union of their
    times (a series' time may not repeat); without it, each series' rows are its values in
    order and shorter series are padded at the end. Wide format: the rows are the time axis.
    Gaps and padding are NaN; whether the model takes them is the caller's question.
    Problems are a :class:`CliError` naming the file, line, column or series.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
        >>> _ = path.write_text("store,sales\\na,1\\na,2\\nb,5\\n")
        >>> panel = load_panel(str(path), column="sales", series_column="store")
        >>> print(panel.names, panel.values.tolist(), panel.lengths.tolist())
        ['a', 'b'] [[1.0, 2.0], [5.0, nan]] [2, 1]
    """
    if data == "-":
        raise CliError("a panel (--series-column or --columns) is read from a file, not '-'")
    if (series_column is None) == (columns is None):
        raise CliError("give either --series-column NAME (long format) or --columns A B ... "
                       "(wide format)")
    if columns is not None:
        duplicated = sorted({name for name in columns if columns.count(name) > 1})
        if duplicated:
            raise CliError(f"--columns names {', '.join(duplicated)} more than once")
        parts = [load_series(data, name, time_column, sep=sep) for name in columns]
        first = parts[0]
        values = np.stack([part.values for part in parts])
        return Panel(values, list(columns), np.sum(~np.isnan(values), axis=1),
                     np.full(len(parts), values.shape[1]), first.source, first.sha256,
                     "wide", first.time, time_column)
    if column is None:
        raise CliError("--series-column needs --column NAME: the column holding the values")
    if column == series_column or time_column in (column, series_column):
        raise CliError("--series-column, --column and --time-column must name different "
                       "columns")
    series = load_series(data, column, None, sep=sep)
    labels = _text_column(data, series_column, sep, "--series-column")
    for line, label in zip(series.lines, labels, strict=True):
        if not label:
            raise CliError(f"{series.source} line {line}: series column '{series_column}' "
                           "is empty")
    names = list(dict.fromkeys(labels))
    label_array = np.array(labels)
    if time_column is None:
        rows = [np.flatnonzero(label_array == name) for name in names]
        lengths = np.array([len(r) for r in rows])
        values = np.full((len(names), lengths.max()), np.nan)
        for s, r in enumerate(rows):
            values[s, :len(r)] = series.values[r]
        return Panel(values, names, np.sum(~np.isnan(values), axis=1), lengths,
                     series.source, series.sha256, column)
    times_text = _text_column(data, time_column, sep, "--time-column")
    # numbers sort as numbers; ISO dates and quarters (1959Q2) sort as text
    axis = sorted(set(times_text), key=float if all(_looks_numeric(t) for t in times_text)
                  else str)
    position = {t: i for i, t in enumerate(axis)}
    values = np.full((len(names), len(axis)), np.nan)
    seen: dict[tuple[str, str], int] = {}
    for line, label, t, value in zip(series.lines, labels, times_text, series.values,
                                     strict=True):
        if (label, t) in seen:
            raise CliError(f"{series.source} line {line}: series '{label}' repeats time "
                           f"'{t}' (first at line {seen[label, t]})")
        seen[label, t] = line
        values[names.index(label), position[t]] = value
    time = _time_coordinate([(0, t) for t in axis], time_column, series.source)
    return Panel(values, names, np.sum(~np.isnan(values), axis=1),
                 np.full(len(names), len(axis)), series.source, series.sha256, column, time,
                 time_column)
