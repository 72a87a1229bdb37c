"""The query API the gateway exposes under ``/v1/insights``: thin handlers over ``queries``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from pp_insights.buckets import Interval
from pp_insights.metrics import QUERY_SECONDS
from pp_insights.metrics_def import (
    DIMENSIONS,
    METRICS,
    CountMetric,
    Dimension,
    RateMetric,
)
from pp_insights.queries import cards, drilldown, movers, trends, volume
from pp_insights.queries.periods import MAX_RANGE_DAYS
from pp_insights.queries.tabular import CSV_RESPONSE, tabular
from pp_shared.problems import InvalidInput

router = APIRouter(prefix="/v1/insights", tags=["insights"])

MAX_FILTER_VALUES = 100
MAX_FILTER_LENGTH = 128


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
AcceptDep = Annotated[str | None, Header(include_in_schema=False)]
GroupBy = Annotated[list[Dimension] | None, Query(max_length=2)]
Start = Annotated[datetime | None, Query(alias="from")]
End = Annotated[datetime | None, Query(alias="to")]


def _time_errors(start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    return [
        {
            "pointer": f"/query/{name}",
            "detail": "timestamp without a time zone",
            "expected": "RFC 3339 with offset, e.g. 2026-11-20T00:00:00Z",
        }
        for name, value in (("from", start), ("to", end))
        if value is not None and value.tzinfo is None
    ]


def _order_errors(start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        return []
    if end > start:
        return []
    return [{"pointer": "/query/to", "detail": "must be later than from"}]


def _duplicate_errors(dims: list[str], name: str = "group_by") -> list[dict[str, Any]]:
    if len(set(dims)) == len(dims):
        return []
    return [{"pointer": f"/query/{name}", "detail": "duplicate"}]


def _raise(errors: list[dict[str, Any]]) -> None:
    if errors:
        noun = "parameter" if len(errors) == 1 else "parameters"
        raise InvalidInput(f"{len(errors)} query {noun} failed validation", errors=errors)


@router.get("/volume", response_model=volume.VolumeAnswer, responses=CSV_RESPONSE)
async def get_volume(
    pool: PoolDep,
    accept: AcceptDep = None,
    interval: Interval = Interval.HOUR,
    group_by: GroupBy = None,
    start: Start = None,
    end: End = None,
) -> Response:
    """Escalations created per time bucket, grouped by up to two dimensions."""
    dims = [d.value for d in group_by or []]
    _raise(_duplicate_errors(dims) + _time_errors(start, end))
    with QUERY_SECONDS.labels("volume").time():
        answer = await volume.volume(pool, interval=interval, group_by=dims, start=start, end=end)
    return tabular(answer, accept)


# The dimension filters are read from the query string by hand (any dimension, repeatable);
# declared here, they are documented and allowed by the shared unknown-parameter check.
_FILTER_DOCS: list[dict[str, Any]] = [
    {
        "name": d,
        "in": "query",
        "required": False,
        "description": f"Keep only these {d} values (repeatable).",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    }
    for d in DIMENSIONS
]


def _filters(request: Request, errors: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """The dimension filters of the query string; appends to ``errors`` every bad value.
    (Unknown parameters, a misspelt filter among them, were refused before: see
    ``pp_shared.http_guards``.)"""
    filters: dict[str, tuple[str, ...]] = {}
    for dim in DIMENSIONS:
        values = request.query_params.getlist(dim)
        if len(values) > MAX_FILTER_VALUES:
            errors.append(
                {"pointer": f"/query/{dim}", "detail": f"at most {MAX_FILTER_VALUES} values"}
            )
        errors += [
            {"pointer": f"/query/{dim}/{i}", "detail": f"at most {MAX_FILTER_LENGTH} characters"}
            for i, v in enumerate(values)
            if len(v) > MAX_FILTER_LENGTH
        ]
        if values:
            filters[dim] = tuple(dict.fromkeys(values))
    return filters


def _metric_errors(metric: str, known: Sequence[str]) -> list[dict[str, Any]]:
    if metric in known:
        return []
    return [
        {
            "pointer": "/query/metric",
            "detail": "unknown metric" if metric not in METRICS else "not answered here",
            "expected": ", ".join(known),
            "found": metric,
        }
    ]


def _trend_query(
    request: Request,
    metric: Annotated[str, Query(json_schema_extra={"enum": list(METRICS)})],
    interval: Interval = Interval.DAY,
    group_by: Annotated[list[Dimension] | None, Query(max_length=3)] = None,
    start: Start = None,
    end: End = None,
) -> trends.TrendQuery:
    errors: list[dict[str, Any]] = []
    filters = _filters(request, errors)
    errors += _metric_errors(metric, list(METRICS))
    dims = [d.value for d in group_by or []]
    errors += _duplicate_errors(dims) + _time_errors(start, end) + _order_errors(start, end)
    _raise(errors)
    return trends.TrendQuery(
        metric=metric,
        interval=interval,
        group_by=tuple(dims),
        filters=filters,
        start=start,
        end=end,
    )


@router.get(
    "/trends",
    response_model=trends.TrendAnswer,
    responses=CSV_RESPONSE,
    openapi_extra={"parameters": _FILTER_DOCS},
)
async def get_trends(
    pool: PoolDep,
    query: Annotated[trends.TrendQuery, Depends(_trend_query)],
    accept: AcceptDep = None,
) -> Response:
    """A metric per time bucket and group, with sample sizes and 95% Wilson intervals."""
    with QUERY_SECONDS.labels("trends").time():
        answer = await trends.trends(pool, query=query)
    return tabular(answer, accept)


@router.get("/metrics")
async def list_metrics() -> list[trends.MetricInfo]:
    """The metrics the trends API answers and what each one counts."""
    return trends.metric_catalogue()


# Comparisons: a period and the one of equal length before it.
MAX_RANGE = timedelta(days=MAX_RANGE_DAYS)
RequiredStart = Annotated[datetime, Query(alias="from")]
RequiredEnd = Annotated[datetime, Query(alias="to")]
# Quantiles do not add up, so a latency change has no per-value contributions or z here.
ADDITIVE_METRICS = [m.name for m in METRICS.values() if isinstance(m, CountMetric | RateMetric)]


def _range_errors(start: datetime, end: datetime) -> list[dict[str, Any]]:
    errors = _time_errors(start, end) + _order_errors(start, end)
    if not errors and end - start > MAX_RANGE:
        errors.append(
            {"pointer": "/query/to", "detail": f"at most {MAX_RANGE.days} days after from"}
        )
    return errors


def _additive(metric: str) -> CountMetric | RateMetric:
    m = METRICS[metric]
    assert isinstance(m, CountMetric | RateMetric)
    return m


@router.get(
    "/cards",
    response_model=cards.CardAnswer,
    responses=CSV_RESPONSE,
    openapi_extra={"parameters": _FILTER_DOCS},
)
async def get_card(
    request: Request,
    pool: PoolDep,
    start: RequiredStart,
    end: RequiredEnd,
    accept: AcceptDep = None,
) -> Response:
    """Performance card of a clause or area: every metric beside the previous period."""
    errors: list[dict[str, Any]] = []
    filters = _filters(request, errors)
    if "clause_id" not in filters and "area" not in filters:
        errors.append({"pointer": "/query/clause_id", "detail": "a card needs clause_id or area"})
    _raise(errors + _range_errors(start, end))
    with QUERY_SECONDS.labels("cards").time():
        answer = await cards.card(pool, start=start, end=end, filters=filters)
    return tabular(answer, accept)


@router.get(
    "/movers",
    response_model=movers.MoversAnswer,
    responses=CSV_RESPONSE,
    openapi_extra={"parameters": _FILTER_DOCS},
)
async def get_movers(
    request: Request,
    pool: PoolDep,
    metric: Annotated[str, Query(json_schema_extra={"enum": ADDITIVE_METRICS})],
    dimension: Dimension,
    start: RequiredStart,
    end: RequiredEnd,
    min_sample: Annotated[int, Query(ge=1, le=1_000_000)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    direction: movers.Direction = movers.Direction.ANY,
    accept: AcceptDep = None,
) -> Response:
    """Values of a dimension whose metric changed most, ranked by significance (|z|)."""
    errors: list[dict[str, Any]] = []
    filters = _filters(request, errors)
    _raise(errors + _metric_errors(metric, ADDITIVE_METRICS) + _range_errors(start, end))
    with QUERY_SECONDS.labels("movers").time():
        answer = await movers.movers(
            pool,
            metric=_additive(metric),
            dimension=dimension.value,
            start=start,
            end=end,
            filters=filters,
            min_sample=min_sample,
            limit=limit,
            direction=direction,
        )
    return tabular(answer, accept)


@router.get(
    "/drilldown",
    response_model=drilldown.DrilldownAnswer,
    responses=CSV_RESPONSE,
    openapi_extra={"parameters": _FILTER_DOCS},
)
async def get_drilldown(
    request: Request,
    pool: PoolDep,
    metric: Annotated[str, Query(json_schema_extra={"enum": ADDITIVE_METRICS})],
    start: RequiredStart,
    end: RequiredEnd,
    dimension: Annotated[list[Dimension] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    examples: Annotated[int, Query(ge=0, le=20)] = 3,
    accept: AcceptDep = None,
) -> Response:
    """Which dimension values explain a metric's change in a scope versus the previous period."""
    errors: list[dict[str, Any]] = []
    filters = _filters(request, errors)
    dims = [d.value for d in dimension or []]
    errors += _duplicate_errors(dims, "dimension")
    _raise(errors + _metric_errors(metric, ADDITIVE_METRICS) + _range_errors(start, end))
    # A dimension the scope pins to one value explains nothing.
    dims = dims or [d for d in DIMENSIONS if len(filters.get(d, ())) != 1]
    with QUERY_SECONDS.labels("drilldown").time():
        answer = await drilldown.drilldown(
            pool,
            metric=_additive(metric),
            start=start,
            end=end,
            filters=filters,
            dimensions=dims,
            limit=limit,
            examples=examples,
        )
    return tabular(answer, accept)
