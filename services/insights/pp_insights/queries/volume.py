"""Escalations created per time bucket: the first query of insights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from pp_insights.buckets import Interval, covering
from pp_insights.queries import repository


class VolumeAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    metric: str = "volume"
    interval: str
    group_by: list[str]
    start: datetime | None = Field(
        default=None,
        alias="from",
        description="Start of the first bucket asked for (buckets hold it whole).",
    )
    end: datetime | None = Field(
        default=None, alias="to", description="End of the last bucket asked for."
    )
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
    """Escalations created per bucket and dimension values; buckets that ``start`` and
    ``end`` cut are answered whole, as every query answers them (``buckets.covering``);
    ``filters`` keep values of dimensions (the API filters by area)."""
    start, end = covering(start, end, interval)
    async with pool.acquire() as conn:
        sel = repository.Selection("hour", interval, group_by, filters or {}, start, end)
        rows = await repository.sum_counters(conn, sel, counters=["volume"], nonzero="volume")
    return VolumeAnswer(
        interval=interval.value,
        group_by=list(group_by),
        start=start,
        end=end,
        rows=[dict(r) for r in rows],
    )
