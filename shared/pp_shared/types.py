"""Annotated types for what HTTP clients send: integers that fit the database, and free text
without control characters.

Use them on path, query and body fields of every API, so that bad input is a 422 naming the
field instead of an error deep in the driver (asyncpg raises OverflowError for an integer
outside int64) or raw control characters in answers, logs and chat messages.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer a Postgres ``bigint`` holds."""

DbId = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A positive ``bigint`` id (serial and identity columns start at 1)."""

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


SINGLE_LINE = AfterValidator(_single_line)
"""Free text on one line: no control character at all (names, reasons, labels). Put length
constraints before it, ``Annotated[str, Field(max_length=200), SINGLE_LINE]``: after it,
pydantic words their errors for any sequence ("at most 200 items")."""

MULTI_LINE = AfterValidator(_multi_line)
"""Free text over several lines: line feed and tab allowed, no other control character
(descriptions, notes). Length constraints go before it, as for ``SINGLE_LINE``."""

SingleLineText = Annotated[str, SINGLE_LINE]
MultiLineText = Annotated[str, MULTI_LINE]
