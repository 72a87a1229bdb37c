"""The query API the gateway exposes under ``/v1/insights``: thin handlers over ``queries``."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from pp_insights.alerts.api import RecordsDep
from pp_insights.api.params import (
    CardParams,
    DrilldownParams,
    MoversParams,
    Scope,
    TrendParams,
    VolumeParams,
    area_scope_of,
    card_scope_of,
    scope_of,
)
from pp_insights.launches import service as launches
from pp_insights.metrics import QUERY_SECONDS
from pp_insights.queries import cards, drilldown, movers, trends, volume
from pp_insights.queries.tabular import CSV_RESPONSE, tabular

router = APIRouter(prefix="/v1/insights", tags=["insights"])


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
AcceptDep = Annotated[str | None, Header(include_in_schema=False)]
ScopeDep = Annotated[Scope, Depends(scope_of)]


@router.get("/volume", response_model=volume.VolumeAnswer, responses=CSV_RESPONSE)
async def get_volume(
    pool: PoolDep,
    params: Annotated[VolumeParams, Query()],
    scope: Annotated[Scope, Depends(area_scope_of)],
    accept: AcceptDep = None,
) -> Response:
    """Escalations created per time bucket, grouped by up to three dimensions, of some
    areas."""
    with QUERY_SECONDS.labels("volume").time():
        answer = await volume.volume(
            pool,
            interval=params.interval,
            group_by=params.group_by or [],
            start=params.start,
            end=params.end,
            filters=scope,
        )
    return tabular(answer, accept)


@router.get("/trends", response_model=trends.TrendAnswer, responses=CSV_RESPONSE)
async def get_trends(
    pool: PoolDep,
    records: RecordsDep,
    params: Annotated[TrendParams, Query()],
    scope: ScopeDep,
    accept: AcceptDep = None,
) -> Response:
    """A metric per time bucket and group, with sample sizes and 95% Wilson intervals."""
    with QUERY_SECONDS.labels("trends").time():
        answer = await trends.trends(pool, query=params.query(scope))
        answer.launches = await launches.markers(
            records, start=answer.start, end=answer.end, filters=scope
        )
    return tabular(answer, accept)


@router.get("/metrics")
async def list_metrics() -> list[trends.MetricInfo]:
    """The metrics the trends API answers and what each one counts."""
    return trends.metric_catalogue()


@router.get("/cards", response_model=cards.CardAnswer, responses=CSV_RESPONSE)
async def get_card(
    pool: PoolDep,
    params: Annotated[CardParams, Query()],
    scope: Annotated[Scope, Depends(card_scope_of)],
    accept: AcceptDep = None,
) -> Response:
    """Performance card of a clause or area: every metric beside the previous period."""
    with QUERY_SECONDS.labels("cards").time():
        answer = await cards.card(pool, start=params.start, end=params.end, filters=scope)
    return tabular(answer, accept)


@router.get("/movers", response_model=movers.MoversAnswer, responses=CSV_RESPONSE)
async def get_movers(
    pool: PoolDep,
    params: Annotated[MoversParams, Query()],
    scope: ScopeDep,
    accept: AcceptDep = None,
) -> Response:
    """Values of a dimension whose metric changed most, ranked by significance (|z|)."""
    with QUERY_SECONDS.labels("movers").time():
        answer = await movers.movers(
            pool,
            metric=params.additive,
            dimension=params.dimension.value,
            start=params.start,
            end=params.end,
            filters=scope,
            min_sample=params.min_sample,
            limit=params.limit,
            direction=params.direction,
        )
    return tabular(answer, accept)


@router.get("/drilldown", response_model=drilldown.DrilldownAnswer, responses=CSV_RESPONSE)
async def get_drilldown(
    pool: PoolDep,
    params: Annotated[DrilldownParams, Query()],
    scope: ScopeDep,
    accept: AcceptDep = None,
) -> Response:
    """Which dimension values explain a metric's change in a scope versus the previous period."""
    with QUERY_SECONDS.labels("drilldown").time():
        answer = await drilldown.drilldown(
            pool,
            metric=params.additive,
            start=params.start,
            end=params.end,
            filters=scope,
            dimensions=[d.value for d in params.dimension or []],
            limit=params.limit,
            examples=params.examples,
        )
    return tabular(answer, accept)
