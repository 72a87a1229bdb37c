"""The breach lifecycle: what an evaluation's observations do to a rule's breaches, and
the outbox rows each change writes in the same transaction.

| now | no open breach | pending | firing |
|---|---|---|---|
| breaching | open pending; firing at once if ``for`` is 0 | firing once ``for`` passed | stays |
| not breaching | nothing | resolved, nobody told | resolved once ``keep_firing_for`` passed |
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import asyncpg

from pp_insights.alerts import metrics as m
from pp_insights.alerts import repository as repo
from pp_insights.alerts.evaluator import Observation, fingerprint, iso, observe
from pp_insights.alerts.rules import RuleSpec
from pp_insights.alerts.settings import AlertSettings

log = logging.getLogger(__name__)

TOPIC_CHANNEL = "_topic"
"""The outbox channel of breach changes published to the breaches topic."""


def breach_payload(
    spec: dict[str, Any], breach: Any, transition: str, evidence: dict[str, Any]
) -> dict[str, Any]:
    """What every channel is told about a breach change (rendered per channel when sent)."""
    return {
        "breach_id": breach["breach_id"],
        "transition": transition,
        "state": breach["state"],
        "rule_id": breach["rule_id"],
        "rule_version": breach["rule_version"],
        "rule_name": spec.get("name", breach["rule_id"]),
        "metric": spec.get("metric"),
        "severity": breach["severity"],
        "scope": breach["scope"],
        "fingerprint": breach["fingerprint"],
        "evidence": evidence,
        "peak_evidence": breach["peak_evidence"],
        "opened_at": iso(breach["opened_at"]),
        "firing_at": iso(breach["firing_at"]) if breach["firing_at"] else None,
        "resolved_at": iso(breach["resolved_at"]) if breach["resolved_at"] else None,
        "resolved_reason": breach["resolved_reason"],
        "acknowledged_at": iso(breach["acknowledged_at"]) if breach["acknowledged_at"] else None,
        "acknowledged_by": breach["acknowledged_by"],
        "breach_url": f"/v1/breaches/{breach['breach_id']}",
    }


async def announce(
    conn: asyncpg.Connection,
    *,
    spec: dict[str, Any],
    breach: Any,
    transition: str,
    at: datetime,
    notify: bool,
) -> None:
    """Queue a breach change: always for the breaches topic, and for the rule's channels when
    ``notify``. Same transaction as the change itself, so neither exists without the other."""
    payload = breach_payload(spec, breach, transition, breach["evidence"])
    targets = [(TOPIC_CHANNEL, "topic")]
    if notify:
        targets += [(c["name"], c["type"]) for c in spec.get("channels", [])]
    for name, kind in targets:
        await repo.enqueue(
            conn,
            breach_id=breach["breach_id"],
            rule_id=breach["rule_id"],
            channel=name,
            channel_type=kind,
            transition=transition,
            payload=payload,
            at=at,
        )


def _silenced(breach: Any, now: datetime) -> bool:
    until = breach["silenced_until"]
    return until is not None and until > now


def _peak(breach: Any, evidence: dict[str, Any], rising: bool) -> dict[str, Any]:
    peak: dict[str, Any] = breach["peak_evidence"]
    new, old = evidence.get("value"), peak.get("value")
    if new is None:
        return peak
    if old is None or (new > old if rising else new < old):
        return evidence
    return peak


async def _transition(
    conn: asyncpg.Connection,
    breach: Any,
    *,
    state: str,
    at: datetime,
    actor: str,
    detail: dict[str, Any],
    **fields: Any,
) -> Any:
    updated = await repo.update_breach(conn, breach["breach_id"], state=state, **fields)
    await repo.add_breach_event(
        conn, breach_id=breach["breach_id"], at=at, kind=state, actor=actor, detail=detail
    )
    m.BREACH_TRANSITIONS.labels(state).inc()
    return updated


async def _fire_if_due(
    conn: asyncpg.Connection, spec: RuleSpec, spec_json: dict[str, Any], breach: Any, now: datetime
) -> Any:
    if breach["state"] == "pending" and now - breach["opened_at"] >= spec.for_delta:
        breach = await _transition(
            conn, breach, state="firing", at=now, actor="evaluator",
            detail={"evidence": breach["evidence"]}, firing_at=now,
        )  # fmt: skip
        await announce(
            conn, spec=spec_json, breach=breach, transition="firing", at=now, notify=False
        )
    if breach["state"] == "firing" and not breach["firing_notified"] and not _silenced(breach, now):
        # A breach that fired while silenced is told once the silence ends, if still firing.
        breach = await repo.update_breach(conn, breach["breach_id"], firing_notified=True)
        await announce_channels(conn, spec=spec_json, breach=breach, transition="firing", at=now)
    return breach


async def announce_channels(
    conn: asyncpg.Connection,
    *,
    spec: dict[str, Any],
    breach: Any,
    transition: str,
    at: datetime,
    types: frozenset[str] | None = None,
) -> None:
    """Queue a breach change for the rule's channels (of ``types``, default all)."""
    payload = breach_payload(spec, breach, transition, breach["evidence"])
    for c in spec.get("channels", []):
        if types is not None and c["type"] not in types:
            continue
        await repo.enqueue(
            conn,
            breach_id=breach["breach_id"],
            rule_id=breach["rule_id"],
            channel=c["name"],
            channel_type=c["type"],
            transition=transition,
            payload=payload,
            at=at,
        )


