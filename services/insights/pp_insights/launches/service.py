"""Launches as records: recorded through the API or from a published taxonomy version, read,
listed, and looked up by time and scope (trend markers, overlap warnings)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import asyncpg

from pp_insights.launches import repository
from pp_insights.launches.impact import ImpactQuery, impact
from pp_insights.launches.impact_schemas import ImpactAnswer
from pp_insights.launches.schemas import (
    LaunchIn,
    LaunchList,
    LaunchMarker,
    LaunchScope,
    LaunchView,
    overlaps,
)
from pp_insights.launches.tables import Launch
from pp_insights.launches.verdict import verdict, warnings
from pp_shared.contracts.events import AREAS, TaxonomyPublished, area_of
from pp_shared.identity import INTERNAL, Identity
from pp_shared.problems import Forbidden, NotFound
from pp_shared.records import Records

log = logging.getLogger(__name__)


def scope_of(launch: Launch) -> LaunchScope:
    return LaunchScope.model_validate(
        {
            "area": launch.area,
            "clause_ids": list(launch.clause_ids),
            "regions": list(launch.regions),
            "languages": list(launch.languages),
            "product_features": list(launch.product_features),
        }
    )


def view_of(launch: Launch) -> LaunchView:
    assert launch.id is not None
    return LaunchView(
        id=launch.id,
        title=launch.title,
        description=launch.description,
        launched_at=launch.launched_at,
        scope=scope_of(launch),
        taxonomy_version=launch.taxonomy_version,
        recorded_by=launch.recorded_by,
        recorded_at=launch.recorded_at,
    )


async def record_launch(
    records: Records, *, body: LaunchIn, actor: str, caller: Identity = INTERNAL
) -> int:
    """Record a launch; returns its id. A caller restricted to areas records launches within
    them only (403)."""
    if not sees_launch(caller, body.scope):
        shown = ", ".join(sorted(caller.areas or ()))
        raise Forbidden(
            f"this key is restricted to the policy areas {shown}: a launch it records must "
            "lie within them",
            errors=[{"pointer": "/body/scope/area", "detail": f"name one of {shown}"}],
        )
    launch = Launch(
        title=body.title,
        description=body.description,
        launched_at=body.launched_at,
        area=body.scope.area,
        clause_ids=list(dict.fromkeys(body.scope.clause_ids)),
        regions=list(dict.fromkeys(body.scope.regions)),
        languages=list(dict.fromkeys(body.scope.languages)),
        product_features=list(dict.fromkeys(body.scope.product_features)),
        recorded_by=actor,
        recorded_at=datetime.now(UTC),
    )
    async with records.transaction() as session:
        await repository.add(session, launch)
    assert launch.id is not None
    log.info("launch recorded", extra={"launch_id": launch.id, "source": "api"})
    return launch.id


def taxonomy_launch(message: TaxonomyPublished) -> Launch | None:
    """The launch a published taxonomy version makes: the clauses it added, removed or
    reworded. The first taxonomy, and a version that changed no clause's wording, make none."""
    if message.previous_version is None or not message.changed_clause_ids:
        return None
    areas = {area_of(c) for c in message.changed_clause_ids}
    changed = len(message.changed_clause_ids)
    return Launch(
        title=f"Taxonomy {message.version}",
        description=(
            f"Taxonomy {message.version} (after {message.previous_version}) changed"
            f" {changed} clause{'s' if changed != 1 else ''}."
            + (f"\n\n{message.description}" if message.description else "")
        ),
        launched_at=message.stored_at,
        area=next(iter(areas)) if len(areas) == 1 and areas <= set(AREAS) else None,
        clause_ids=list(message.changed_clause_ids),
        taxonomy_version=message.version,
        recorded_by=message.published_by,
        recorded_at=datetime.now(UTC),
    )


