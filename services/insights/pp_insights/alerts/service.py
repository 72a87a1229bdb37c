"""Rule management, acknowledgements and silences, and the views the API answers with."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import yaml

from pp_insights.alerts import repository as repo
from pp_insights.alerts.evaluator import iso, observe
from pp_insights.alerts.lifecycle import announce, announce_channels
from pp_insights.alerts.rules import masked_spec, unmask, validate_rule
from pp_insights.alerts.settings import AlertSettings
from pp_shared.problems import InvalidInput, NotFound, ProblemError

log = logging.getLogger(__name__)
SEED_ACTOR = "seed"
ACK_CHANNEL_TYPES = frozenset({"slack_api", "webhook"})
"""Incoming webhooks cannot edit a message, so an acknowledgement would only add noise."""


class Conflict(ProblemError):
    status_code = 409
    problem_type = "conflict"
    title = "The request conflicts with the current state"


def _ts(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _evaluation_view(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "evaluated_at": _ts(row["evaluated_at"]),
        "rule_version": row["rule_version"],
        "outcomes": row["outcomes"],
        "error": row["error"],
        "error_at": _ts(row["error_at"]),
    }


def rule_view(row: Any, status: list[Any], evaluation: Any = None) -> dict[str, Any]:
    return {
        "id": row["rule_id"],
        "version": row["version"],
        "enabled": row["enabled"],
        "updated_at": _ts(row["updated_at"]),
        "updated_by": row["updated_by"],
        "spec": masked_spec(row["spec"]),
        "channel_status": [
            {
                "channel": s["channel"],
                "healthy": s["failures"] == 0,
                "failures": s["failures"],
                "last_ok_at": _ts(s["last_ok_at"]),
                "last_error_at": _ts(s["last_error_at"]),
                "last_error": s["last_error"],
            }
            for s in status
        ],
        "last_evaluation": _evaluation_view(evaluation),
    }


def _validate(body: Any, settings: AlertSettings) -> dict[str, Any]:
    spec = validate_rule(
        body,
        allowed_hosts=settings.alert_webhook_allowed_hosts,
        allow_http=settings.alert_webhook_allow_http,
    )
    return spec.dump()


async def create_rule(
    pool: asyncpg.Pool, *, body: Any, actor: str, now: datetime, settings: AlertSettings
) -> dict[str, Any]:
    """Create a rule (409 when its id is taken; a deleted id starts a new version)."""
    spec = _validate(body, settings)
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.get_rule(conn, spec["id"], lock=True)
        if existing is not None and not existing["deleted"]:
            raise Conflict(f"rule {spec['id']!r} exists; PUT /v1/rules/{spec['id']} changes it")
        row = await repo.save_rule_version(
            conn, rule_id=spec["id"], spec=spec, enabled=spec["enabled"], deleted=False,
            at=now, actor=actor,
        )  # fmt: skip
        return rule_view(row, [])


async def replace_rule(
    pool: asyncpg.Pool,
    *,
    rule_id: str,
    body: Any,
    actor: str,
    now: datetime,
    settings: AlertSettings,
) -> dict[str, Any]:
    """Write a new version of a rule; channel URLs sent back masked keep their value."""
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.get_rule(conn, rule_id, lock=True)
        if existing is None or existing["deleted"]:
            raise NotFound(f"no rule {rule_id!r}")
        if isinstance(body, dict):
            body = {**body, "id": body.get("id", rule_id)}
            if body["id"] != rule_id:
                raise InvalidInput(
                    "the id of a rule cannot change",
                    errors=[{"pointer": "/body/id", "detail": f"must be {rule_id!r}"}],
                )
        spec = _validate(unmask(body, existing["spec"]), settings)
        row = await repo.save_rule_version(
            conn, rule_id=rule_id, spec=spec, enabled=spec["enabled"], deleted=False,
            at=now, actor=actor,
        )  # fmt: skip
        return rule_view(row, await repo.channel_status(conn, rule_id))


async def delete_rule(pool: asyncpg.Pool, *, rule_id: str, actor: str, now: datetime) -> None:
    """Delete a rule (a new version marked deleted); its open breaches resolve at the next
    evaluation."""
    async with pool.acquire() as conn, conn.transaction():
        existing = await repo.get_rule(conn, rule_id, lock=True)
        if existing is None or existing["deleted"]:
            raise NotFound(f"no rule {rule_id!r}")
        await repo.save_rule_version(
            conn, rule_id=rule_id, spec=existing["spec"], enabled=False, deleted=True,
            at=now, actor=actor,
        )  # fmt: skip


async def get_rule(pool: asyncpg.Pool, *, rule_id: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await repo.get_rule(conn, rule_id)
        if row is None or row["deleted"]:
            raise NotFound(f"no rule {rule_id!r}")
        return rule_view(
            row, await repo.channel_status(conn, rule_id), await repo.rule_status(conn, rule_id)
        )


async def list_rules(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return [
            rule_view(
                r,
                await repo.channel_status(conn, r["rule_id"]),
                await repo.rule_status(conn, r["rule_id"]),
            )
            for r in await repo.list_rules(conn)
        ]


async def rule_versions(pool: asyncpg.Pool, *, rule_id: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await repo.rule_versions(conn, rule_id)
    if not rows:
        raise NotFound(f"no rule {rule_id!r}")
    return [
        {
            "version": r["version"],
            "deleted": r["deleted"],
            "changed_at": _ts(r["changed_at"]),
            "changed_by": r["changed_by"],
            "spec": masked_spec(r["spec"]),
        }
        for r in rows
    ]


async def preview_rule(
    pool: asyncpg.Pool, *, body: Any, now: datetime, settings: AlertSettings
) -> dict[str, Any]:
    """What a rule would find now, group by group, without saving it or opening breaches:
    for tuning thresholds and minimum samples before they page anyone."""
    spec = validate_rule(
        body,
        allowed_hosts=settings.alert_webhook_allowed_hosts,
        allow_http=settings.alert_webhook_allow_http,
    )
    async with pool.acquire() as conn:
        observations = await observe(
            conn, spec, now=now, extra_groups=[], link_base_url=settings.alert_link_base_url
        )
    return {
        "rule_id": spec.id,
        "evaluated_at": iso(now),
        "groups": [
            {"group": o.group, "breaching": o.breaching, "reason": o.reason, "evidence": o.evidence}
            for o in observations
        ],
    }


def load_seed_file(path: Path) -> list[Any]:
    """Rules from a YAML or JSON file: a list, or ``{"rules": [...]}``."""
    text = path.read_text(encoding="utf-8")
    data = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if isinstance(data, dict):
        data = data.get("rules", [])
    if not isinstance(data, list):
        raise ValueError(f"{path.name}: expected a list of rules")
    return data


async def seed_rules(pool: asyncpg.Pool, *, settings: AlertSettings, now: datetime) -> list[str]:
    """Create the seed file's rules that are missing, and update those whose current version
    came from the seed file; a rule changed through the API is left as it is. Returns the ids
    written. A bad seed rule fails the start: a typo must not silently drop an alert."""
    if settings.alert_rules_file is None:
        return []
    written: list[str] = []
    for i, body in enumerate(load_seed_file(settings.alert_rules_file)):
        spec = validate_rule(
            body,
            allowed_hosts=settings.alert_webhook_allowed_hosts,
            allow_http=settings.alert_webhook_allow_http,
            pointer_prefix=f"/{i}",
        ).dump()
        async with pool.acquire() as conn, conn.transaction():
            existing = await repo.get_rule(conn, spec["id"], lock=True)
            if existing is not None and not existing["deleted"]:
                if existing["updated_by"] != SEED_ACTOR or existing["spec"] == spec:
                    continue
            elif existing is not None and existing["updated_by"] != SEED_ACTOR:
                continue  # deleted through the API: stays deleted
            await repo.save_rule_version(
                conn, rule_id=spec["id"], spec=spec, enabled=spec["enabled"], deleted=False,
                at=now, actor=SEED_ACTOR,
            )  # fmt: skip
            written.append(spec["id"])
    if written:
        log.info("alert rules seeded", extra={"rules": written})
    return written


# --- breaches ------------------------------------------------------------------------------


def breach_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["breach_id"],
        "rule_id": row["rule_id"],
        "rule_version": row["rule_version"],
        "fingerprint": row["fingerprint"],
        "scope": row["scope"],
        "state": row["state"],
        "severity": row["severity"],
        "opened_at": _ts(row["opened_at"]),
        "firing_at": _ts(row["firing_at"]),
        "resolved_at": _ts(row["resolved_at"]),
        "resolved_reason": row["resolved_reason"],
        "last_breaching_at": _ts(row["last_breaching_at"]),
        "last_evaluated_at": _ts(row["last_evaluated_at"]),
        "evidence": row["evidence"],
        "peak_evidence": row["peak_evidence"],
        "notified": row["firing_notified"],
        "acknowledged_at": _ts(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "silenced_until": _ts(row["silenced_until"]),
        "silence_reason": row["silence_reason"],
        "silenced_by": row["silenced_by"],
    }


async def list_breaches(
    pool: asyncpg.Pool, *, states: list[str], rule_id: str | None, before: int | None, limit: int
) -> dict[str, Any]:
    """Breaches newest first; ``next_before`` pages on when the page is full."""
    async with pool.acquire() as conn:
        rows = await repo.list_breaches(
            conn, states=states, rule_id=rule_id, before=before, limit=limit
        )
    page = [breach_view(r) for r in rows]
    return {"breaches": page, "next_before": page[-1]["id"] if len(page) == limit else None}


async def breach_detail(pool: asyncpg.Pool, *, breach_id: int) -> dict[str, Any]:
    """A breach with its timeline and the delivery state of every notification."""
    async with pool.acquire() as conn:
        row = await repo.get_breach(conn, breach_id)
        if row is None:
            raise NotFound(f"no breach {breach_id}")
        events = await repo.breach_events(conn, breach_id)
        outbox = await repo.outbox_of_breach(conn, breach_id)
        attempts = await repo.attempts_of_breach(conn, breach_id)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for a in attempts:
        by_row.setdefault(a["outbox_id"], []).append(
            {
                "at": _ts(a["at"]),
                "outcome": a["outcome"],
                "status_code": a["status_code"],
                "error": a["error"],
                "retry_after_s": a["retry_after_s"],
            }
        )
    view = breach_view(row)
    view["timeline"] = [
        {"at": _ts(e["at"]), "kind": e["kind"], "actor": e["actor"], "detail": e["detail"]}
        for e in events
    ]
    view["deliveries"] = [
        {
            "id": o["outbox_id"],
            "channel": o["channel"],
            "channel_type": o["channel_type"],
            "transition": o["transition"],
            "state": o["state"],
            "attempts": o["attempts"],
            "created_at": _ts(o["created_at"]),
            "next_attempt_at": _ts(o["next_attempt_at"]) if o["state"] == "pending" else None,
            "delivered_at": _ts(o["delivered_at"]),
            "last_error": o["last_error"],
            "attempt_log": by_row.get(o["outbox_id"], []),
        }
        for o in outbox
    ]
    return view


async def acknowledge(
    pool: asyncpg.Pool, *, breach_id: int, actor: str, now: datetime, note: str | None
) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        row = await repo.get_breach(conn, breach_id, lock=True)
        if row is None:
            raise NotFound(f"no breach {breach_id}")
        if row["state"] == "resolved":
            raise Conflict(f"breach {breach_id} is resolved")
        updated = await repo.update_breach(
            conn, breach_id, acknowledged_at=now, acknowledged_by=actor
        )
        await repo.add_breach_event(
            conn, breach_id=breach_id, at=now, kind="acknowledged", actor=actor,
            detail={"note": note} if note else {},
        )  # fmt: skip
        await _publish(conn, updated, "acknowledged", now)
        if updated["state"] == "firing" and updated["firing_notified"]:
            # Slack bot messages show the acknowledgement in place; JSON webhooks hear it.
            spec = await repo.latest_rule_spec(conn, updated["rule_id"]) or {}
            await announce_channels(
                conn, spec=spec, breach=updated, transition="acknowledged", at=now,
                types=ACK_CHANNEL_TYPES,
            )  # fmt: skip
    return await breach_detail(pool, breach_id=breach_id)


async def silence(
    pool: asyncpg.Pool,
    *,
    breach_id: int,
    actor: str,
    now: datetime,
    until: datetime | None,
    reason: str,
) -> dict[str, Any]:
    """Silence (``until`` later than now) or lift the silence (``until`` None) of a breach;
    transitions are still recorded and published, channels hear nothing while it lasts."""
    async with pool.acquire() as conn, conn.transaction():
        row = await repo.get_breach(conn, breach_id, lock=True)
        if row is None:
            raise NotFound(f"no breach {breach_id}")
        if row["state"] == "resolved":
            raise Conflict(f"breach {breach_id} is resolved")
        if until is not None:
            updated = await repo.update_breach(
                conn, breach_id, silenced_until=until, silence_reason=reason, silenced_by=actor
            )
            detail: dict[str, Any] = {"until": iso(until), "reason": reason}
        else:
            updated = await repo.update_breach(
                conn, breach_id, silenced_until=None, silence_reason=None, silenced_by=None
            )
            detail = {"reason": reason} if reason else {}
        kind = "silenced" if until is not None else "unsilenced"
        await repo.add_breach_event(
            conn, breach_id=breach_id, at=now, kind=kind, actor=actor, detail=detail
        )
        await _publish(conn, updated, kind, now)
    return await breach_detail(pool, breach_id=breach_id)


async def _publish(conn: asyncpg.Connection, breach: Any, change: str, now: datetime) -> None:
    # Acknowledgements and silences are breach changes too: the topic hears of them.
    spec = await repo.latest_rule_spec(conn, breach["rule_id"]) or {}
    await announce(conn, spec=spec, breach=breach, transition=change, at=now, notify=False)
