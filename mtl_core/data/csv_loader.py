"""Turn an uploaded CSV file into a clean Dataset, or a DataError that says what to fix."""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from mtl_core.data.registry import Dataset, drop_missing
from mtl_core.errors import DataError, bad_value

#: The largest CSV file read: 10 MB, in the browser's units (Streamlit's uploader refuses a file over
#: ``server.maxUploadSize`` x 1,000,000 bytes, so the page, the browser and this check all say 10 MB).
MB = 1_000_000
MAX_CSV_BYTES: int = 10 * MB

DELIMITERS = ",;\t|"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# The sniffer is slow on big inputs and only needs the first lines to decide.
_SNIFF_CHARS = 4096
_SNIFF_ROWS = 50
# Real CSVs have almost no control characters; random bytes decode to roughly a quarter.
_MAX_CONTROL_FRACTION = 0.05
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Tokens spreadsheets and R/pandas write for a missing value (compared case-insensitively).
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "#n/a", "#na", "?", "-nan"})
# ASCII only: \d would also accept digits of other scripts, which the float parser rejects.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+(?:,\d+)?", re.ASCII)
# What spreadsheets, numpy and pandas write for an infinity.
_INFINITY = re.compile(r"[+-]?(?:inf|infinity|1\.#inf)", re.ASCII | re.IGNORECASE)
# A text column with more distinct values than this is treated as free text, not categories.
MAX_INPUT_CATEGORIES = 50
_HINT = "upload a CSV with a header row and at least 2 data rows."
# The uploader's advice ("upload a smaller file") reworded for a file given by path.
_UPLOAD = re.compile(r"\bupload\b")


def _show(column_name: str) -> str:
    # Messages quote column names; a "name" that is really a whole mangled line must not flood them.
    return repr(column_name if len(column_name) <= 40 else column_name[:37] + "...")


def _mb(n_bytes: int) -> str:
    # Round up so a file just over the limit never reads as equal to it.
    hundredths = math.ceil(n_bytes * 100 / MB)
    if hundredths < 10:
        return f"{n_bytes} bytes"
    return f"{hundredths / 100:.2f}".rstrip("0").rstrip(".") + " MB"


def _looks_binary(data: bytes) -> str | None:
    if data.startswith(b"PK\x03\x04"):
        return "it looks like a ZIP archive or an Excel workbook; save the sheet as CSV first"
    if data.startswith(b"%PDF"):
        return "it looks like a PDF document, not a CSV table"
    if b"\x00" in data:
        return "it contains NUL bytes, so it is binary (or UTF-16) rather than CSV text"
    return None


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    reason = _looks_binary(data)
    if reason:
        raise _csv_error(f"csv: file is not a text table: {reason}.")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, ("utf-8" if encoding == "utf-8-sig" else encoding)
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover


def _check_printable(text: str) -> None:
    control = len(_CONTROL.findall(text))
    if control > _MAX_CONTROL_FRACTION * len(text):
        share = control / len(text)
        raise _csv_error(
            f"csv: file is not a text table: {share:.0%} of its characters are control "
            "characters, so it looks binary; upload a plain-text CSV file."
        )


