"""What the ``/v1/rules`` routes do: rules created, replaced and deleted as versions (channel
secrets sent back masked keep their value), shown with their channels' health and last
evaluation, and previewed over the rollups without being saved. A caller restricted to
policy areas sees and writes only the rules within them (``alerts.areas``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from pp_insights.alerts.areas import require_within, sees_rule
from pp_insights.alerts.breaches.baselines import baseline_coverage
from pp_insights.alerts.breaches.evaluator import observe, window_end
from pp_insights.alerts.errors import Conflict
from pp_insights.alerts.rules import repository as repo
from pp_insights.alerts.rules.masking import unmask
from pp_insights.alerts.rules.spec import RuleSpec
from pp_insights.alerts.rules.validation import validate_rule
from pp_insights.alerts.schemas import (
    BaselineCoverage,
    Preview,
    PreviewGroup,
    RuleList,
    RuleVersions,
    RuleVersionView,
    RuleView,
)
from pp_insights.alerts.settings import AlertSettings
from pp_shared.identity import Identity
from pp_shared.problems import InvalidInput, NotFound


def _validate(body: object, settings: AlertSettings) -> RuleSpec:
    return validate_rule(
        body,
        allowed_hosts=settings.alert_webhook_allowed_hosts,
        allow_http=settings.alert_webhook_allow_http,
    )


async def _coverage(pool: asyncpg.Pool, spec: RuleSpec, now: datetime) -> BaselineCoverage | None:
    end = window_end(now)
    async with pool.acquire() as conn:
        return BaselineCoverage.of(
            await baseline_coverage(conn, spec, end - spec.window_delta, end)
        )


async def create_rule(
    pool: asyncpg.Pool,
    *,
    body: object,
    caller: Identity,
    now: datetime,
    settings: AlertSettings,
) -> RuleView:
    """Create a rule (409 when its id is taken; a deleted id starts a new version), with how
    much of its baseline the stored data fills."""
    spec = _validate(body, settings)
    require_within(caller, spec)
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.get_rule(conn, spec.id, lock=True)
        if existing is not None and not existing.deleted:
            if not sees_rule(caller, existing.spec):
                raise Conflict(f"the rule id {spec.id!r} is taken; choose another")
            raise Conflict(f"rule {spec.id!r} exists; PUT /v1/rules/{spec.id} changes it")
        rule = await repo.save_rule_version(
            conn, rule_id=spec.id, spec=spec, enabled=spec.enabled, deleted=False,
            at=now, actor=caller.actor,
        )  # fmt: skip
    view = RuleView.of(rule, [], None)
    return view.model_copy(update={"baseline_coverage": await _coverage(pool, spec, now)})


async def replace_rule(
    pool: asyncpg.Pool,
    *,
    rule_id: str,
    body: object,
    caller: Identity,
    now: datetime,
    settings: AlertSettings,
) -> RuleView:
    """Write a new version of a rule (channel URLs sent back masked keep their value), with
    how much of its baseline the stored data fills."""
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.get_rule(conn, rule_id, lock=True)
        if existing is None or existing.deleted or not sees_rule(caller, existing.spec):
            raise NotFound(f"no rule {rule_id!r}")
        if isinstance(body, dict):
            body = {**body, "id": body.get("id", rule_id)}
            if body["id"] != rule_id:
                raise InvalidInput(
                    "the id of a rule cannot change",
                    errors=[{"pointer": "/body/id", "detail": f"must be {rule_id!r}"}],
                )
        spec = _validate(unmask(body, existing.spec), settings)
        require_within(caller, spec)
        rule = await repo.save_rule_version(
            conn, rule_id=rule_id, spec=spec, enabled=spec.enabled, deleted=False,
            at=now, actor=caller.actor,
        )  # fmt: skip
        channels = await repo.channel_status(conn, rule_id)
    view = RuleView.of(rule, channels, None)
    return view.model_copy(update={"baseline_coverage": await _coverage(pool, spec, now)})


async def delete_rule(pool: asyncpg.Pool, *, rule_id: str, caller: Identity, now: datetime) -> None:
    """Delete a rule (a new version marked deleted); its open breaches resolve at the next
    evaluation."""
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.get_rule(conn, rule_id, lock=True)
        if existing is None or existing.deleted or not sees_rule(caller, existing.spec):
            raise NotFound(f"no rule {rule_id!r}")
        await repo.save_rule_version(
            conn, rule_id=rule_id, spec=existing.spec, enabled=False, deleted=True,
            at=now, actor=caller.actor,
        )  # fmt: skip


async def get_rule(pool: asyncpg.Pool, *, rule_id: str, caller: Identity) -> RuleView:
    async with pool.acquire() as conn:
        found = await repo.rules_shown(conn, rule_id=rule_id)
    if not found or not sees_rule(caller, found[0].rule.spec):
        raise NotFound(f"no rule {rule_id!r}")
    return RuleView.of(found[0].rule, found[0].channels, found[0].status)


async def list_rules(pool: asyncpg.Pool, *, caller: Identity) -> RuleList:
    async with pool.acquire() as conn:
        found = await repo.rules_shown(conn)
    return RuleList(
        rules=[
            RuleView.of(r.rule, r.channels, r.status)
            for r in found
            if sees_rule(caller, r.rule.spec)
        ]
    )


async def rule_versions(pool: asyncpg.Pool, *, rule_id: str, caller: Identity) -> RuleVersions:
    """Every version of a rule the caller sees (the last is the rule as it is now), but those
    outside the caller's areas."""
    async with pool.acquire() as conn:
        versions = await repo.rule_versions(conn, rule_id)
    if not versions or not sees_rule(caller, versions[-1].spec):
        raise NotFound(f"no rule {rule_id!r}")
    shown = [RuleVersionView.of(v) for v in versions if sees_rule(caller, v.spec)]
    return RuleVersions(rule_id=rule_id, versions=shown)


async def preview_rule(
    pool: asyncpg.Pool,
    *,
    body: object,
    caller: Identity,
    now: datetime,
    settings: AlertSettings,
) -> Preview:
    """What a rule would find now, group by group, without saving it or opening breaches:
    for tuning thresholds and minimum samples before they page anyone."""
    spec = _validate(body, settings)
    require_within(caller, spec)
    async with pool.acquire() as conn:
        observations = await observe(
            conn, spec, now=now, extra_groups=[], link_base_url=settings.alert_link_base_url
        )
    return Preview(
        rule_id=spec.id,
        evaluated_at=now,
        groups=[PreviewGroup.of(o) for o in observations],
        baseline_coverage=await _coverage(pool, spec, now),
    )