async def record_taxonomy_versions(records: Records, messages: Sequence[TaxonomyPublished]) -> int:
    """Record the launches of published taxonomy versions, each version once; returns how
    many were new."""
    launches = [launch for m in messages if (launch := taxonomy_launch(m)) is not None]
    if not launches:
        return 0
    new = 0
    async with records.transaction() as session:
        for launch in launches:
            new += await repository.add_once(session, launch)
    for launch in launches:
        log.info(
            "taxonomy launch seen",
            extra={"taxonomy_version": launch.taxonomy_version, "source": "taxonomy"},
        )
    return new


def launch_areas(scope: LaunchScope) -> frozenset[str] | None:
    """The areas a launch lies in: its area, or the areas of all its clauses; None when it
    restricts neither (it touches every area)."""
    if scope.area is not None:
        return frozenset({scope.area})
    if scope.clause_ids:
        return frozenset(area_of(c) for c in scope.clause_ids)
    return None


def sees_launch(caller: Identity, scope: LaunchScope) -> bool:
    """Whether ``caller`` may see a launch: every launch for an unrestricted caller, else one
    that lies within its areas (as ``GET /v1/launches?area=`` lists them)."""
    if caller.areas is None:
        return True
    areas = launch_areas(scope)
    return areas is not None and areas <= caller.areas


async def get_launch(
    records: Records, *, launch_id: int, caller: Identity = INTERNAL
) -> LaunchView:
    """One launch; 404 for a caller that may not see it, as for one that does not exist."""
    view = view_of(await _launch(records, launch_id))
    if not sees_launch(caller, view.scope):
        raise NotFound(f"no launch {launch_id}")
    return view


async def _launch(records: Records, launch_id: int) -> Launch:
    async with records.reading() as session:
        launch = await repository.get(session, launch_id)
    if launch is None:
        raise NotFound(f"no launch {launch_id}")
    return launch


async def load(records: Records, *, launch_id: int) -> Launch:
    """A launch as stored, or NotFound."""
    return await _launch(records, launch_id)


async def list_launches(
    records: Records, *, before: int | None, limit: int, areas: Sequence[str]
) -> LaunchList:
    async with records.reading() as session:
        found = await repository.page(session, before=before, limit=limit + 1, areas=areas)
    shown = found[:limit]
    more = len(found) > limit and shown
    return LaunchList(
        launches=[view_of(launch) for launch in shown],
        next_before=shown[-1].id if more else None,
    )


async def launches_touching(
    records: Records,
    *,
    start: datetime | None,
    end: datetime | None,
    filters: Mapping[str, Sequence[str]],
) -> list[Launch]:
    """Launches in ``[start, end)`` whose scope overlaps ``filters``, oldest first."""
    async with records.reading() as session:
        found = await repository.between(session, start=start, end=end)
    return [launch for launch in found if overlaps(scope_of(launch).filters(), filters)]


async def markers(
    records: Records,
    *,
    start: datetime | None,
    end: datetime | None,
    filters: Mapping[str, Sequence[str]],
) -> list[LaunchMarker]:
    """The launches a trend over ``[start, end)`` and ``filters`` should show."""
    found = await launches_touching(records, start=start, end=end, filters=filters)
    return [
        LaunchMarker(
            id=launch.id or 0,
            title=launch.title,
            launched_at=launch.launched_at,
            taxonomy_version=launch.taxonomy_version,
        )
        for launch in found
    ]


async def launch_impact(
    pool: asyncpg.Pool, records: Records, *, launch_id: int, query: ImpactQuery, now: datetime
) -> ImpactAnswer:
    """A launch's impact on one metric, with its verdict and warnings."""
    launch = await _launch(records, launch_id)
    view = view_of(launch)
    answer, w = await impact(pool, launch=view, query=query, now=now)
    others = [
        other
        for other in await launches_touching(
            records, start=w.before_start, end=w.after_end, filters=view.scope.filters()
        )
        if other.id != launch.id
    ]
    return answer.model_copy(
        update={"verdict": verdict(answer), "warnings": warnings(answer, w, others)}
    )
