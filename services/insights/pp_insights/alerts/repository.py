"""Every SQL statement of alerting: rules and their versions, rollup sums over a window,
breaches and their timeline, the outbox and its delivery attempts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_insights.metrics_def import DIMENSIONS, RollupCounter

_COUNTERS = frozenset(c.value for c in RollupCounter)
_SPARSE = {"latency_hist": ("latency_bins", "latency_counts")}
"""Each dense histogram column's sparse twin: its non-empty bins (0-based) and their counts."""
_BREACH_COLUMNS = frozenset(
    {
        "state",
        "rule_version",
        "severity",
        "firing_at",
        "resolved_at",
        "resolved_reason",
        "last_breaching_at",
        "last_evaluated_at",
        "evidence",
        "peak_evidence",
        "firing_notified",
        "acknowledged_at",
        "acknowledged_by",
        "silenced_until",
        "silence_reason",
        "silenced_by",
    }
)

# --- rules ---------------------------------------------------------------------------------


async def get_rule(conn: asyncpg.Connection, rule_id: str, *, lock: bool = False) -> Any:
    sql = "SELECT * FROM insights.alert_rules WHERE rule_id = $1"
    return await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), rule_id)


async def list_rules(conn: asyncpg.Connection, *, enabled_only: bool = False) -> list[Any]:
    where = "NOT deleted" + (" AND enabled" if enabled_only else "")
    return list(
        await conn.fetch(f"SELECT * FROM insights.alert_rules WHERE {where} ORDER BY rule_id")  # noqa: S608
    )


