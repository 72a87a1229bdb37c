"""Reading an import's body into statements: the API form (JSON, one statement or a list) and
the CSV export (the 37-column layout of 2023-2025 and the current 38-column one, which added
``content_id_ean``), with the bounds that refuse a hostile file before it is held."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any, Literal

from pp_ingest.intake.bodies import undecodable
from pp_ingest.intake.validation import UndecodableJson, load_json, utf8_failure
from pp_ingest.settings import DSA_CSV_MAX_FIELD_CHARS, DSA_IMPORT_MAX_STATEMENTS
from pp_shared.problems import InvalidInput, PayloadTooLarge

CSV_COLUMNS = (
    "uuid",
    "decision_visibility",
    "decision_visibility_other",
    "end_date_visibility_restriction",
    "decision_monetary",
    "decision_monetary_other",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "content_type",
    "content_type_other",
    "content_language",
    "content_date",
    "content_id_ean",
    "territorial_scope",
    "application_date",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "platform_uid",
    "created_at",
)
CSV_COLUMNS_V1 = tuple(c for c in CSV_COLUMNS if c != "content_id_ean")
ARRAY_FIELDS = frozenset(
    {
        "decision_visibility",
        "content_type",
        "category_addition",
        "category_specification",
        "territorial_scope",
    }
)


@dataclass
class Row:
    index: int
    data: Any
    line: int | None = None
    errors: list[dict[str, Any]] | None = None


def read_json(body: bytes, *, max_statements: int) -> list[Row]:
    try:
        data = load_json(body)
    except UndecodableJson as exc:
        raise undecodable(exc) from None
    statements = data if isinstance(data, list) else [data]
    if len(statements) > max_statements:
        raise too_many_statements(max_statements, len(statements))
    return [Row(i, s) for i, s in enumerate(statements)]


def too_many_statements(limit: int, found: int | None) -> PayloadTooLarge:
    """The 413 for an import over the limit, raised before the statements are held."""
    return PayloadTooLarge(
        f"an import may hold at most {limit} statements; this one has "
        + (str(found) if found is not None else "more")
    )


def read_csv(
    body: bytes,
    *,
    max_field_chars: int = DSA_CSV_MAX_FIELD_CHARS,
    max_statements: int = DSA_IMPORT_MAX_STATEMENTS,
) -> tuple[Literal["csv", "csv_v1"], list[Row]]:
    """Rows of a DSA CSV export; the header says which layout it is. A header that is not a
    DSA layout, or a field longer than ``max_field_chars``, is a 422 for the whole body, and
    more than ``max_statements`` rows a 413."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        raise undecodable(utf8_failure(body, bad)) from None
    header, header_lines, header_chars = _read_header(text)
    layout = _layout_of(header)
    buffer = io.StringIO(text, newline="")
    buffer.seek(header_chars)
    # The csv module's own field limit (131,072 characters, process-wide) is an error that
    # ends the reader; fields between max_field_chars and it are refused below.
    reader = csv.reader(buffer)
    rows: list[Row] = []
    while True:
        start = buffer.tell()
        line = header_lines + reader.line_num + 1  # where the next record starts
        try:
            values = next(reader, None)
        except csv.Error as exc:
            raise _unreadable_row(
                text, start, header, len(rows), line, max_field_chars, exc
            ) from None
        if values is None:
            break
        if values and max(map(len, values)) > max_field_chars:
            column = next(i for i, v in enumerate(values) if len(v) > max_field_chars)
            raise _field_too_long(header, column, len(rows), line, max_field_chars)
        if not any(v.strip() for v in values):
            continue
        if len(rows) == max_statements:
            # Counting the rest would cost as much as reading them.
            raise too_many_statements(max_statements, None)
        end_line = header_lines + reader.line_num
        row = Row(len(rows), None, line=end_line)
        if len(values) != len(header):
            row.errors = [
                {
                    "pointer": "",
                    "detail": f"line {end_line} has {len(values)} fields; "
                    f"the header has {len(header)}",
                }
            ]
        else:
            row.data = {
                name: _csv_value(name, value)
                for name, value in zip(header, values, strict=True)
                if value.strip()
            }
        rows.append(row)
    return layout, rows


