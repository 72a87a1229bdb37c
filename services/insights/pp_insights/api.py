"""HTTP adapter of insights: the query API the gateway exposes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Request

from pp_insights import service
from pp_shared.problems import InvalidInput

router = APIRouter(prefix="/v1/insights", tags=["insights"])


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class Dimension(StrEnum):
    AREA = "area"
    CLAUSE = "clause_id"
    REGION = "region"
    LANGUAGE = "language"
    PRODUCT_FEATURE = "product_feature"
    ESCALATION_REASON = "escalation_reason"


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]


@router.get("/volume")
async def get_volume(
    pool: PoolDep,
    interval: Interval = Interval.HOUR,
    group_by: Annotated[list[Dimension] | None, Query(max_length=2)] = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> service.VolumeAnswer:
    """Escalations created per time bucket, grouped by up to two dimensions."""
    dims = [d.value for d in group_by or []]
    if len(set(dims)) != len(dims):
        raise InvalidInput(
            "group_by names a dimension twice",
            errors=[{"pointer": "/query/group_by", "detail": "duplicate"}],
        )
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"{name} must carry a time zone",
                errors=[
                    {
                        "pointer": f"/query/{name}",
                        "detail": "timestamp without a time zone",
                        "expected": "RFC 3339 with offset, e.g. 2026-11-20T00:00:00Z",
                    }
                ],
            )
    return await service.volume(pool, interval=interval.value, group_by=dims, start=start, end=end)
