"""Every SQL statement of the insights service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_shared.db import json_text

EscalationRow = tuple[str, datetime, str, str, str, str, str, str | None, str, str, int | None]
RollupKey = tuple[datetime, str, str, str, str, str, str]

DIMENSIONS = ("area", "clause_id", "region", "language", "product_feature", "escalation_reason")


async def insert_event_log(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[str, str, str, datetime, dict[str, Any], list[dict[str, Any]]]],
) -> set[str]:
    if not rows:
        return set()
    cols = list(zip(*rows, strict=True))
    inserted = await conn.fetch(
        """
        INSERT INTO insights.event_log
            (event_id, event_type, escalation_id, occurred_at, body, tags)
        SELECT i, t, e, o, b::jsonb, g::jsonb
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                    $6::text[]) AS u(i, t, e, o, b, g)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        *cols[:4],
        [json_text(b) for b in cols[4]],
        [json_text(g) for g in cols[5]],
    )
    return {r["event_id"] for r in inserted}


async def insert_escalations(
    conn: asyncpg.Connection, rows: Sequence[EscalationRow]
) -> list[asyncpg.Record]:
    """Insert escalations new to the facts; return the inserted rows."""
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    return list(
        await conn.fetch(
            """
            INSERT INTO insights.escalations
                (escalation_id, created_at, area, clause_id, region, language, product_feature,
                 queue, escalation_reason, reporter_type, severity)
            SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[],
                                 $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                 $10::text[], $11::smallint[])
            ON CONFLICT (escalation_id) DO NOTHING
            RETURNING created_at, area, clause_id, region, language, product_feature,
                      escalation_reason
            """,
            *cols,
        )
    )


async def add_to_hourly(conn: asyncpg.Connection, counts: dict[RollupKey, int]) -> None:
    if not counts:
        return
    keys = sorted(counts)  # a fixed order keeps concurrent upserts from deadlocking
    cols = list(zip(*keys, strict=True))
    await conn.execute(
        """
        INSERT INTO insights.rollup_hourly AS r
            (bucket, area, clause_id, region, language, product_feature, escalation_reason,
             volume)
        SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::bigint[])
        ON CONFLICT (bucket, area, clause_id, region, language, product_feature,
                     escalation_reason)
        DO UPDATE SET volume = r.volume + EXCLUDED.volume
        """,
        *cols,
        [counts[k] for k in keys],
    )


async def volume(
    conn: asyncpg.Connection,
    *,
    interval: str,
    group_by: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> list[asyncpg.Record]:
    assert interval in ("hour", "day", "week")
    assert all(g in DIMENSIONS for g in group_by)
    dims = "".join(f", {g}" for g in group_by)
    sql = f"""
        SELECT date_trunc('{interval}', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket
               {dims}, sum(volume)::bigint AS volume
        FROM insights.rollup_hourly
        WHERE ($1::timestamptz IS NULL OR bucket >= $1) AND ($2::timestamptz IS NULL OR bucket < $2)
        GROUP BY 1{dims}
        ORDER BY 1{dims}
    """  # noqa: S608 - interval and dimensions are checked against fixed lists above
    return list(await conn.fetch(sql, start, end))
