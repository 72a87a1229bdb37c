"""HTTP adapter of alerting: ``/v1/rules`` and ``/v1/breaches``."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pp_insights.alerts import service
from pp_insights.alerts.rules import RuleSpec, parse_duration
from pp_insights.alerts.settings import AlertSettings
from pp_shared.problems import InvalidInput
from pp_shared.service import runtime_of
from pp_shared.types import MULTI_LINE, SINGLE_LINE, DbId

router = APIRouter(tags=["alerts"])


def _pool(request: Request) -> asyncpg.Pool:
    pool = runtime_of(request).pool
    assert pool is not None
    return pool


def _settings(request: Request) -> AlertSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, AlertSettings), "the service settings must include AlertSettings"
    return settings


def _now(request: Request) -> datetime:
    # Tests put a manual clock here; the service runs on the wall clock.
    clock = getattr(request.app.state, "alerts_clock", None)
    now: datetime = clock() if clock is not None else datetime.now(UTC)
    return now


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
SettingsDep = Annotated[AlertSettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
ActorDep = Annotated[
    str, Header(alias="X-PP-Actor", min_length=1, max_length=100, pattern=r"^[\w.@:-]+$")
]
RuleBody = Annotated[dict[str, Any], Body(description="A rule spec (see ALERTS.md).")]


# The body is read as a dict so that errors point into it as the rule validates it; its
# schema is the rule spec's.
def _rule_body() -> dict[str, Any]:
    """A fresh copy for each route: the OpenAPI document moves the schema's definitions."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RuleSpec.model_json_schema()}},
        }
    }


class BreachState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=500), MULTI_LINE] | None = Field(
        default=None, description="Free text; line feeds and tabs allowed, no other control."
    )


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    until: AwareDatetime | None = None
    for_: str | None = Field(default=None, alias="for", description="e.g. 2h, 1d")
    reason: Annotated[str, Field(min_length=1, max_length=500), SINGLE_LINE] = Field(
        description="Why, on one line (no control characters): it is shown in chat messages."
    )


@router.post("/v1/rules", status_code=201, openapi_extra=_rule_body())
async def create_rule(
    body: RuleBody, pool: PoolDep, settings: SettingsDep, now: NowDep, actor: ActorDep = "api"
) -> dict[str, Any]:
    """Create a threshold rule (version 1)."""
    return await service.create_rule(pool, body=body, actor=actor, now=now, settings=settings)


@router.post("/v1/rules/preview", openapi_extra=_rule_body())
async def preview_rule(
    body: RuleBody, pool: PoolDep, settings: SettingsDep, now: NowDep
) -> dict[str, Any]:
    """Evaluate a rule spec now without saving it: every group, breaching or not, and why."""
    return await service.preview_rule(pool, body=body, now=now, settings=settings)


@router.get("/v1/rules")
async def list_rules(pool: PoolDep) -> dict[str, Any]:
    """Every rule that is not deleted, with its channels' health."""
    return {"rules": await service.list_rules(pool)}


@router.get("/v1/rules/{rule_id}")
async def get_rule(rule_id: str, pool: PoolDep) -> dict[str, Any]:
    """One rule, its current version and its channels' health."""
    return await service.get_rule(pool, rule_id=rule_id)


@router.put("/v1/rules/{rule_id}", openapi_extra=_rule_body())
async def replace_rule(
    rule_id: str,
    body: RuleBody,
    pool: PoolDep,
    settings: SettingsDep,
    now: NowDep,
    actor: ActorDep = "api",
) -> dict[str, Any]:
    """Replace a rule: a new version."""
    return await service.replace_rule(
        pool, rule_id=rule_id, body=body, actor=actor, now=now, settings=settings
    )


@router.delete("/v1/rules/{rule_id}", status_code=204)
async def delete_rule(
    rule_id: str, pool: PoolDep, now: NowDep, actor: ActorDep = "api"
) -> Response:
    """Delete a rule (kept as a last, deleted version); its open breaches resolve."""
    await service.delete_rule(pool, rule_id=rule_id, actor=actor, now=now)
    return Response(status_code=204)


@router.get("/v1/rules/{rule_id}/versions")
async def rule_versions(rule_id: str, pool: PoolDep) -> dict[str, Any]:
    """Every version of a rule: who changed what, when."""
    return {"rule_id": rule_id, "versions": await service.rule_versions(pool, rule_id=rule_id)}


@router.get("/v1/breaches")
async def list_breaches(
    pool: PoolDep,
    state: Annotated[list[BreachState], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    rule_id: str | None = None,
    before: Annotated[DbId | None, Query(description="page on: next_before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Breaches, newest first, by state and rule."""
    return await service.list_breaches(
        pool, states=[s.value for s in state], rule_id=rule_id, before=before, limit=limit
    )


@router.get("/v1/breaches/{breach_id}")
async def get_breach(breach_id: DbId, pool: PoolDep) -> dict[str, Any]:
    """A breach with its evidence, timeline and delivery state."""
    return await service.breach_detail(pool, breach_id=breach_id)


@router.post("/v1/breaches/{breach_id}/ack")
async def acknowledge(
    breach_id: DbId, pool: PoolDep, now: NowDep, body: AckIn | None = None, actor: ActorDep = "api"
) -> dict[str, Any]:
    """Acknowledge an open breach."""
    note = body.note if body else None
    return await service.acknowledge(pool, breach_id=breach_id, actor=actor, now=now, note=note)


@router.post("/v1/breaches/{breach_id}/silence")
async def silence(
    breach_id: DbId, body: SilenceIn, pool: PoolDep, now: NowDep, actor: ActorDep = "api"
) -> dict[str, Any]:
    """Silence an open breach's notifications until a time (or for a duration), with a reason."""
    return await service.silence(
        pool, breach_id=breach_id, actor=actor, now=now, until=_until(body, now), reason=body.reason
    )


@router.delete("/v1/breaches/{breach_id}/silence")
async def unsilence(
    breach_id: DbId, pool: PoolDep, now: NowDep, actor: ActorDep = "api"
) -> dict[str, Any]:
    """Lift a breach's silence."""
    return await service.silence(
        pool, breach_id=breach_id, actor=actor, now=now, until=None, reason=""
    )


def _until(body: SilenceIn, now: datetime) -> datetime:
    if (body.until is None) == (body.for_ is None):
        raise InvalidInput(
            "name either until or for",
            errors=[{"pointer": "/body/until", "detail": "exactly one of until and for"}],
        )
    if body.for_ is not None:
        try:
            return now + parse_duration(body.for_)
        except ValueError as exc:
            raise InvalidInput(
                "bad duration", errors=[{"pointer": "/body/for", "detail": str(exc)}]
            ) from exc
    assert body.until is not None
    if body.until <= now:
        raise InvalidInput(
            "a silence ends in the future",
            errors=[{"pointer": "/body/until", "detail": "must be later than now"}],
        )
    return body.until
