"""Time as alerting reads and shows it: an injectable clock (tests move a manual one), whole
hours (rules read hourly rollups), and instants in answers and messages (UTC, to the second)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

Clock = Callable[[], datetime]
HOUR = timedelta(hours=1)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def floor_hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def iso(ts: datetime) -> str:
    """``2026-11-20T10:15:00Z``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_or_none(ts: datetime | None) -> str | None:
    return iso(ts) if ts is not None else None


def _to_second(ts: datetime) -> datetime:
    if ts.microsecond == 0 and ts.tzinfo is UTC:
        return ts  # as the database answers most of them: nothing to do, and half the cost
    return ts.astimezone(UTC).replace(microsecond=0)


Instant = Annotated[
    datetime,
    AfterValidator(_to_second),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-20T10:15:00Z"]}),
]
"""A point in time of an answer, written as :func:`iso` writes it: in UTC, to the second
(pydantic writes UTC with a ``Z``)."""
