"""The seed file (``PP_ALERT_RULES_FILE``): rules written at start by actor ``seed``, and
updated while nobody changed them through the API."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import asyncpg
import orjson
import yaml

from pp_insights.alerts.rules import repository as repo
from pp_insights.alerts.rules.validation import validate_rule
from pp_insights.alerts.settings import AlertSettings

log = logging.getLogger(__name__)
SEED_ACTOR = "seed"


def load_seed_file(path: Path) -> list[object]:
    """Rules from a YAML or JSON file: a list, or ``{"rules": [...]}``."""
    text = path.read_text(encoding="utf-8")
    data: object = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
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
        )
        async with pool.acquire() as conn, conn.transaction():
            existing = await repo.get_rule(conn, spec.id, lock=True)
            if existing is not None and not existing.deleted:
                if existing.updated_by != SEED_ACTOR or existing.spec == spec:
                    continue
            elif existing is not None and existing.updated_by != SEED_ACTOR:
                continue  # deleted through the API: stays deleted
            await repo.save_rule_version(
                conn, rule_id=spec.id, spec=spec, enabled=spec.enabled, deleted=False,
                at=now, actor=SEED_ACTOR,
            )  # fmt: skip
            written.append(spec.id)
    if written:
        log.info("alert rules seeded", extra={"rules": written})
    return written
