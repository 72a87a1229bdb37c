"""HTTP adapter of the classifier: taxonomy versions."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, Depends, Query, Request, Response

from pp_classifier import catalog
from pp_classifier.taxonomy import Taxonomy, TaxonomyDiff

router = APIRouter(prefix="/v1/taxonomy", tags=["taxonomy"])


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]


@router.get("")
async def get_current(pool: PoolDep) -> Taxonomy:
    """The latest published taxonomy: the version new tags are made with."""
    return await catalog.get(pool)


@router.get("/versions")
async def list_versions(pool: PoolDep) -> list[catalog.VersionSummary]:
    """Every published version, newest first."""
    return await catalog.versions(pool)


@router.get("/versions/{version}")
async def get_version(pool: PoolDep, version: str) -> Taxonomy:
    """One published version, exactly as published."""
    return await catalog.get(pool, version)


@router.post("/versions", status_code=201)
async def publish_version(
    pool: PoolDep,
    response: Response,
    taxonomy: Annotated[dict[str, Any], Body(description="A taxonomy document (see GET).")],
    published_by: Annotated[str, Query(min_length=1, max_length=128)] = "api",
) -> catalog.PublishResult:
    """Publish a new immutable version; running classifiers switch to it within seconds."""
    result = await catalog.publish(pool, data=taxonomy, published_by=published_by)
    if result.status == "unchanged":
        response.status_code = 200
    return result


@router.get("/diff")
async def diff_versions(
    pool: PoolDep,
    old: Annotated[str, Query(alias="from")],
    new: Annotated[str, Query(alias="to")],
) -> TaxonomyDiff:
    """Clauses added, removed and changed from one version to another."""
    return await catalog.compare(pool, old=old, new=new)