async def save_rule_version(
    conn: asyncpg.Connection,
    *,
    rule_id: str,
    spec: dict[str, Any],
    enabled: bool,
    deleted: bool,
    at: datetime,
    actor: str,
) -> Any:
    """Write the next version of a rule (the caller holds the rule's row lock, if any)."""
    row = await conn.fetchrow(
        """
        INSERT INTO insights.alert_rules AS r
            (rule_id, version, spec, enabled, deleted, updated_at, updated_by)
        VALUES ($1, 1, $2, $3, $4, $5, $6)
        ON CONFLICT (rule_id) DO UPDATE SET
            version = r.version + 1, spec = EXCLUDED.spec, enabled = EXCLUDED.enabled,
            deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at,
            updated_by = EXCLUDED.updated_by
        RETURNING *
        """,
        rule_id,
        spec,
        enabled,
        deleted,
        at,
        actor,
    )
    await conn.execute(
        """
        INSERT INTO insights.alert_rule_versions
            (rule_id, version, spec, deleted, changed_at, changed_by)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        rule_id,
        row["version"],
        spec,
        deleted,
        at,
        actor,
    )
    return row


async def rule_versions(conn: asyncpg.Connection, rule_id: str) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM insights.alert_rule_versions WHERE rule_id = $1 ORDER BY version",
            rule_id,
        )
    )


async def latest_rule_spec(conn: asyncpg.Connection, rule_id: str) -> dict[str, Any] | None:
    """The newest spec of a rule, deleted or not: a rule deleted while its breach fired still
    names the channels that must hear the resolve."""
    spec: dict[str, Any] | None = await conn.fetchval(
        "SELECT spec FROM insights.alert_rule_versions WHERE rule_id = $1"
        " ORDER BY version DESC LIMIT 1",
        rule_id,
    )
    return spec


async def channel_status(conn: asyncpg.Connection, rule_id: str) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM insights.alert_channel_status WHERE rule_id = $1 ORDER BY channel",
            rule_id,
        )
    )


async def record_channel_result(
    conn: asyncpg.Connection, *, rule_id: str, channel: str, at: datetime, error: str | None
) -> None:
    if error is None:
        await conn.execute(
            """
            INSERT INTO insights.alert_channel_status (rule_id, channel, last_ok_at, failures)
            VALUES ($1, $2, $3, 0)
            ON CONFLICT (rule_id, channel) DO UPDATE SET last_ok_at = $3, failures = 0
            """,
            rule_id,
            channel,
            at,
        )
    else:
        await conn.execute(
            """
            INSERT INTO insights.alert_channel_status
                (rule_id, channel, last_error_at, last_error, failures)
            VALUES ($1, $2, $3, $4, 1)
            ON CONFLICT (rule_id, channel) DO UPDATE SET
                last_error_at = $3, last_error = $4,
                failures = insights.alert_channel_status.failures + 1
            """,
            rule_id,
            channel,
            at,
            error,
        )


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
    if error is None:
        await conn.execute(
            """
            INSERT INTO insights.alert_rule_status (rule_id, evaluated_at, rule_version, outcomes)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (rule_id) DO UPDATE SET evaluated_at = $2, rule_version = $3,
                outcomes = $4, error = NULL, error_at = NULL
            """,
            rule_id,
            at,
            version,
            outcomes,
        )
    else:
        await conn.execute(
            """
            INSERT INTO insights.alert_rule_status
                (rule_id, evaluated_at, rule_version, outcomes, error, error_at)
            VALUES ($1, $2, $3, '{}', $4, $2)
            ON CONFLICT (rule_id) DO UPDATE SET rule_version = $3, error = $4, error_at = $2
            """,
            rule_id,
            at,
            version,
            error,
        )


async def rule_status(conn: asyncpg.Connection, rule_id: str) -> Any:
    return await conn.fetchrow(
        "SELECT * FROM insights.alert_rule_status WHERE rule_id = $1", rule_id
    )


# --- rollups -------------------------------------------------------------------------------


async def sum_window(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    group_by: Sequence[str],
    counters: Sequence[str],
) -> list[Any]:
    """Counters of ``rollup_hour`` summed over the hours in ``[start, end)`` per group of
    ``group_by``; groups without rows are absent."""
    assert set(counters) <= _COUNTERS
    cond, args = _window_where(start, end, filters, group_by)
    dims = ", ".join(group_by)
    select_dims = f"{dims}, " if dims else ""
    group = f"GROUP BY {dims}" if dims else "HAVING count(*) > 0"
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in counters)
    sql = f"SELECT {select_dims}{sums} FROM insights.rollup_hour WHERE {cond} {group}"  # noqa: S608
    return list(await conn.fetch(sql, *args))


async def sum_window_histogram(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    group_by: Sequence[str],
    histogram: str,
    size: int,
) -> list[Any]:
    """A histogram of ``rollup_hour`` summed bin by bin (as dense ``hist`` of ``size`` bins)
    per group. It reads the sparse twin of the column (only non-empty bins)."""
    bins, counts = _SPARSE[histogram]
    cond, args = _window_where(start, end, filters, group_by)
    args.append(size)
    dims = ", ".join(group_by)
    keys = f"{dims}, " if dims else ""
    outer = f"GROUP BY {dims}" if dims else ""
    # Every name below was checked against the fixed lists above.
    sql = f"""
        WITH cells AS (
            SELECT {keys}u.b, sum(u.c)::bigint AS c
            FROM insights.rollup_hour, unnest({bins}, {counts}) AS u(b, c)
            WHERE {cond}
            GROUP BY {keys}u.b
        )
        SELECT {keys}insights.dense_histogram(array_agg(b::integer), array_agg(c), ${len(args)})
            AS hist
        FROM cells {outer}
    """  # noqa: S608
    return list(await conn.fetch(sql, *args))


def _window_where(
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    group_by: Sequence[str],
) -> tuple[str, list[Any]]:
    assert all(d in DIMENSIONS for d in (*filters, *group_by))
    args: list[Any] = [start, end]
    where = ["bucket >= $1", "bucket < $2"]
    for dim, values in sorted(filters.items()):
        args.append(list(values))
        where.append(f"{dim} = ANY(${len(args)}::text[])")
    return " AND ".join(where), args


# --- breaches ------------------------------------------------------------------------------


async def lock_rule_evaluation(conn: asyncpg.Connection, rule_id: str) -> bool:
    """One replica evaluates a rule at a time (transaction-level, so it ends with the work)."""
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('insights.alert_rule:' || $1, 0))",
        rule_id,
    )
    return locked


async def open_breaches(conn: asyncpg.Connection, rule_id: str) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM insights.breaches WHERE rule_id = $1 AND state <> 'resolved' FOR UPDATE",
            rule_id,
        )
    )


async def orphaned_open_breaches(conn: asyncpg.Connection) -> list[Any]:
    """Open breaches whose rule was deleted or disabled."""
    return list(
        await conn.fetch(
            """
            SELECT b.* FROM insights.breaches b
            LEFT JOIN insights.alert_rules r USING (rule_id)
            WHERE b.state <> 'resolved' AND (r.rule_id IS NULL OR r.deleted OR NOT r.enabled)
            ORDER BY b.breach_id
            FOR UPDATE OF b SKIP LOCKED
            """
        )
    )


async def insert_breach(
    conn: asyncpg.Connection,
    *,
    rule_id: str,
    rule_version: int,
    fingerprint: str,
    scope: dict[str, Any],
    severity: str,
    at: datetime,
    evidence: dict[str, Any],
) -> Any:
    return await conn.fetchrow(
        """
        INSERT INTO insights.breaches
            (rule_id, rule_version, fingerprint, scope, state, severity, opened_at,
             last_breaching_at, last_evaluated_at, evidence, peak_evidence)
        VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6, $6, $7, $7)
        RETURNING *
        """,
        rule_id,
        rule_version,
        fingerprint,
        scope,
        severity,
        at,
        evidence,
    )


async def update_breach(conn: asyncpg.Connection, breach_id: int, **fields: Any) -> Any:
    assert fields
    assert set(fields) <= _BREACH_COLUMNS
    names = sorted(fields)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    return await conn.fetchrow(
        f"UPDATE insights.breaches SET {sets} WHERE breach_id = $1 RETURNING *",  # noqa: S608
        breach_id,
        *(fields[n] for n in names),
    )


async def add_breach_event(
    conn: asyncpg.Connection,
    *,
    breach_id: int,
    at: datetime,
    kind: str,
    actor: str,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO insights.breach_events (breach_id, at, kind, actor, detail)"
        " VALUES ($1, $2, $3, $4, $5)",
        breach_id,
        at,
        kind,
        actor,
        detail,
    )


async def get_breach(conn: asyncpg.Connection, breach_id: int, *, lock: bool = False) -> Any:
    sql = "SELECT * FROM insights.breaches WHERE breach_id = $1"
    return await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), breach_id)


async def list_breaches(
    conn: asyncpg.Connection,
    *,
    states: Sequence[str],
    rule_id: str | None,
    before: int | None,
    limit: int,
) -> list[Any]:
    args: list[Any] = [limit]
    where = ["true"]
    if before is not None:
        args.append(before)
        where.append(f"breach_id < ${len(args)}")
    if states:
        args.append(list(states))
        where.append(f"state = ANY(${len(args)}::text[])")
    if rule_id is not None:
        args.append(rule_id)
        where.append(f"rule_id = ${len(args)}")
    sql = (
        f"SELECT * FROM insights.breaches WHERE {' AND '.join(where)}"  # noqa: S608
        " ORDER BY breach_id DESC LIMIT $1"
    )
    return list(await conn.fetch(sql, *args))


async def breach_events(conn: asyncpg.Connection, breach_id: int) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM insights.breach_events WHERE breach_id = $1 ORDER BY event_id",
            breach_id,
        )
    )


# --- outbox --------------------------------------------------------------------------------


async def enqueue(
    conn: asyncpg.Connection,
    *,
    breach_id: int,
    rule_id: str,
    channel: str,
    channel_type: str,
    transition: str,
    payload: dict[str, Any],
    at: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO insights.alert_outbox
            (breach_id, rule_id, channel, channel_type, transition, payload, created_at,
             next_attempt_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
        """,
        breach_id,
        rule_id,
        channel,
        channel_type,
        transition,
        payload,
        at,
    )


