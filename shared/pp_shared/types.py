"""Annotated types for what HTTP clients send: integers that fit the database, and free text
without control characters.

Use them on path, query and body fields of every API, so that bad input is a 422 naming the
field instead of an error deep in the driver (asyncpg raises OverflowError for an integer
outside int64) or raw control characters in answers, logs and chat messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer a Postgres ``bigint`` holds."""

JSON_SAFE_MAX = 2**53 - 1
"""The largest integer every JSON client holds exactly (a JavaScript number's mantissa)."""

DbId = Annotated[int, Field(ge=1, le=JSON_SAFE_MAX)]
"""A positive id of a ``bigint`` serial column (they start at 1), up to 2^53 - 1: larger ids
would not survive a JavaScript client or a JSON Schema validator that reads numbers as
floats, and a serial column never gets there."""

_RFC3339_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_text(value: object) -> object:
    # pydantic's lax mode reads "0" or 1700000000 as Unix time: a misspelt bound would then
    # quietly select 1970. Only a timestamp written out is a timestamp here.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339_START.match(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "not an RFC 3339 timestamp",
        {"expected": "RFC 3339 with offset, e.g. 2026-11-20T00:00:00Z"},
    )


Rfc3339 = BeforeValidator(_rfc3339_text)
"""Only a timestamp written out (RFC 3339) is one: no Unix seconds."""

AwareTimestamp = Annotated[AwareDatetime, Rfc3339]
"""An RFC 3339 timestamp with its offset, as every query bound is written."""

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Unicode category Cc: the C0 controls, DEL and the C1 controls."""

CONTROL_BUT_LINE_BREAKS_AND_TABS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Cc without line feed, carriage return and tab: free text pasted from moderation tools
(an event's ``text_excerpt``) keeps its line breaks as they came."""

CONTROL_BUT_LINE_FEEDS_AND_TABS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Cc without line feed and tab: multi-line text written for PolicyPulse itself (notes,
descriptions). A carriage return is refused: on a terminal it rewrites the line it is on."""


def control_character_error(found: re.Match[str], *, allowed: str = "") -> PydanticCustomError:
    """The validation error for the first control character ``found`` in a string."""
    note = f" (only {allowed} are allowed here)" if allowed else ""
    return PydanticCustomError(
        "control_character",
        "control character U+{code} at position {position}" + note,
        {
            "code": f"{ord(found.group()):04X}",
            "position": found.start(),
            "expected": "a string without control characters"
            + (f" other than {allowed}" if allowed else ""),
        },
    )


def _single_line(value: str) -> str:
    # isprintable() clears almost every string in one C call; it is false for more than Cc
    # (a no-break space, say), so the regex decides.
    if not value.isprintable() and (found := CONTROL_CHARACTERS.search(value)):
        raise control_character_error(found)
    return value


def _multi_line(value: str) -> str:
    if not value.isprintable() and (found := CONTROL_BUT_LINE_FEEDS_AND_TABS.search(value)):
        raise control_character_error(found, allowed="line feed and tab")
    return value


SINGLE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
"""``SINGLE_LINE`` as a JSON Schema pattern, for the OpenAPI documents."""
MULTI_LINE_PATTERN = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"
"""``MULTI_LINE`` as a JSON Schema pattern."""


@dataclass(frozen=True)
class _Text:
    """Checks a string after its other constraints, and documents the check as a pattern."""

    check: Callable[[str], str]
    pattern: str

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        documented = handler(schema)
        documented.setdefault("pattern", self.pattern)
        return documented


SINGLE_LINE = _Text(_single_line, SINGLE_LINE_PATTERN)
"""Free text on one line: no control character at all (names, reasons, labels). Put length
constraints before it, ``Annotated[str, Field(max_length=200), SINGLE_LINE]``: after it,
pydantic words their errors for any sequence ("at most 200 items")."""

MULTI_LINE = _Text(_multi_line, MULTI_LINE_PATTERN)
"""Free text over several lines: line feed and tab allowed, no other control character
(descriptions, notes). Length constraints go before it, as for ``SINGLE_LINE``."""

SingleLineText = Annotated[str, SINGLE_LINE]
MultiLineText = Annotated[str, MULTI_LINE]
