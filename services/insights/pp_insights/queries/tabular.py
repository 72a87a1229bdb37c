"""Tabular answers as JSON or, when the client asks for it with ``Accept``, as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import Response

CSV = "text/csv"
JSON = "application/json"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or CSV (RFC 4180, a header row first) for `Accept: text/csv`. "
        "A CSV text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is "
        "prefixed with a single quote (`'`), so that a spreadsheet shows it as text instead "
        "of running it as a formula; numbers are written as they are.",
        "content": {CSV: {"schema": {"type": "string"}}},
    }
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


class Table(Protocol):
    rows: list[dict[str, Any]]

    def columns(self) -> list[str]: ...

    def model_dump_json(self, *, by_alias: bool) -> str: ...


def prefers_csv(accept: str | None) -> bool:
    """True when ``Accept`` rates text/csv above application/json. Only an explicit JSON
    entry competes: ``text/csv, */*`` asks for CSV, a tie keeps the JSON default."""
    quality = {CSV: 0.0, JSON: 0.0}
    for item in (accept or "").split(","):
        media, *params = (p.strip() for p in item.split(";"))
        if media.lower() not in quality:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(quality[media.lower()], q)
    return quality[CSV] > 0 and quality[CSV] > quality[JSON]


def tabular(answer: Table, accept: str | None) -> Response:
    """``answer`` as CSV when the client prefers it, else as JSON."""
    headers = {"Vary": "Accept"}
    if prefers_csv(accept):
        return Response(to_csv(answer.columns(), answer.rows), media_type=CSV, headers=headers)
    # Straight to JSON in pydantic-core: dumping to Python objects first and encoding them
    # with the json module took most of the time of answers with thousands of rows.
    return Response(answer.model_dump_json(by_alias=True), media_type=JSON, headers=headers)


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = _plain(value)
    if isinstance(value, int | float) or not text.startswith(FORMULA_STARTS):
        return text
    # Text a spreadsheet would run as a formula (a queue named =HYPERLINK(...)): shown as
    # text instead, with the quote visible. Numbers, negative ones included, stay numbers.
    return "'" + text


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        # The same spelling as the JSON answers.
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        # Ids never hold spaces, so one cell keeps a spreadsheet's row per answer row.
        return " ".join(_plain(v) for v in value)
    return str(value)