async def claim_due(conn: asyncpg.Connection, *, now: datetime, after_id: int) -> Any:
    """The oldest due row whose breach and channel have no older undelivered row, locked for
    this transaction; other replicas skip it. ``after_id`` lets one pass move on past rows it
    already tried."""
    return await conn.fetchrow(
        """
        SELECT o.* FROM insights.alert_outbox o
        WHERE o.state = 'pending' AND o.next_attempt_at <= $1 AND o.outbox_id > $2
          AND NOT EXISTS (
              SELECT 1 FROM insights.alert_outbox e
              WHERE e.breach_id = o.breach_id AND e.channel = o.channel
                AND e.state = 'pending' AND e.outbox_id < o.outbox_id)
        ORDER BY o.outbox_id
        LIMIT 1
        FOR UPDATE OF o SKIP LOCKED
        """,
        now,
        after_id,
    )


async def delivered_progress(
    conn: asyncpg.Connection, *, breach_id: int, channel: str, transition: str
) -> dict[str, Any] | None:
    progress: dict[str, Any] | None = await conn.fetchval(
        "SELECT progress FROM insights.alert_outbox WHERE breach_id = $1 AND channel = $2"
        " AND transition = $3 AND state = 'delivered' ORDER BY outbox_id LIMIT 1",
        breach_id,
        channel,
        transition,
    )
    return progress


async def record_attempt(
    conn: asyncpg.Connection,
    *,
    outbox_id: int,
    at: datetime,
    outcome: str,
    status_code: int | None,
    error: str | None,
    retry_after: float | None,
    state: str,
    next_attempt_at: datetime,
    progress: dict[str, Any],
) -> None:
    await conn.execute(
        """
        INSERT INTO insights.alert_delivery_attempts
            (outbox_id, at, outcome, status_code, error, retry_after_s)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        outbox_id,
        at,
        outcome,
        status_code,
        error,
        retry_after,
    )
    await conn.execute(
        """
        UPDATE insights.alert_outbox SET
            attempts = attempts + 1, state = $2, next_attempt_at = $3, last_error = $4,
            delivered_at = CASE WHEN $2 = 'delivered' THEN $5 ELSE delivered_at END,
            progress = $6
        WHERE outbox_id = $1
        """,
        outbox_id,
        state,
        next_attempt_at,
        error,
        at,
        progress,
    )


async def save_progress(
    conn: asyncpg.Connection, *, outbox_id: int, progress: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE insights.alert_outbox SET progress = $2 WHERE outbox_id = $1", outbox_id, progress
    )


async def outbox_of_breach(conn: asyncpg.Connection, breach_id: int) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM insights.alert_outbox WHERE breach_id = $1 ORDER BY outbox_id",
            breach_id,
        )
    )


async def attempts_of_breach(conn: asyncpg.Connection, breach_id: int) -> list[Any]:
    return list(
        await conn.fetch(
            """
            SELECT a.* FROM insights.alert_delivery_attempts a
            JOIN insights.alert_outbox o USING (outbox_id)
            WHERE o.breach_id = $1 ORDER BY a.attempt_id
            """,
            breach_id,
        )
    )


async def pending_outbox(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM insights.alert_outbox WHERE state = 'pending'"
    )
    return count
