"""HTTP adapter of insights: the query API the gateway exposes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from pp_insights import service
from pp_insights.metrics_def import DIMENSIONS, METRICS, Dimension, Interval
from pp_insights.tabular import CSV_RESPONSE, tabular
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


def _duplicate_errors(dims: list[str]) -> list[dict[str, Any]]:
    if len(set(dims)) == len(dims):
        return []
    return [{"pointer": "/query/group_by", "detail": "duplicate"}]


def _raise(errors: list[dict[str, Any]]) -> None:
    if errors:
        noun = "parameter" if len(errors) == 1 else "parameters"
        raise InvalidInput(f"{len(errors)} query {noun} failed validation", errors=errors)


@router.get("/volume", response_model=service.VolumeAnswer, responses=CSV_RESPONSE)
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
    answer = await service.volume(pool, interval=interval, group_by=dims, start=start, end=end)
    return tabular(answer, accept)


_TREND_PARAMS = frozenset({"metric", "interval", "group_by", "from", "to", *DIMENSIONS})
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


def _trend_query(
    request: Request,
    metric: Annotated[str, Query(json_schema_extra={"enum": list(METRICS)})],
    interval: Interval = Interval.DAY,
    group_by: Annotated[list[Dimension] | None, Query(max_length=3)] = None,
    start: Start = None,
    end: End = None,
) -> service.TrendQuery:
    errors: list[dict[str, Any]] = [
        {"pointer": f"/query/{name}", "detail": "unknown query parameter"}
        for name in dict.fromkeys(request.query_params)
        if name not in _TREND_PARAMS
    ]
    if metric not in METRICS:
        errors.append(
            {
                "pointer": "/query/metric",
                "detail": "unknown metric",
                "expected": ", ".join(METRICS),
                "found": metric,
            }
        )
    dims = [d.value for d in group_by or []]
    errors += _duplicate_errors(dims) + _time_errors(start, end) + _order_errors(start, end)
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
    _raise(errors)
    return service.TrendQuery(
        metric=metric,
        interval=interval,
        group_by=tuple(dims),
        filters=filters,
        start=start,
        end=end,
    )


@router.get(
    "/trends",
    response_model=service.TrendAnswer,
    responses=CSV_RESPONSE,
    openapi_extra={"parameters": _FILTER_DOCS},
)
async def get_trends(
    pool: PoolDep,
    query: Annotated[service.TrendQuery, Depends(_trend_query)],
    accept: AcceptDep = None,
) -> Response:
    """A metric per time bucket and group, with sample sizes and 95% Wilson intervals."""
    return tabular(await service.trends(pool, query=query), accept)


@router.get("/metrics")
async def list_metrics() -> list[service.MetricInfo]:
    """The metrics the trends API answers and what each one counts."""
    return service.metric_catalogue()