async def resolve(
    conn: asyncpg.Connection,
    *,
    spec_json: dict[str, Any],
    breach: Any,
    now: datetime,
    reason: str,
    actor: str = "evaluator",
    evidence: dict[str, Any] | None = None,
) -> Any:
    """Resolve an open breach; its channels hear of it only if they heard it fire."""
    fields: dict[str, Any] = {"resolved_at": now, "resolved_reason": reason}
    if evidence is not None:
        fields["evidence"] = evidence
        fields["last_evaluated_at"] = now
    resolved = await _transition(
        conn, breach, state="resolved", at=now, actor=actor, detail={"reason": reason}, **fields
    )
    await announce(
        conn,
        spec=spec_json,
        breach=resolved,
        transition="resolved",
        at=now,
        notify=breach["firing_notified"],
    )
    return resolved


async def evaluate_rule(
    conn: asyncpg.Connection, rule: Any, *, now: datetime, settings: AlertSettings
) -> list[Observation]:
    """Evaluate one rule and move its breaches along, in the caller's transaction."""
    spec_json: dict[str, Any] = rule["spec"]
    spec = RuleSpec.model_validate(spec_json)
    open_rows = {b["fingerprint"]: b for b in await repo.open_breaches(conn, spec.id)}
    groups = [
        dict(b["scope"]["group"])
        for b in open_rows.values()
        if set(b["scope"]["group"]) == set(spec.group_by)
    ]
    observations = await observe(
        conn, spec, now=now, extra_groups=groups, link_base_url=settings.alert_link_base_url
    )
    rising = spec.condition.op.rising
    seen = {fingerprint(spec.id, obs.group) for obs in observations}
    for fp, stale in sorted(open_rows.items()):
        if fp not in seen:
            # The rule's group_by changed: this group no longer exists under the rule.
            await resolve(conn, spec_json=spec_json, breach=stale, now=now, reason="scope_changed")
    for obs in observations:
        m.EVALUATIONS.labels(obs.reason).inc()
        fp = fingerprint(spec.id, obs.group)
        breach = open_rows.get(fp)
        if breach is None:
            if not obs.breaching:
                continue
            scope = {"filters": spec.scope, "group": obs.group}
            breach = await repo.insert_breach(
                conn,
                rule_id=spec.id,
                rule_version=rule["version"],
                fingerprint=fp,
                scope=scope,
                severity=spec.severity.value,
                at=now,
                evidence=obs.evidence,
            )
            await repo.add_breach_event(
                conn, breach_id=breach["breach_id"], at=now, kind="pending", actor="evaluator",
                detail={"evidence": obs.evidence},
            )  # fmt: skip
            m.BREACH_TRANSITIONS.labels("pending").inc()
            await announce(
                conn, spec=spec_json, breach=breach, transition="pending", at=now, notify=False
            )
            await _fire_if_due(conn, spec, spec_json, breach, now)
        elif obs.breaching:
            breach = await repo.update_breach(
                conn,
                breach["breach_id"],
                evidence=obs.evidence,
                peak_evidence=_peak(breach, obs.evidence, rising),
                last_breaching_at=now,
                last_evaluated_at=now,
                rule_version=rule["version"],
                severity=spec.severity.value,
            )
            await _fire_if_due(conn, spec, spec_json, breach, now)
        elif breach["state"] == "pending":
            await resolve(
                conn, spec_json=spec_json, breach=breach, now=now, reason="cleared_before_firing",
                evidence=obs.evidence,
            )  # fmt: skip
        elif now - breach["last_breaching_at"] >= spec.keep_firing_delta:
            await resolve(
                conn, spec_json=spec_json, breach=breach, now=now, reason=obs.reason,
                evidence=obs.evidence,
            )  # fmt: skip
        else:
            # Within keep_firing_for: still firing, so a metric that dips under the
            # threshold and back stays one breach.
            breach = await repo.update_breach(
                conn, breach["breach_id"], evidence=obs.evidence, last_evaluated_at=now
            )
            await _fire_if_due(conn, spec, spec_json, breach, now)
    return observations


async def evaluate_all(pool: asyncpg.Pool, *, now: datetime, settings: AlertSettings) -> int:
    """Evaluate every enabled rule at ``now``, each in its own transaction (one bad rule does
    not stop the others); resolve breaches of deleted or disabled rules. Returns the number
    of rules evaluated."""
    started = time.perf_counter()
    async with pool.acquire() as conn:
        rules = await repo.list_rules(conn, enabled_only=True)
        evaluated = 0
        for rule in rules:
            try:
                async with conn.transaction():
                    if not await repo.lock_rule_evaluation(conn, rule["rule_id"]):
                        continue
                    observations = await evaluate_rule(conn, rule, now=now, settings=settings)
                    outcomes: dict[str, int] = {}
                    for obs in observations:
                        outcomes[obs.reason] = outcomes.get(obs.reason, 0) + 1
                    await repo.record_rule_status(
                        conn, rule_id=rule["rule_id"], at=now, version=rule["version"],
                        outcomes=outcomes, error=None,
                    )  # fmt: skip
                    evaluated += 1
            except Exception as exc:  # one bad rule must not stop the others
                m.RULE_ERRORS.inc()
                log.exception(
                    "rule evaluation failed",
                    extra={"rule_id": rule["rule_id"], "error": type(exc).__name__},
                )
                # Shown on the rule: the author sees why it stopped without reading logs.
                await repo.record_rule_status(
                    conn, rule_id=rule["rule_id"], at=now, version=rule["version"],
                    outcomes=None, error=type(exc).__name__,
                )  # fmt: skip
        async with conn.transaction():
            for breach in await repo.orphaned_open_breaches(conn):
                spec_json = await repo.latest_rule_spec(conn, breach["rule_id"]) or {}
                await resolve(
                    conn, spec_json=spec_json, breach=breach, now=now, reason="rule_removed"
                )
    m.EVALUATION_SECONDS.observe(time.perf_counter() - started)
    return evaluated
