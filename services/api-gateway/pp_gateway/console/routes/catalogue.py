"""Taxonomy (versions, clauses, diffs), launches (their impact) and calibration exercises
(their results)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from pp_gateway.console import charts
from pp_gateway.console.formats import label, parse_time
from pp_gateway.console.routes.simulation import WINDOWS
from pp_gateway.console.web import (
    PageDep,
    check_csrf,
    form_of,
    nothing,
    one,
    quoted,
    redirect,
)

router = APIRouter()
LAUNCH_FIELDS = (
    "title",
    "description",
    "launched_at",
    "area",
    "clause_ids",
    "regions",
    "languages",
)
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
        windows=WINDOWS,
    )


@router.get("/launches")
async def launches(page: PageDep) -> Response:
    """Launches the key may see, newest first; a form to record one for authors."""
    return await _launches(page, {})


async def _launches(
    page: PageDep, form: dict[str, str], *, error: str | None = None, status: int = 200
) -> Response:
    found = await page.get("/v1/launches", {"limit": 100})
    return page.render(
        "launches.html",
        launches=found["launches"],
        csv="/csv/v1/launches?limit=100",
        form=form,
        error=error,
        status=status,
    )


def _listed(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def launch_of(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The launch a form describes, in the API's shape (the API validates it). The time is
    UTC: a ``datetime-local`` field has no zone."""
    at = one(form, "launched_at")
    scope: dict[str, Any] = {}
    if area := one(form, "area"):
        scope["area"] = area
    for name in ("clause_ids", "regions", "languages"):
        if values := _listed(one(form, name)):
            scope[name] = values
    return {
        "title": one(form, "title"),
        "description": one(form, "description"),
        "launched_at": f"{at}:00Z" if len(at) == 16 else at,
        "scope": scope,
    }


@router.post("/launches")
async def record_launch(page: PageDep, request: Request) -> Response:
    """Record the form's launch (roles that may author; the API decides)."""
    form = await form_of(request)
    check_csrf(request, page.session, form)
    body = launch_of(form)
    answer = await page.api("POST", "/v1/launches", body=orjson.dumps(body))
    if not answer.ok:
        kept = {k: one(form, k) for k in LAUNCH_FIELDS}
        return await _launches(page, kept, error=answer.detail, status=answer.status)
    return redirect(f"/launches/{int(answer.json()['id'])}")


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
