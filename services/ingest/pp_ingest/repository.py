"""Every SQL statement of the ingest service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_shared.db import json_text


async def insert_events(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[str, str, str, datetime, dict[str, Any], bytes]],
) -> set[str]:
    """Insert events new to the log; return the ids actually inserted."""
    if not rows:
        return set()
    cols = list(zip(*rows, strict=True))
    inserted = await conn.fetch(
        """
        INSERT INTO ingest.events
            (event_id, event_type, escalation_id, occurred_at, body, body_sha256)
        SELECT i, t, e, o, b::jsonb, h
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                    $6::bytea[]) AS u(i, t, e, o, b, h)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        *cols[:4],
        [json_text(b) for b in cols[4]],
        cols[5],
    )
    return {r["event_id"] for r in inserted}


async def stored_hashes(conn: asyncpg.Connection, event_ids: Sequence[str]) -> dict[str, bytes]:
    rows = await conn.fetch(
        "SELECT event_id, body_sha256 FROM ingest.events WHERE event_id = ANY($1::text[])",
        list(event_ids),
    )
    return {r["event_id"]: bytes(r["body_sha256"]) for r in rows}


async def insert_conflicts(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, dict[str, Any], bytes]]
) -> None:
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        """
        INSERT INTO ingest.conflicts (event_id, body, body_sha256)
        SELECT i, b::jsonb, h FROM unnest($1::text[], $2::text[], $3::bytea[]) AS u(i, b, h)
        ON CONFLICT (event_id, body_sha256) DO NOTHING
        """,
        cols[0],
        [json_text(b) for b in cols[1]],
        cols[2],
    )


async def insert_dead_letters(
    conn: asyncpg.Connection,
    rows: Sequence[
        tuple[str, int, int, str, list[dict[str, Any]], bytes | None, bytes | None, list[list[str]]]
    ],
) -> None:
    if not rows:
        return
    await conn.executemany(
        """
        INSERT INTO ingest.dead_letters
            (topic, kafka_partition, kafka_offset, reason, errors, raw_value, raw_key, headers)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
        """,
        rows,
    )
