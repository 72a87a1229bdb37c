"""An area's overview, a clause's page, a drill-down, and every table as the API's CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from pp_gateway.console import charts, trendgrid, upstream
from pp_gateway.console.formats import TREND_METRICS, label, parse_time
from pp_gateway.console.web import (
    PageDep,
    Period,
    Refused,
    area_of,
    period_of,
    quoted,
)

router = APIRouter()
ADDITIVE = tuple(m for m in TREND_METRICS if m != "decision_latency")
"""The metrics a drill-down and movers answer: counts and rates, not latency."""
GROUP_BY = ("region", "language", "product_feature", "queue", "escalation_reason")
MAX_SERIES = 5


def _series_by_bucket(period: Period, trend: dict[str, Any]) -> list[float | None]:
    """A sparkline's values: counts are 0 where the trend has no row, other metrics a gap."""
    drawn = trendgrid.grid(period.buckets(), trend["rows"], kind=trend["kind"], top=1)
    return drawn.series[0].values


def _csv(path: str, params: upstream.Params) -> str:
    return f"/csv{path}?{upstream.query_string(params)}"


@router.get("/areas/{area}")
async def overview(
    page: PageDep, area: str, period: str | None = None, movers: str = "volume"
) -> Response:
    """An area: headline metrics with change and intervals, sparklines, movers, breaches."""
    page.check_area(area)
    span = period_of(period)
    scope = {"area": area, **span.params}
    metric = movers if movers in ADDITIVE else "volume"
    mover_params = {
        **scope,
        "metric": metric,
        "dimension": "clause_id",
        "limit": 10,
        "min_sample": 5,
    }
    trend_params = [{"metric": m, "interval": span.interval, **scope} for m in TREND_METRICS]
    card, found, breaches, *trends = await page.gather(
        page.get("/v1/insights/cards", scope),
        page.optional("/v1/insights/movers", mover_params),
        page.optional("/v1/breaches", {"state": "firing", "limit": 200}),
        *(page.get("/v1/insights/trends", p) for p in trend_params),
    )
    sparks = {m: _series_by_bucket(span, t) for m, t in zip(TREND_METRICS, trends, strict=True)}
    firing = [b for b in (breaches.data or {}).get("breaches", []) if _area_of_breach(b) == area]
    return page.render(
        "overview.html",
        area=area,
        period=span,
        card=card,
        sparks=sparks,
        movers=found,
        mover_metric=metric,
        additive=ADDITIVE,
        firing=firing,
        breaches_error=breaches.error,
        card_csv=_csv("/v1/insights/cards", scope),
        movers_csv=_csv("/v1/insights/movers", mover_params),
    )


def _area_of_breach(breach: dict[str, Any]) -> str | None:
    scope = breach.get("scope") or {}
    dims = {
        **{k: v[0] for k, v in (scope.get("filters") or {}).items() if v},
        **(scope.get("group") or {}),
    }
    if "area" in dims:
        return str(dims["area"])
    if "clause_id" in dims:
        return area_of(str(dims["clause_id"]))
    return None


@router.get("/clauses/{clause_id}")
async def clause(
    page: PageDep,
    clause_id: str,
    period: str | None = None,
    metric: str = "volume",
    group_by: str = "",
) -> Response:
    """A clause: its card, a trend per metric with a group-by, launches, drill-down,
    enforceability and confusion."""
    area = area_of(clause_id)
    page.check_area(area)
    span = period_of(period)
    metric = metric if metric in TREND_METRICS else "volume"
    group = group_by if group_by in GROUP_BY else ""
    scope = {"clause_id": clause_id, **span.params}
    trend_params: dict[str, Any] = {"metric": metric, "interval": span.interval, **scope}
    if group:
        trend_params["group_by"] = group
    drill_metric = metric if metric in ADDITIVE else "volume"
    drill_params = {**scope, "metric": drill_metric, "examples": 3, "limit": 5}
    area_scope = {"area": area, **span.params}
    card, trend, drill, enforce, confusion = await page.gather(
        page.get("/v1/insights/cards", scope),
        page.get("/v1/insights/trends", trend_params),
        page.optional("/v1/insights/drilldown", drill_params),
        page.optional("/v1/insights/enforceability", {**area_scope, "min_sample": 1}),
        # QA pairs only (moderator's clause against QA's, from the QA reviews): the tag pairs
        # (the classifier's tag against the decision) scan every decided escalation of the
        # area, 0.8 s over 28 days of the 10M benchmark load; they are in the CSV and the API.
        page.optional("/v1/insights/confusion", {**area_scope, "limit": 200, "source": "qa"}),
    )
    drawn = trendgrid.grid(
        span.buckets(),
        trend["rows"],
        kind=trend["kind"],
        group=group,
        name=label(metric),
        top=MAX_SERIES,
    )
    markers = [(parse_time(m["launched_at"]), m["title"]) for m in trend.get("launches", [])]
    chart = charts.trend(
        span.buckets(), drawn.series, label=f"{label(metric)} of {clause_id}", markers=markers
    )
    enforce_row = next(
        (r for r in (enforce.data or {}).get("rows", []) if r.get("clause_id") == clause_id),
        None,
    )
    pairs = [
        r
        for r in (confusion.data or {}).get("rows", [])
        if clause_id in (r.get("from_clause"), r.get("to_clause"))
    ]
    return page.render(
        "clause.html",
        clause_id=clause_id,
        area=area,
        period=span,
        card=card,
        metric=metric,
        metrics=TREND_METRICS,
        group_by=group,
        groups=GROUP_BY,
        chart=chart,
        trend=trend,
        trend_table=drawn.table,
        trend_columns=drawn.columns,
        drill=drill,
        drill_metric=drill_metric,
        side=span,
        enforce=enforce,
        enforce_row=enforce_row,
        confusion=confusion,
        pairs=pairs,
        card_csv=_csv("/v1/insights/cards", scope),
        trend_csv=_csv("/v1/insights/trends", trend_params),
        drill_csv=_csv("/v1/insights/drilldown", drill_params),
        confusion_csv=_csv("/v1/insights/confusion", {**area_scope, "limit": 200}),
    )


@router.get("/drilldown")
async def drilldown(page: PageDep) -> Response:
    """A drill-down as the alerts link to it: the API's parameters, as given."""
    query = page.request.url.query
    answer = await page.api("GET", "/v1/insights/drilldown", raw_query=query)
    if not answer.ok:
        raise Refused(answer.status, answer.detail)
    return page.render(
        "drilldown.html", drill=answer.json(), drill_csv=f"/csv/v1/insights/drilldown?{query}"
    )


@router.get("/csv/v1/{rest:path}")
async def csv_export(page: PageDep, rest: str) -> Response:
    """A table as the API answers it in CSV, through the same checks as the page."""
    raw: bytes = page.request.scope.get("raw_path") or page.request.url.path.encode()
    path = raw.decode("ascii", "replace")[len("/csv") :]
    answer = await page.api("GET", path, raw_query=page.request.url.query, accept=upstream.CSV)
    if not answer.ok:
        raise Refused(answer.status, answer.detail)
    name = path.rsplit("/", 1)[-1].replace(":", "-") or "table"
    return Response(
        answer.body,
        media_type=answer.headers.get("content-type", "text/csv; charset=utf-8"),
        headers={
            "content-disposition": f'attachment; filename="{quoted(name)}.csv"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )
