"""The evaluation pass: every enabled rule, each in its own transaction under a per-rule lock,
observed over the rollups (``evaluator``, on asyncpg) and its breaches moved along
(``lifecycle``); then the open breaches of deleted or disabled rules resolve."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime

import asyncpg

from pp_insights.alerts import metrics as m
from pp_insights.alerts.breaches import repository as repo
from pp_insights.alerts.breaches.evaluator import Observation, fingerprint, observe
from pp_insights.alerts.breaches.lifecycle import Changes, new_breach, observed, opened, resolve
from pp_insights.alerts.rules import repository as rule_repo
from pp_insights.alerts.settings import AlertSettings
from pp_insights.alerts.tables import AlertRule, Breach

log = logging.getLogger(__name__)


async def evaluate_rule(
    conn: asyncpg.Connection,
    rollups: asyncpg.Connection,
    rule: AlertRule,
    open_breaches: list[Breach],
    *,
    now: datetime,
    settings: AlertSettings,
) -> list[Observation]:
    """Evaluate one rule over ``rollups`` and move its open breaches along, in ``conn``'s
    transaction (which holds the rule: ``repository.lock_rule``)."""
    spec = rule.spec
    open_rows = {b.fingerprint: b for b in open_breaches}
    groups = [
        dict(b.scope["group"])
        for b in open_rows.values()
        if set(b.scope["group"]) == set(spec.group_by)
    ]
    observations = await observe(
        rollups, spec, now=now, extra_groups=groups, link_base_url=settings.alert_link_base_url
    )
    changes = Changes()
    fingerprints = [fingerprint(spec.id, obs.group) for obs in observations]
    seen = set(fingerprints)
    for fp, stale in sorted(open_rows.items()):
        if fp not in seen:
            # The rule's group_by changed: this group no longer exists under the rule.
            resolve(changes, spec=spec, breach=stale, now=now, reason="scope_changed")
    for obs, fp in zip(observations, fingerprints, strict=True):
        breach = open_rows.get(fp)
        if breach is not None:
            observed(changes, spec, breach, obs, version=rule.version, now=now)
        elif obs.breaching:
            breach = new_breach(rule, obs, fp, now)
            await repo.insert_breach(conn, breach)
            opened(changes, spec, breach, now)
    await repo.write_changes(
        conn, breaches=changes.breaches.values(), events=changes.events, outbox=changes.outbox
    )
    return observations


async def evaluate_all(pool: asyncpg.Pool, *, now: datetime, settings: AlertSettings) -> int:
    """Evaluate every enabled rule at ``now``, each in its own transaction (one bad rule does
    not stop the others); resolve breaches of deleted or disabled rules. Returns the number
    of rules evaluated."""
    started = time.perf_counter()
    evaluated = 0
    async with pool.acquire() as rollups, pool.acquire() as conn:
        rules = await rule_repo.enabled_rules(conn)
        for rule in rules:
            try:
                async with conn.transaction():
                    open_breaches = await repo.lock_rule(conn, rule.rule_id)
                    if open_breaches is None:
                        continue
                    observations = await evaluate_rule(
                        conn, rollups, rule, open_breaches, now=now, settings=settings
                    )
                    outcomes = Counter(o.reason for o in observations)
                    for reason, groups in outcomes.items():
                        m.EVALUATIONS.labels(reason).inc(groups)
                    await rule_repo.record_rule_status(
                        conn, rule_id=rule.rule_id, at=now, version=rule.version,
                        outcomes=dict(outcomes), error=None,
                    )  # fmt: skip
                evaluated += 1
            except Exception as exc:  # one bad rule must not stop the others
                m.RULE_ERRORS.inc()
                log.exception(
                    "rule evaluation failed",
                    extra={"rule_id": rule.rule_id, "error": type(exc).__name__},
                )
                # Shown on the rule: the author sees why it stopped without reading logs.
                async with conn.transaction():
                    await rule_repo.record_rule_status(
                        conn, rule_id=rule.rule_id, at=now, version=rule.version,
                        outcomes=None, error=type(exc).__name__,
                    )  # fmt: skip
        async with conn.transaction():
            changes = Changes()
            for breach in await repo.orphaned_open_breaches(conn):
                spec = await rule_repo.latest_rule_spec(conn, breach.rule_id)
                resolve(changes, spec=spec, breach=breach, now=now, reason="rule_removed")
            await repo.write_changes(
                conn,
                breaches=changes.breaches.values(),
                events=changes.events,
                outbox=changes.outbox,
            )
    m.EVALUATION_SECONDS.observe(time.perf_counter() - started)
    return evaluated
