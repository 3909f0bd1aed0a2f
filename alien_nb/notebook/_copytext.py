"""``COPY ... TO STDOUT`` output (text or CSV format) read back into a DataFrame of strings.

COPY sends no column types, so every value is a ``str`` (NULL as NaN);
column names come from ``HEADER`` when the statement asks for one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..core._sql import Statement

if TYPE_CHECKING:
    import pandas as pd

_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.DOTALL)


def _option(text: str, name: str) -> str | None:
    match = re.search(rf"\b{name}\s+(?:as\s+)?E?'((?:[^']|'')*)'", text, re.IGNORECASE)
    return match.group(1).replace("''", "'") if match else None


def _options_text(statement: Statement) -> str:
    """The statement from its STDOUT / STDIN on: where COPY's options are, in or out of parentheses."""
    ends = [m.end() for m in re.finditer(r"\b(stdout|stdin)\b", statement.text, re.IGNORECASE)]
    return statement.text[ends[-1] :] if ends else ""


def copy_format(statement: Statement) -> str:
    options = _options_text(statement).lower()
    if re.search(r"\bbinary\b", options):
        return "binary"
    if re.search(r"\bcsv\b", options):
        return "csv"
    return "text"


def frame_from_copy(data: bytes, statement: Statement, encoding: str) -> pd.DataFrame:
    """The rows of a text- or CSV-format COPY output, as strings."""
    import pandas as pd

    text = data.decode(encoding)
    fmt = copy_format(statement)
    options = _options_text(statement)
    header = bool(re.search(r"\bheader\b(?!\s*(false|off|0)\b)", options, re.IGNORECASE))
    delimiter = _option(options, "delimiter") or ("," if fmt == "csv" else "\t")
    null = _option(options, "null")
    rows = _csv_rows(text, delimiter, _option(options, "quote") or '"', null or "") if fmt == "csv" \
        else _text_rows(text, delimiter, "\\N" if null is None else null)  # fmt: skip
    names: list[str]
    if header and rows:
        names = [str(n) for n in rows.pop(0)]
    else:
        width = max((len(r) for r in rows), default=0)
        names = [f"column_{i + 1}" for i in range(width)]
    frame = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
    return frame.astype(pd.StringDtype(storage="pyarrow", na_value=float("nan")))


def _text_rows(text: str, delimiter: str, null: str) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    for line in text.split("\n"):
        if not line:
            continue
        fields: list[str | None] = []
        for raw in line.split(delimiter):
            fields.append(None if raw == null else _ESCAPE.sub(_unescape, raw) if "\\" in raw else raw)
        rows.append(fields)
    return rows


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "x" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _ESCAPES.get(code, code)


def _csv_rows(text: str, delimiter: str, quote: str, null: str) -> list[list[str | None]]:
    """CSV as Postgres writes it: an unquoted ``null`` string is NULL, a quoted one is the string."""
    rows: list[list[str | None]] = []
    fields: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == quote:
            j, parts = i + 1, []
            while True:
                k = text.find(quote, j)
                if k < 0:
                    parts.append(text[j:])
                    j = n
                    break
                parts.append(text[j:k])
                if text.startswith(quote * 2, k):
                    parts.append(quote)
                    j = k + 2
                    continue
                j = k + 1
                break
            fields.append("".join(parts))
            i = j
        else:
            ends = [p for p in (text.find(delimiter, i), text.find("\n", i)) if p >= 0]
            j = min(ends) if ends else n
            raw = text[i:j].rstrip("\r")
            fields.append(None if raw == null else raw)
            i = j
        if i >= n or text[i] == "\n":
            rows.append(fields)
            fields = []
            i += 1
        elif text.startswith(delimiter, i):
            i += len(delimiter)
            if i >= n or text[i] == "\n":  # a trailing empty field ends the row
                fields.append(None if null == "" else "")
                rows.append(fields)
                fields = []
                i += 1
    return rows
