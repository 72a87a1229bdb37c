"""HTTP adapter of alerting: ``/v1/rules`` and ``/v1/breaches``. Who changes a rule or a
breach is the caller the gateway authenticated (``pp_shared.identity``); a caller restricted
to policy areas sees and changes only what lies within them (``alerts.areas``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import WithJsonSchema

from pp_insights.alerts.breaches import service as breaches
from pp_insights.alerts.rules import service as rules
from pp_insights.alerts.rules.spec import RuleSpec, parse_duration
from pp_insights.alerts.schemas import (
    AckIn,
    BreachDetail,
    BreachPage,
    BreachState,
    Preview,
    RuleList,
    RuleVersions,
    RuleView,
    SilenceIn,
)
from pp_insights.alerts.settings import AlertSettings
from pp_shared.identity import CallerDep
from pp_shared.problems import InvalidInput
from pp_shared.records import Records
from pp_shared.service import runtime_of
from pp_shared.types import DbId

router = APIRouter(tags=["alerts"])


# Dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread.
async def _pool(request: Request) -> asyncpg.Pool:
    pool = runtime_of(request).pool
    assert pool is not None
    return pool


async def _records(request: Request) -> Records:
    # The session of the wings whose records go through it (launches); alerting's records
    # are statements on the pool.
    return runtime_of(request).open_records()


async def _settings(request: Request) -> AlertSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, AlertSettings), "the service settings must include AlertSettings"
    return settings


async def _now(request: Request) -> datetime:
    # Tests put a manual clock here; the service runs on the wall clock.
    clock = getattr(request.app.state, "alerts_clock", None)
    now: datetime = clock() if clock is not None else datetime.now(UTC)
    return now


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
RecordsDep = Annotated[Records, Depends(_records)]
SettingsDep = Annotated[AlertSettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
RuleBody = Annotated[
    dict[str, object],
    # Documented as the rule it must be; validated by the service, which names every wrong
    # field (semantic ones too) in one answer, and puts masked secrets back first on a PUT.
    WithJsonSchema(RuleSpec.model_json_schema(ref_template="#/components/schemas/{model}")),
    Body(description="A rule spec (see ALERTS.md)."),
]


@router.post("/v1/rules", status_code=201)
async def create_rule(
    body: RuleBody,
    pool: PoolDep,
    settings: SettingsDep,
    now: NowDep,
    caller: CallerDep,
) -> RuleView:
    """Create a threshold rule (version 1)."""
    return await rules.create_rule(pool, body=body, caller=caller, now=now, settings=settings)


@router.post("/v1/rules/preview")
async def preview_rule(
    body: RuleBody, pool: PoolDep, settings: SettingsDep, now: NowDep, caller: CallerDep
) -> Preview:
    """Evaluate a rule spec now without saving it: every group, breaching or not, and why."""
    return await rules.preview_rule(pool, body=body, caller=caller, now=now, settings=settings)


@router.get("/v1/rules")
async def list_rules(pool: PoolDep, caller: CallerDep) -> RuleList:
    """Every rule that is not deleted, with its channels' health."""
    return await rules.list_rules(pool, caller=caller)


@router.get("/v1/rules/{rule_id}")
async def get_rule(rule_id: str, pool: PoolDep, caller: CallerDep) -> RuleView:
    """One rule, its current version and its channels' health."""
    return await rules.get_rule(pool, rule_id=rule_id, caller=caller)


@router.put("/v1/rules/{rule_id}")
async def replace_rule(
    rule_id: str,
    body: RuleBody,
    pool: PoolDep,
    settings: SettingsDep,
    now: NowDep,
    caller: CallerDep,
) -> RuleView:
    """Replace a rule: a new version."""
    return await rules.replace_rule(
        pool, rule_id=rule_id, body=body, caller=caller, now=now, settings=settings
    )


@router.delete("/v1/rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: str, pool: PoolDep, now: NowDep, caller: CallerDep) -> Response:
    """Delete a rule (kept as a last, deleted version); its open breaches resolve."""
    await rules.delete_rule(pool, rule_id=rule_id, caller=caller, now=now)
    return Response(status_code=204)


@router.get("/v1/rules/{rule_id}/versions")
async def rule_versions(rule_id: str, pool: PoolDep, caller: CallerDep) -> RuleVersions:
    """Every version of a rule: who changed what, when."""
    return await rules.rule_versions(pool, rule_id=rule_id, caller=caller)


@router.get("/v1/breaches")
async def list_breaches(
    pool: PoolDep,
    caller: CallerDep,
    state: Annotated[list[BreachState], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    rule_id: str | None = None,
    before: Annotated[DbId | None, Query(description="page on: next_before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> BreachPage:
    """Breaches, newest first, by state and rule."""
    return await breaches.list_breaches(
        pool, states=[s.value for s in state], rule_id=rule_id, before=before, limit=limit,
        caller=caller,
    )  # fmt: skip


@router.get("/v1/breaches/{breach_id}")
async def get_breach(breach_id: DbId, pool: PoolDep, caller: CallerDep) -> BreachDetail:
    """A breach with its evidence, timeline and delivery state."""
    return await breaches.breach_detail(pool, breach_id=breach_id, caller=caller)


@router.post("/v1/breaches/{breach_id}/ack")
async def acknowledge(
    breach_id: DbId,
    pool: PoolDep,
    now: NowDep,
    caller: CallerDep,
    body: AckIn | None = None,
) -> BreachDetail:
    """Acknowledge an open breach."""
    note = body.note if body else None
    return await breaches.acknowledge(pool, breach_id=breach_id, caller=caller, now=now, note=note)


@router.post("/v1/breaches/{breach_id}/silence")
async def silence(
    breach_id: DbId, body: SilenceIn, pool: PoolDep, now: NowDep, caller: CallerDep
) -> BreachDetail:
    """Silence an open breach's notifications until a time (or for a duration), with a reason."""
    return await breaches.silence(
        pool, breach_id=breach_id, caller=caller, now=now, until=_until(body, now),
        reason=body.reason,
    )  # fmt: skip


@router.delete("/v1/breaches/{breach_id}/silence")
async def unsilence(breach_id: DbId, pool: PoolDep, now: NowDep, caller: CallerDep) -> BreachDetail:
    """Lift a breach's silence."""
    return await breaches.silence(
        pool, breach_id=breach_id, caller=caller, now=now, until=None, reason=""
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
