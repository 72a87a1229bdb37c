"""Reading bulk bodies of calibration, as JSON or CSV, into rows validated one by one.

A body that cannot be read at all (not UTF-8, not JSON, a CSV header without a required
column, too many rows) is refused whole with a problem naming what is wrong; otherwise each
row gets its own outcome, with JSON pointers relative to the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from pp_insights.calibration.schemas import MAX_ROWS, CaseRow, GoldenSetIn
from pp_shared.http_guards import JSON_TYPES, is_json, media_type, unsupported_media_type
from pp_shared.problems import InvalidInput, field_errors

CSV_TYPES = ("text/csv", "application/csv")
Format = Literal["json", "csv"]
Row = TypeVar("Row", bound=BaseModel)


def body_format(content_type: str | None) -> Format:
    """JSON or CSV, from the request's Content-Type."""
    kind = media_type(content_type or "")
    if is_json(kind):
        return "json"
    if kind in CSV_TYPES:
        return "csv"
    raise unsupported_media_type(content_type, ", ".join((*JSON_TYPES, *CSV_TYPES)))


def request_body(description: str, json_schema: dict[str, Any]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads JSON or CSV: what the HTTP guards let
    through, and what the OpenAPI document shows (``json_schema``: the JSON body's)."""
    csv_schema = {"type": "string", "description": f"CSV with a header row: {description}"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {**json_schema, "description": description}},
                **{kind: {"schema": csv_schema} for kind in CSV_TYPES},
            },
        }
    }


def rows_schema(row: type[BaseModel], key: str) -> dict[str, Any]:
    """A JSON body of rows: a list of ``row``, or an object holding it under ``key``."""
    rows = {"type": "array", "items": row.model_json_schema()}
    wrapped = {
        "type": "object",
        "additionalProperties": False,
        "required": [key],
        "properties": {key: rows},
    }
    return {"anyOf": [rows, wrapped]}


def golden_set_schema() -> dict[str, Any]:
    """A golden set as JSON, its cases stated as the rows they are read as."""
    schema = GoldenSetIn.model_json_schema()
    schema["properties"]["cases"] = {"type": "array", "items": CaseRow.model_json_schema()}
    return schema


@dataclass(frozen=True)
class RawRow:
    index: int
    line: int | None
    """The CSV line of the row (the header is line 1); None for JSON."""
    fields: dict[str, Any]


def decode_json(body: bytes) -> Any:
    """The JSON value of a body; a 422 naming the problem when it is not UTF-8 JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            "the body is not UTF-8 JSON", errors=[{"pointer": "", "detail": str(exc)}]
        ) from None


def json_rows(items: Any, *, pointer: str) -> list[RawRow]:
    """The objects of a JSON list as rows; a 422 when it is not a list of at most
    :data:`MAX_ROWS` items (an item that is not an object is that row's error)."""
    if not isinstance(items, list):
        raise InvalidInput(
            "expected a list of rows", errors=[{"pointer": pointer, "detail": "expected a list"}]
        )
    _at_most(len(items), pointer)
    return [
        RawRow(i, None, item if isinstance(item, dict) else {"": item})
        for i, item in enumerate(items)
    ]


def csv_rows(body: bytes, *, required: Sequence[str], known: Sequence[str]) -> list[RawRow]:
    """The data rows of a CSV body with a header row. Empty cells are absent fields. A 422
    when the body is not UTF-8 CSV, or its header lacks a required column or names one the
    rows do not have."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "the CSV body is not UTF-8",
            errors=[{"pointer": "", "detail": f"byte {exc.start} is not UTF-8"}],
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise InvalidInput(
                "the CSV body is empty", errors=[{"pointer": "", "detail": "expected a header row"}]
            )
        _check_header(header, required, known)
        rows: list[RawRow] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            _at_most(len(rows) + 1, "")
            fields: dict[str, Any] = {
                name: cell for name, cell in zip(header, record, strict=False) if cell.strip()
            }
            if len(record) > len(header):
                fields[""] = record[len(header) :]
            rows.append(RawRow(len(rows), reader.line_num, fields))
    except csv.Error as exc:
        raise InvalidInput(
            "the CSV body is not readable",
            errors=[{"pointer": "", "detail": f"line {reader.line_num}: {exc}"}],
        ) from None
    return rows


def _check_header(header: list[str], required: Sequence[str], known: Sequence[str]) -> None:
    errors = [
        {"pointer": f"/header/{name}", "detail": "missing column", "expected": ",".join(required)}
        for name in required
        if name not in header
    ]
    errors += [
        {"pointer": f"/header/{i}", "detail": "unknown column", "found": name[:80],
         "expected": ",".join(known)}
        for i, name in enumerate(header)
        if name not in known
    ]  # fmt: skip
    errors += [
        {"pointer": f"/header/{i}", "detail": "column named twice", "found": name[:80]}
        for i, name in enumerate(header)
        if name in header[:i]
    ]
    if errors:
        raise InvalidInput("the CSV header does not fit", errors=errors)


def _at_most(count: int, pointer: str) -> None:
    if count > MAX_ROWS:
        raise InvalidInput(
            f"at most {MAX_ROWS} rows a request",
            errors=[{"pointer": pointer, "detail": f"more than {MAX_ROWS} rows"}],
        )


def validate(model: type[Row], row: RawRow) -> Row | list[dict[str, Any]]:
    """The row as ``model``, or its errors with pointers relative to the row."""
    if "" in row.fields:
        detail = "expected an object" if row.line is None else "more cells than header columns"
        return [{"pointer": "", "detail": detail}]
    try:
        return model.model_validate(row.fields)
    except ValidationError as exc:
        return field_errors(exc.errors())
