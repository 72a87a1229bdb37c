"""The record statements of rules: current versions and every version (written together in
one statement), each rule's last evaluation, its channels' health as the rule shows it.

Statements are built over the tables once and compiled for the asyncpg pool
(``pp_shared.records.Statement``); rows are read with ``Columns``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import JSONB, Insert, insert
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import col, select

from pp_insights.alerts.rules.spec import RuleSpec
from pp_insights.alerts.tables import (
    AlertRule,
    AlertRuleVersion,
    ChannelStatus,
    RuleStatus,
    SpecJson,
    table_of,
)
from pp_shared.records import Columns, Statement, scalar

_RULES = Columns(AlertRule)
_STATUS = Columns(RuleStatus, _RULES.end)
_CHANNEL = Columns(ChannelStatus, _STATUS.end)
_VERSION = Columns(AlertRuleVersion)
_CHANNEL_ALONE = Columns(ChannelStatus)

_SELECT_RULE = select(AlertRule).where(col(AlertRule.rule_id) == bindparam("rule_id"))
_RULE = Statement(_SELECT_RULE)
_RULE_LOCKED = Statement(_SELECT_RULE.with_for_update())
_ENABLED_RULES = Statement(
    select(AlertRule)
    .where(col(AlertRule.enabled), ~col(AlertRule.deleted))
    .order_by(col(AlertRule.rule_id))
)
_SELECT_SHOWN = (
    select(AlertRule, RuleStatus, ChannelStatus)
    .outerjoin(RuleStatus, col(RuleStatus.rule_id) == col(AlertRule.rule_id))
    .outerjoin(ChannelStatus, col(ChannelStatus.rule_id) == col(AlertRule.rule_id))
    .where(~col(AlertRule.deleted))
    .order_by(col(AlertRule.rule_id), col(ChannelStatus.channel))
)
_SHOWN = Statement(_SELECT_SHOWN)
_ONE_SHOWN = Statement(_SELECT_SHOWN.where(col(AlertRule.rule_id) == bindparam("rule_id")))
_CHANNELS = Statement(
    select(ChannelStatus)
    .where(col(ChannelStatus.rule_id) == bindparam("rule_id"))
    .order_by(col(ChannelStatus.channel))
)
_VERSIONS = Statement(
    select(AlertRuleVersion)
    .where(col(AlertRuleVersion.rule_id) == bindparam("rule_id"))
    .order_by(col(AlertRuleVersion.version))
)
_LATEST_SPEC = Statement(
    select(col(AlertRuleVersion.spec))
    .where(col(AlertRuleVersion.rule_id) == bindparam("rule_id"))
    .order_by(col(AlertRuleVersion.version).desc())
    .limit(1)
)


def _rule_writer() -> ReturningInsert[tuple[int]]:
    # The current version is written (created, or the next version of the rule), and the
    # version row copied from what was written: one statement, which returns the version.
    rules, versions = table_of(AlertRule), table_of(AlertRuleVersion)
    upsert = insert(rules).values(
        rule_id=bindparam("rule_id"),
        version=1,
        spec=bindparam("spec", type_=SpecJson()),
        enabled=bindparam("enabled"),
        deleted=bindparam("deleted"),
        updated_at=bindparam("at"),
        updated_by=bindparam("actor"),
    )
    written = (
        upsert.on_conflict_do_update(
            index_elements=[rules.c.rule_id],
            set_={
                "version": rules.c.version + 1,
                "spec": upsert.excluded.spec,
                "enabled": upsert.excluded.enabled,
                "deleted": upsert.excluded.deleted,
                "updated_at": upsert.excluded.updated_at,
                "updated_by": upsert.excluded.updated_by,
            },
        )
        .returning(
            rules.c.rule_id,
            rules.c.version,
            rules.c.spec,
            rules.c.deleted,
            rules.c.updated_at,
            rules.c.updated_by,
        )
        .cte("written")
    )
    copied = ["rule_id", "version", "spec", "deleted", "changed_at", "changed_by"]
    return insert(versions).from_select(copied, sa_select(*written.c)).returning(versions.c.version)


_SAVE_RULE = Statement(_rule_writer())
_SPEC = scalar(table_of(AlertRuleVersion).c.spec.type)


@dataclass
class RuleShown:
    """A rule with what its answers show besides it: its last evaluation and its channels'
    health (by channel name)."""

    rule: AlertRule
    status: RuleStatus | None
    channels: list[ChannelStatus] = field(default_factory=list)


async def get_rule(
    conn: asyncpg.Connection, rule_id: str, *, lock: bool = False
) -> AlertRule | None:
    row = await (_RULE_LOCKED if lock else _RULE).fetchrow(conn, {"rule_id": rule_id})
    return _RULES.load(row) if row is not None else None


async def enabled_rules(conn: asyncpg.Connection) -> list[AlertRule]:
    return _RULES.load_all(await _ENABLED_RULES.fetch(conn))


async def rules_shown(conn: asyncpg.Connection, *, rule_id: str | None = None) -> list[RuleShown]:
    """Rules that are not deleted (or the one named), each with its status and channels."""
    if rule_id is None:
        rows = await _SHOWN.fetch(conn)
    else:
        rows = await _ONE_SHOWN.fetch(conn, {"rule_id": rule_id})
    shown: dict[object, RuleShown] = {}
    for row in rows:
        entry = shown.get(row[0])
        if entry is None:
            entry = shown[row[0]] = RuleShown(_RULES.load(row), _STATUS.load_optional(row))
        channel = _CHANNEL.load_optional(row)
        if channel is not None:
            entry.channels.append(channel)
    return list(shown.values())


async def channel_status(conn: asyncpg.Connection, rule_id: str) -> list[ChannelStatus]:
    return _CHANNEL_ALONE.load_all(await _CHANNELS.fetch(conn, {"rule_id": rule_id}))


async def save_rule_version(
    conn: asyncpg.Connection,
    *,
    rule_id: str,
    spec: RuleSpec,
    enabled: bool,
    deleted: bool,
    at: datetime,
    actor: str,
) -> AlertRule:
    """Write the next version of a rule (the caller holds the rule's row lock, if any), and
    answer the rule as it now is."""
    params = {
        "rule_id": rule_id,
        "spec": spec,
        "enabled": enabled,
        "deleted": deleted,
        "at": at,
        "actor": actor,
    }
    version = await _SAVE_RULE.fetchval(conn, params)
    assert isinstance(version, int)
    return AlertRule(
        rule_id=rule_id,
        version=version,
        spec=spec,
        enabled=enabled,
        deleted=deleted,
        updated_at=at,
        updated_by=actor,
    )


async def rule_versions(conn: asyncpg.Connection, rule_id: str) -> list[AlertRuleVersion]:
    return _VERSION.load_all(await _VERSIONS.fetch(conn, {"rule_id": rule_id}))


async def latest_rule_spec(conn: asyncpg.Connection, rule_id: str) -> RuleSpec | None:
    """The newest spec of a rule, deleted or not: a rule deleted while its breach fired still
    names the channels that must hear the resolve."""
    found = await _LATEST_SPEC.fetchval(conn, {"rule_id": rule_id})
    spec = _SPEC(found) if found is not None else None
    assert spec is None or isinstance(spec, RuleSpec)
    return spec


_RULE_STATUS = table_of(RuleStatus)


def _status_upsert(*, failed: bool) -> Insert:
    upsert = insert(_RULE_STATUS).values(
        rule_id=bindparam("rule_id"),
        evaluated_at=bindparam("at"),
        rule_version=bindparam("version"),
        outcomes=bindparam("outcomes", type_=JSONB()),
        error=bindparam("error"),
        error_at=bindparam("error_at"),
    )
    if failed:
        update: dict[str, object] = {
            "rule_version": upsert.excluded.rule_version,
            "error": upsert.excluded.error,
            "error_at": upsert.excluded.error_at,
        }
    else:
        update = {
            "evaluated_at": upsert.excluded.evaluated_at,
            "rule_version": upsert.excluded.rule_version,
            "outcomes": upsert.excluded.outcomes,
            "error": None,
            "error_at": None,
        }
    return upsert.on_conflict_do_update(index_elements=[_RULE_STATUS.c.rule_id], set_=update)


_STATUS_OK = Statement(_status_upsert(failed=False))
_STATUS_FAILED = Statement(_status_upsert(failed=True))


async def record_rule_status(
    conn: asyncpg.Connection,
    *,
    rule_id: str,
    at: datetime,
    version: int,
    outcomes: dict[str, int] | None,
    error: str | None,
) -> None:
    """The outcome counts of a rule's evaluation, or the error that stopped it (the last
    good outcomes stay)."""
    params = {
        "rule_id": rule_id,
        "at": at,
        "version": version,
        "outcomes": outcomes if error is None else {},
        "error": error,
        "error_at": at if error is not None else None,
    }
    statement = _STATUS_OK if error is None else _STATUS_FAILED
    await statement.execute(conn, params)
