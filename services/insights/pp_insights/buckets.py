"""Time buckets of rollups and answers: UTC hours, days and ISO weeks (from Monday)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import overload


class Interval(StrEnum):
    """Bucket sizes of answers, in UTC; weeks start on Monday."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


_STEPS: dict[str, timedelta] = {
    Interval.HOUR: timedelta(hours=1),
    Interval.DAY: timedelta(days=1),
    Interval.WEEK: timedelta(weeks=1),
}


def floor_to(ts: datetime, interval: str) -> datetime:
    """The start of the UTC hour, day or ISO week (Monday) that holds ``ts``."""
    ts = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval == "hour":
        return ts
    ts = ts.replace(hour=0)
    return ts if interval == "day" else ts - timedelta(days=ts.weekday())


def ceil_to(ts: datetime, interval: str) -> datetime:
    """The first bucket boundary at or after ``ts``."""
    floor = floor_to(ts, interval)
    return floor if floor == ts else floor + _STEPS[interval]


@overload
def covering(start: datetime, end: datetime, interval: str) -> tuple[datetime, datetime]: ...
@overload
def covering(
    start: datetime | None, end: datetime | None, interval: str
) -> tuple[datetime | None, datetime | None]: ...
def covering(
    start: datetime | None, end: datetime | None, interval: str
) -> tuple[datetime | None, datetime | None]:
    """The range every query answers for ``from``/``to``: each bucket ``[start, end)`` touches,
    whole (``start`` back to its bucket's start, ``end`` on to its bucket's end)."""
    return (
        floor_to(start, interval) if start is not None else None,
        ceil_to(end, interval) if end is not None else None,
    )
