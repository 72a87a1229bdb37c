"""Events read from a file, each with its row number: a JSON array (or one object), NDJSON
(one event per line), or CSV (a header of field names; cells typed by the event schema)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

Format = Literal["json", "ndjson", "csv"]
SUFFIXES: dict[str, Format] = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".csv": "csv",
}


class FileError(Exception):
    """The file cannot be read as a whole (unreadable, or not the format it claims)."""


@dataclass(frozen=True)
class Row:
    """One event of the file: its row number (the line for NDJSON, the data row counted from
    1 for CSV, the array index plus 1 for JSON) and either its body or why it has none."""

    number: int
    body: bytes | None
    problem: str | None = None
    event_id: str | None = None


def format_of(path: Path, given: Format | None) -> Format:
    if given is not None:
        return given
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise FileError(f"cannot tell the format of {path.name}: name it with --format")
    return found


def read_rows(path: Path, fmt: Format) -> list[Row]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}") from exc
    if fmt == "json":
        return list(_json_rows(data))
    if fmt == "ndjson":
        return list(_ndjson_rows(data))
    return list(_csv_rows(data))


def _row(number: int, value: Any) -> Row:
    event_id = value.get("event_id") if isinstance(value, dict) else None
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Row(number, body, event_id=event_id if isinstance(event_id, str) else None)


def _json_rows(data: bytes) -> Iterator[Row]:
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileError(f"not valid JSON: {exc}") from exc
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        yield _row(index + 1, item)


def _ndjson_rows(data: bytes) -> Iterator[Row]:
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield Row(number, None, problem=f"not valid JSON: {exc}")
            continue
        yield _row(number, value)


@cache
def _typed_fields() -> dict[str, str]:
    """Event fields whose JSON type is not a string (``integer``, ``boolean``), from the
    event schema, so CSV cells can be typed the way the API reads them."""
    from pp_shared.contracts.events import EVENT_ADAPTER

    schema = EVENT_ADAPTER.json_schema()
    typed: dict[str, str] = {}
    for definition in schema.get("$defs", {}).values():
        for name, prop in definition.get("properties", {}).items():
            kinds = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
            for kind in ("integer", "number", "boolean"):
                if kind in kinds:
                    typed[name] = kind
    return typed


def _cell(name: str, text: str) -> Any:
    kind = _typed_fields().get(name)
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # the API names the field and what it found
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    return text


def _csv_rows(data: bytes) -> Iterator[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(f"not UTF-8: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return
    for number, record in enumerate(reader, start=1):
        if None in record:
            yield Row(number, None, problem="more cells than the header has columns")
            continue
        # An empty cell is a field left out.
        event = {k: _cell(k, v) for k, v in record.items() if k and v not in (None, "")}
        yield _row(number, event)
