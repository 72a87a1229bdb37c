"""Escalations created per time bucket: the first query of insights, kept as it was."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pp_insights.buckets import Interval
from pp_insights.queries import repository


class VolumeAnswer(BaseModel):
    metric: str = "volume"
    interval: str
    group_by: list[str]
    rows: list[dict[str, Any]]

    def columns(self) -> list[str]:
        return ["bucket", *self.group_by, "volume"]


async def volume(
    pool: asyncpg.Pool,
    *,
    interval: Interval,
    group_by: Sequence[str],
    start: datetime | None,
    end: datetime | None,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> VolumeAnswer:
    """Escalations created per bucket and dimension values; ``start`` and ``end`` select
    hours, ``filters`` the values of dimensions (the API filters by area)."""
    async with pool.acquire() as conn:
        sel = repository.Selection("hour", interval, group_by, filters or {}, start, end)
        rows = await repository.sum_counters(conn, sel, counters=["volume"], nonzero="volume")
    return VolumeAnswer(
        interval=interval.value, group_by=list(group_by), rows=[dict(r) for r in rows]
    )