# A header is read from at most this many characters, and may have at most this many columns:
# the DSA export's has 38 columns in 765 characters. A longer or wider one is refused before
# any of it is held (a header of a million columns once took two seconds and half a gigabyte),
# while one with a few stray columns still gets every missing and unknown column named.
MAX_HEADER_CHARS = 4096
MAX_CSV_COLUMNS = 2 * len(CSV_COLUMNS)


def _read_header(text: str) -> tuple[list[str], int, int]:
    """The header row, and how many lines and characters it took."""
    head = text[:MAX_HEADER_CHARS]
    lines = io.StringIO(head, newline="")
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _header_problem(f"the CSV header is not readable: {exc}") from None
    if header is None:
        raise InvalidInput(
            "the CSV body is empty", errors=[{"pointer": "", "detail": "expected a header row"}]
        )
    consumed = lines.tell()
    if consumed == len(head) < len(text) and not head.endswith(("\n", "\r")):
        raise _header_problem(f"the CSV header is longer than {MAX_HEADER_CHARS} characters")
    if len(header) > MAX_CSV_COLUMNS:
        raise _header_problem(
            f"the CSV header has {len(header)} columns; a DSA export has "
            f"{len(CSV_COLUMNS_V1)} or {len(CSV_COLUMNS)}"
        )
    return [h.strip() for h in header], reader.line_num, consumed


def _header_problem(detail: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"pointer": "/header", "detail": detail}])


def _layout_of(header: list[str]) -> Literal["csv", "csv_v1"]:
    if set(header) == set(CSV_COLUMNS):
        return "csv"
    if set(header) == set(CSV_COLUMNS_V1):
        return "csv_v1"
    missing = [c for c in CSV_COLUMNS_V1 if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    raise InvalidInput(
        "the CSV header is neither the 38-column DSA export layout nor the 37-column one",
        errors=[
            *({"pointer": "/header", "field": c, "detail": "missing column"} for c in missing),
            *({"pointer": "/header", "field": c, "detail": "unknown column"} for c in unknown),
        ],
    )


def _field_too_long(
    header: list[str], column: int, index: int, line: int, limit: int
) -> InvalidInput:
    """The 422 for a field over the limit: ``/rows/<index>/<column name>``."""
    name = header[column] if column < len(header) else None
    where = name or f"field {column + 1}"
    return InvalidInput(
        f"a field of the CSV body is longer than {limit} characters",
        errors=[
            {
                "pointer": f"/rows/{index}" + (f"/{name}" if name else ""),
                **({"field": name} if name else {}),
                "detail": f"the row on line {line}: {where} is longer than {limit} characters",
            }
        ],
    )


def _unreadable_row(
    text: str, start: int, header: list[str], index: int, line: int, limit: int, exc: csv.Error
) -> InvalidInput:
    """The 422 for a record the csv module gave up on, which it does (under the default
    dialect, with every line end accepted) only for a field over its own limit. It does not
    say which field, so the record is scanned for the first one over ``limit``."""
    column = _long_field(text, start, limit)
    if column is not None:
        return _field_too_long(header, column, index, line, limit)
    return InvalidInput(
        f"the CSV row on line {line} is not readable",
        errors=[{"pointer": f"/rows/{index}", "detail": f"line {line}: {exc}"}],
    )


_SEPARATOR = re.compile(r"[,\r\n]")


def _long_field(text: str, pos: int, limit: int) -> int | None:
    """The column of the first field longer than ``limit`` in the CSV record that starts at
    ``pos`` (the csv module's default dialect), or None."""
    column = 0
    while True:
        length = 0
        if text.startswith('"', pos):
            pos += 1
            while True:
                quote = text.find('"', pos)
                if quote < 0:
                    length, pos = length + len(text) - pos, len(text)
                    break
                length += quote - pos
                pos = quote + 1
                if not text.startswith('"', pos):
                    break
                length, pos = length + 1, pos + 1  # "" is one quote
        separator = _SEPARATOR.search(text, pos)
        end = separator.start() if separator else len(text)
        if length + end - pos > limit:
            return column
        if separator is None or separator.group() != ",":
            return None
        column, pos = column + 1, end + 1


def _csv_value(name: str, value: str) -> Any:
    """A CSV cell as the API form has it: arrays from ``["A","B"]`` or ``A,B``."""
    value = value.strip()
    if name not in ARRAY_FIELDS:
        return value
    if value.startswith("["):
        try:
            return load_json(value.encode())
        except UndecodableJson:
            return value  # left for validation to name the field
    return [part.strip() for part in value.split(",") if part.strip()]
