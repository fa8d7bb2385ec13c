"""CSV files that a spreadsheet opens as data, never as formulas (CSV injection; OWASP's guidance).

Column names and class labels come from users' files: a cell such as ``=cmd|' /C calc'!A0`` or
``+HYPERLINK(...)`` would run when a student opens the teacher's export in a spreadsheet. Every CSV the app
writes goes through ``csv_bytes``: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading ``'`` (which spreadsheets show as text and do not evaluate), and every text
cell is quoted; numbers stay numbers, and so does text that is exactly a plain number (``-1``); NaN and
infinities become empty cells.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet won't evaluate: numbers as they are, risky text quoted with ``'``."""
    if hasattr(value, "dtype") and hasattr(value, "item"):
        value = value.item()  # a numpy scalar: its Python number (or text)
    if value is None:
        return ""
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> bytes:
    """UTF-8 CSV bytes of ``rows`` (dicts keyed by ``header``, or sequences in its order), every cell made safe."""
    buffer = io.StringIO()
    # Every text cell in double quotes (OWASP's advice; it also keeps a carriage return inside its cell),
    # numbers bare so that a spreadsheet reads them as numbers.
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        cells = [row.get(name) for name in header] if isinstance(row, Mapping) else list(row)
        writer.writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8")


def frame_csv(frame: Any) -> bytes:
    """A pandas DataFrame (its columns and rows, no index) as safe CSV bytes."""
    header = [str(c) for c in frame.columns]
    return csv_bytes(header, frame.itertuples(index=False, name=None))
