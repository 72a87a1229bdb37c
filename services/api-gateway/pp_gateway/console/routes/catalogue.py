"""Taxonomy (versions, clauses, diffs), launches (their impact) and calibration exercises
(their results)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from pp_gateway.console import charts
from pp_gateway.console.formats import label, parse_time
from pp_gateway.console.web import PageDep, nothing, quoted

router = APIRouter()
IMPACT_METRICS = ("volume", "policy_unclear_share", "overturn_rate", "qa_disagreement_rate")


@router.get("/taxonomy")
async def taxonomy(
    page: PageDep,
    version: str | None = None,
    diff_from: str | None = None,
    diff_to: str | None = None,
) -> Response:
    """The taxonomy's versions, the clauses of one, and the diff between two."""
    path = f"/v1/taxonomy/versions/{quoted(version)}" if version else "/v1/taxonomy"
    versions, document, diff = await page.gather(
        page.get("/v1/taxonomy/versions"),
        page.optional(path),
        page.optional("/v1/taxonomy/diff", {"from": diff_from, "to": diff_to})
        if diff_from and diff_to
        else nothing(),
    )
    return page.render(
        "taxonomy.html",
        versions=versions,
        document=document,
        diff=diff,
        version=version,
        diff_from=diff_from,
        diff_to=diff_to,
    )


@router.get("/launches")
async def launches(page: PageDep) -> Response:
    """Launches the key may see, newest first."""
    found = await page.get("/v1/launches", {"limit": 100})
    return page.render(
        "launches.html", launches=found["launches"], csv="/csv/v1/launches?limit=100"
    )


@router.get("/launches/{launch_id}")
async def launch(page: PageDep, launch_id: int, metric: str = "volume") -> Response:
    """A launch and its impact on a metric (before and after, against a control)."""
    metric = metric if metric in IMPACT_METRICS else "volume"
    found, impact = await page.gather(
        page.get(f"/v1/launches/{launch_id}"),
        page.optional(f"/v1/launches/{launch_id}/impact", {"metric": metric}),
    )
    chart = None
    if impact.data is not None:
        chart = _impact_chart(impact.data, found)
    return page.render(
        "launch.html",
        launch=found,
        impact=impact,
        metric=metric,
        metrics=IMPACT_METRICS,
        chart=chart,
        csv=f"/csv/v1/launches/{launch_id}/impact?metric={metric}",
    )


def _impact_chart(impact: dict[str, Any], launch: dict[str, Any]) -> Any:
    """Treated and control per bucket, with the launch marked."""
    rows: list[dict[str, Any]] = impact.get("series") or []
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        groups.setdefault(str(r["group"]), {})[r["bucket"]] = r.get("value")
    if not groups:
        return None
    stamps = sorted({r["bucket"] for r in rows})
    buckets = [parse_time(b) for b in stamps]
    series = [
        charts.Series(name, [values.get(b) for b in stamps]) for name, values in groups.items()
    ]
    markers = [(parse_time(launch["launched_at"]), launch["title"])]
    return charts.trend(
        buckets,
        series,
        label=f"{label(str(impact.get('metric', '')))} around the launch",
        markers=markers,
    )


@router.get("/calibration")
async def calibration(page: PageDep) -> Response:
    """Calibration exercises."""
    exercises = await page.get("/v1/calibration/exercises")
    return page.render("calibration.html", exercises=exercises)


@router.get("/calibration/{exercise_id}")
async def exercise(page: PageDep, exercise_id: int) -> Response:
    """An exercise's results: agreement, accuracy, clauses and the most disputed cases."""
    base = f"/v1/calibration/exercises/{exercise_id}"
    results, disputed = await page.gather(
        page.get(f"{base}/results"), page.optional(f"{base}/results/disputed")
    )
    return page.render(
        "exercise.html",
        results=results,
        disputed=disputed,
        clauses_csv=f"/csv{base}/results/clauses",
        disputed_csv=f"/csv{base}/results/disputed",
    )
