"""Agreement in production: Cohen's kappa of moderators against QA reviewers per bucket with
the QA disagreement rate beside it, grouped by region, language or queue; per clause; and per
moderator for roles that may see moderators. Alerts on ``production_kappa`` link here with
the API's parameters (``interval=all&from&to&<scope>``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from pp_gateway.access import Permission
from pp_gateway.console import charts, trendgrid, upstream
from pp_gateway.console.formats import AGREEMENT_PAGE, iso, parse_time
from pp_gateway.console.web import PageDep, Period, Refused, may, period_of

router = APIRouter()
BASE = "/v1/calibration/production/agreement"
PAGE = AGREEMENT_PAGE
GROUP_BY = ("region", "language", "queue")
FILTERS = ("area", "clause_id", "region", "language", "product_feature", "queue")
COLUMNS = (
    "qa_reviews",
    "qa_disagreements",
    "qa_disagreement_rate",
    "pairs",
    "unpaired",
    "observed_agreement",
    "kappa",
    "kappa_low",
    "kappa_high",
)
LONGEST = timedelta(days=400)


def _period(page: PageDep) -> Period:
    """The page's period: ``from``/``to`` as an alert's link gives them (hours over two days
    at most, else days), or the last 1, 7 or 28 days (``period``; 7 unless another)."""
    query = page.request.query_params
    start, end = query.get("from"), query.get("to")
    if not (start and end):
        return period_of(query.get("period") or "7d")
    try:
        begins, ends = parse_time(start), parse_time(end)
    except ValueError:
        raise Refused(422, "from and to must be ISO 8601 times with a zone") from None
    if begins.tzinfo is None or ends.tzinfo is None or not begins < ends <= begins + LONGEST:
        raise Refused(422, "from and to must have a zone, from before to, at most 400 days")
    span = ends - begins
    return Period("range", begins, ends, "hour" if span <= timedelta(days=2) else "day")


def _scope(page: PageDep) -> list[tuple[str, str]]:
    """The filters the page was asked for, as the API takes them (each repeatable)."""
    query = page.request.query_params
    return [(name, value) for name in FILTERS for value in query.getlist(name) if value]


def _chart_rows(rows: list[dict[str, Any]], value: str, sample: str) -> list[dict[str, Any]]:
    """The API's rows as a trend's: ``value`` the line, ``sample`` its weight, kappa's
    interval as the band."""
    out = []
    for r in rows:
        cell = {**r, **r.get("group", {}), "value": r.get(value), "denominator": r.get(sample)}
        if value == "kappa":
            cell.update(ci_low=r.get("kappa_low"), ci_high=r.get("kappa_high"))
        if cell["value"] is None:
            continue
        out.append(cell)
    return out


@router.get(PAGE)
async def agreement(page: PageDep, group_by: str = "") -> Response:
    """Kappa per bucket with the QA disagreement rate beside it, the whole period per group,
    and per clause."""
    span = _period(page)
    group = group_by if group_by in GROUP_BY else ""
    scope = _scope(page)
    window = [("from", iso(span.start)), ("to", iso(span.end))]
    grouping = [("group_by", group)] if group else []
    trend_params = [*window, ("interval", span.interval), *grouping, *scope]
    total_params = [*window, ("interval", "all"), *grouping, *scope]
    clause_params = [*window, *scope]
    trend, total, clauses = await page.gather(
        page.get(BASE, trend_params),
        page.get(BASE, total_params),
        page.optional(f"{BASE}/clauses", clause_params),
    )
    buckets = span.buckets()
    kappa = trendgrid.grid(
        buckets,
        _chart_rows(trend["rows"], "kappa", "pairs"),
        kind="rate",
        group=group,
        name="kappa",
    )
    disagreement = trendgrid.grid(
        buckets,
        _chart_rows(trend["rows"], "qa_disagreement_rate", "qa_reviews"),
        kind="rate",
        group=group,
        name="QA disagreement rate",
    )
    # The table gives the charts' numbers (the groups they draw); every group is in the CSV.
    drawn = {s.name for s in (*kappa.series, *disagreement.series)}
    table = trendgrid.grid(
        buckets,
        [{**r, **r.get("group", {})} for r in trend["rows"]],
        kind="rate",
        group=group,
        columns=COLUMNS,
        name="all",
        listed_groups=sorted(drawn) if group else None,
    )
    kept = [f"{k}={v}" for k, v in scope]
    return page.render(
        "agreement.html",
        period=span,
        group_by=group,
        groups=GROUP_BY,
        scope=scope,
        scope_text=", ".join(kept) or "everything the key may see",
        kappa_chart=charts.trend(buckets, kappa.series, label="Cohen's kappa per bucket"),
        disagreement_chart=charts.trend(
            buckets, disagreement.series, label="QA disagreement rate per bucket"
        ),
        table=table.table,
        columns=COLUMNS,
        total=total,
        clauses=clauses,
        may_moderators=may(page.session, Permission.MODERATORS),
        here=_link(PAGE, window, grouping, scope),
        moderators_link=_link(f"{PAGE}/moderators", window, [], scope),
        trend_csv=_csv(trend_params),
        total_csv=_csv(total_params),
        clauses_csv=f"/csv{BASE}/clauses?{upstream.query_string(clause_params)}",
    )


@router.get(f"{PAGE}/moderators")
async def moderators(page: PageDep) -> Response:
    """Kappa of each moderator against their reviewers over the period (roles that may see
    moderators; the API refuses the others)."""
    span = _period(page)
    scope = _scope(page)
    params = [("from", iso(span.start)), ("to", iso(span.end)), *scope]
    found = await page.get(f"{BASE}/moderators", params)
    rows = sorted(
        ({**r, **r.get("group", {})} for r in found["rows"]),
        key=lambda r: (r["kappa"] is None, r["kappa"] if r["kappa"] is not None else 0.0),
    )
    return page.render(
        "agreement_moderators.html",
        period=span,
        scope_text=", ".join(f"{k}={v}" for k, v in scope) or "everything the key may see",
        rows=rows,
        columns=COLUMNS,
        back=_link(PAGE, params[:2], [], scope),
        csv=f"/csv{BASE}/moderators?{upstream.query_string(params)}",
    )


def _link(path: str, *parts: list[tuple[str, str]]) -> str:
    return f"{path}?{upstream.query_string([p for part in parts for p in part])}"


def _csv(params: list[tuple[str, str]]) -> str:
    return f"/csv{BASE}?{upstream.query_string(params)}"