def _field_counts(sample: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    counts = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                counts.append(len(row))
            if len(counts) >= _SNIFF_ROWS:
                break
    except csv.Error:
        return []
    return counts


def _fallback_delimiter(sample: str) -> str:
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        counts = _field_counts(sample, delimiter)
        if not counts or counts[0] < 2:
            continue
        # Prefer the delimiter that splits most lines like the header, then the one giving more columns.
        agreement = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = (agreement, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _detect_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return _fallback_delimiter(sample)
    counts = _field_counts(sample, sniffed)
    # The sniffer sometimes picks a character that does not split the header; trust it only if it does.
    if sniffed in DELIMITERS and counts and counts[0] >= 2:
        return sniffed
    return _fallback_delimiter(sample)


def _read_rows(text: str, delimiter: str) -> tuple[list[str], list[list[str]], int]:
    # strict makes an unclosed quote an error instead of silently swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    empty_rows = 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                # Truly empty lines are harmless; rows of bare delimiters are worth a note.
                empty_rows += bool(row)
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                continue
            if len(row) > len(header):
                extra = row[len(header) :]
                if any(cell.strip() for cell in extra):
                    raise _csv_error(
                        f"csv: line {reader.line_num} has {len(row)} fields but the header has "
                        f"{len(header)} ({_DELIMITER_NAMES[delimiter]}-separated); quote values "
                        "that contain the delimiter, or fix the header."
                    )
                row = row[: len(header)]
            rows.append(row + [""] * (len(header) - len(row)))
    except csv.Error as exc:
        raise _csv_error(
            f"csv: could not parse line {reader.line_num}: {exc}; check the quoting "
            "(an unclosed quote, or text right after a closing quote)."
        ) from exc
    if header is None:
        raise _csv_error(f"csv: file contains no data, only blank lines; {_HINT}")
    return header, rows, empty_rows


def _trim_trailing_blank_columns(header: list[str], rows: list[list[str]]) -> int:
    # A trailing delimiter on every line (a common spreadsheet export artefact) adds a nameless,
    # empty last column; dropping it is what the user meant.
    trimmed = 0
    while len(header) > 1 and not header[-1] and all(not row[-1].strip() for row in rows):
        header.pop()
        for row in rows:
            row.pop()
        trimmed += 1
    return trimmed


def _check_header(header: list[str], delimiter: str) -> None:
    blank = [i + 1 for i, name in enumerate(header) if not name]
    if blank:
        where = ", ".join(str(i) for i in blank)
        hint = " (a saved pandas index?)" if blank == [1] else ""
        raise _csv_error(
            f"csv: column {where} of {len(header)} has a blank name{hint}; every column needs a name in the header row."
        )
    duplicates = [name for name, count in Counter(header).items() if count > 1]
    if duplicates:
        listed = ", ".join(_show(name) for name in duplicates[:5])
        if len(duplicates) > 5:
            listed += f" and {len(duplicates) - 5} more"
        raise _csv_error(f"csv: duplicate column names {listed}; every column needs a unique name.")
    if len(header) < 2:
        raise _csv_error(
            f"csv: found only 1 column ({_show(header[0])}) when splitting on "
            f"{_DELIMITER_NAMES[delimiter]}s; a multi-task dataset needs at least one input "
            "column and one target column. Use comma, semicolon, tab or pipe as the delimiter."
        )


def _parse_numbers(present: list[str], delimiter: str) -> list[float] | None:
    if not present:
        return None
    infinite = [_INFINITY.fullmatch(cell) is not None for cell in present]
    finite_cells = [cell for cell, inf in zip(present, infinite) if not inf]
    if all(_NUMBER.fullmatch(cell) for cell in finite_cells):
        numbers = [math.inf if inf else float(cell) for cell, inf in zip(present, infinite)]
    elif delimiter != "," and all(_DECIMAL_COMMA.fullmatch(cell) for cell in finite_cells):
        # Semicolon-separated exports from European spreadsheets write 3,14 for 3.14.
        numbers = [math.inf if inf else float(cell.replace(",", ".")) for cell, inf in zip(present, infinite)]
    else:
        return None
    if not finite_cells and not any(math.isfinite(x) for x in numbers):
        return None  # a column of only "inf" words is text (a label), not numbers
    # inf, -inf and values like 1e999 (which overflow) would poison training: refused, naming the column.
    bad = next((cell for cell, x in zip(present, numbers) if not math.isfinite(x)), None)
    if bad is not None:
        raise _NonFinite(bad)
    return numbers


class _NonFinite(Exception):
    """A numeric column holds a value that is not a finite number (its text is the exception's argument)."""


def _to_column(values: list[str], delimiter: str) -> tuple[pd.Series, bool]:
    # Plain Python per cell: pandas' string methods loop in Python too, with more overhead.
    cells = [value.strip() for value in values]
    missing = [cell.lower() in _MISSING_TOKENS for cell in cells]
    numbers = _parse_numbers([c for c, gone in zip(cells, missing) if not gone], delimiter)
    if numbers is not None:
        parsed = iter(numbers)
        return pd.Series([math.nan if gone else next(parsed) for gone in missing], dtype=float), True
    return pd.Series([None if gone else c for c, gone in zip(cells, missing)], dtype="str"), False


def _usable_input(column: pd.Series, is_numeric: bool) -> bool:
    distinct = column.nunique()
    if is_numeric:
        return distinct > 1
    # A text value that never repeats (an id, a name) cannot generalise as a category.
    return 1 < distinct <= MAX_INPUT_CATEGORIES and distinct < len(column)


def _csv_error(message: str) -> DataError:
    """A DataError about the file (its ``param`` is ``csv``; ``load_csv`` sets its ``value``, the file name)."""
    return DataError(message, param="csv")


def load_csv(data: bytes, name: str = "upload.csv", max_bytes: int = MAX_CSV_BYTES) -> Dataset:
    """Parse CSV bytes into a Dataset; raise DataError naming `csv` and what to fix if unusable."""
    try:
        return _parse_csv(data, name, max_bytes)
    except DataError as exc:
        if exc.param == "csv" and exc.value is None:
            exc.value = name
        raise


def _parse_csv(data: bytes, name: str, max_bytes: int) -> Dataset:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_csv expects the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise _csv_error(
            f"csv: file is {_mb(len(data))}, over the {_mb(max_bytes)} limit; "
            "upload a smaller file or a sample of the rows."
        )
    if not data:
        raise _csv_error(f"csv: file is empty (0 bytes); {_HINT}")
    text, encoding = _decode(data)
    _check_printable(text)
    if not text.strip():
        raise _csv_error(f"csv: file contains only whitespace ({len(data)} bytes); {_HINT}")

    delimiter = _detect_delimiter(text)
    header, rows, empty_rows = _read_rows(text, delimiter)
    trimmed = _trim_trailing_blank_columns(header, rows)
    _check_header(header, delimiter)
    if not rows:
        raise _csv_error(f"csv: file has a header row ({len(header)} columns) but no data rows; {_HINT}")
    if len(rows) < 2:
        raise _csv_error(f"csv: file has only 1 data row; {_HINT}")

    columns: dict[str, pd.Series] = {}
    numeric: dict[str, bool] = {}
    for index, column_name in enumerate(header):
        values = [row[index] for row in rows]
        try:
            series, is_numeric = _to_column(values, delimiter)
        except _NonFinite as exc:
            cell = exc.args[0]
            line = next(i for i, v in enumerate(values) if v.strip() == cell) + 2  # the header is line 1
            raise _csv_error(
                f"csv: column {_show(column_name)} holds {_show(cell)} in data row {line - 1}, which is not a "
                "finite number; replace it with a number, or leave the cell empty to drop the row."
            ) from None
        if series.isna().all():
            raise _csv_error(
                f"csv: column {_show(column_name)} is entirely empty (no values in {len(rows)} rows); "
                "remove it or fill it in."
            )
        columns[column_name] = series
        numeric[column_name] = is_numeric
    frame = pd.DataFrame(columns)

    notes: list[str] = []
    if encoding in ("cp1252", "latin-1"):
        notes.append(f"Read as {encoding} text because the file is not valid UTF-8; check accented characters.")
    elif encoding != "utf-8":
        notes.append(f"Read as {encoding} text.")
    if delimiter != ",":
        notes.append(f"Detected {_DELIMITER_NAMES[delimiter]} as the delimiter.")
    if empty_rows:
        notes.append(f"Skipped {empty_rows} row(s) with only empty cells.")
    if trimmed:
        notes.append(f"Dropped {trimmed} nameless empty column(s) left by trailing delimiters.")
    if all(_NUMBER.fullmatch(column_name) for column_name in header):
        notes.append("Every column name is a number: is the first row data rather than a header?")

    frame, dropped_notes, rows_dropped = drop_missing(frame, "csv")
    notes.extend(dropped_notes)
    if len(frame) < 2:
        raise _csv_error(
            f"csv: only {len(frame)} of {len(rows)} rows have no missing value; "
            "at least 2 complete rows are needed. Fill in the gaps or remove mostly empty columns."
        )
    if not any(_usable_input(frame[c], numeric[c]) for c in frame.columns):
        raise _csv_error(
            "csv: no usable input column: every column is constant, or text that never repeats a value "
            f"(an id or free text) or has more than {MAX_INPUT_CATEGORIES} distinct values; "
            "add at least one varying numeric or categorical column."
        )

    info = {
        "rows": len(frame),
        "columns": frame.shape[1],
        "delimiter": delimiter,
        "encoding": encoding,
        "bytes": len(data),
    }
    return Dataset(
        name=f"csv:{name}",
        frame=frame,
        notes=notes,
        suggested_tasks=(header[-1],),
        info=info,
        rows_dropped=rows_dropped,
    )


def load_csv_path(path: str | os.PathLike) -> Dataset:
    """Load a CSV file from disk (for the CLI's --csv); raise DataError naming `csv` and the path."""
    file = Path(path)
    if not file.exists():
        raise bad_value("csv", str(path), "no such file", DataError)
    if not file.is_file():
        raise bad_value("csv", str(path), "not a regular file", DataError)
    size = file.stat().st_size
    if size > MAX_CSV_BYTES:
        raise bad_value("csv", str(path), f"file is {_mb(size)}, over the {_mb(MAX_CSV_BYTES)} limit", DataError)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise bad_value("csv", str(path), f"cannot be read ({exc.strerror or exc})", DataError) from exc
    try:
        return load_csv(data, name=file.name)
    except DataError as exc:
        if exc.param != "csv" or not str(exc).startswith("csv: "):
            raise
        # The parser words its messages for the dashboard's uploader ("csv: ...; upload a CSV ..."); on the
        # command line, name the file given as the CLI's other errors do, and drop the upload wording.
        reason = _UPLOAD.sub("use", str(exc)[len("csv: "):])
        raise DataError(f"csv={str(path)!r} is invalid: {reason}", param="csv", value=str(path)) from None
