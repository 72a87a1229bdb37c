"""Every SQL statement of the ingest service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from pp_shared.db import conditions


async def insert_events(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[str, str, str, datetime, str, bytes]],
) -> set[str]:
    """Insert events new to the log (bodies as JSON text); return the ids actually inserted."""
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
        *cols,
    )
    return {r["event_id"] for r in inserted}


async def stored_hashes(
    conn: asyncpg.Connection | asyncpg.Pool, event_ids: Sequence[str]
) -> dict[str, bytes]:
    """The canonical-body hash of each id already in the log."""
    rows = await conn.fetch(
        "SELECT event_id, body_sha256 FROM ingest.events WHERE event_id = ANY($1::text[])",
        list(event_ids),
    )
    return {r["event_id"]: bytes(r["body_sha256"]) for r in rows}


async def insert_conflicts(
    conn: asyncpg.Connection | asyncpg.Pool, rows: Sequence[tuple[str, bytes, bytes]]
) -> None:
    """Keep events whose id the log holds with another body: (event id, canonical JSON bytes,
    their hash)."""
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
        [encoded.decode() for encoded in cols[1]],
        cols[2],
    )


async def conflict_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    event_id: str | None,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Conflicts in id order after ``after_id``, filtered (``since`` inclusive, ``until``
    exclusive, on ``received_at``), each with the hash of the body the log holds."""
    args: list[object] = []
    where = conditions(
        [
            ("c.event_id = ${}", event_id),
            ("c.received_at >= ${}", since),
            ("c.received_at < ${}", until),
            ("c.id > ${}", after_id),
        ],
        args,
    )
    args.append(limit)
    sql = (
        "SELECT c.id, c.event_id, c.body::text AS body, c.body_sha256, c.received_at,"  # noqa: S608
        " e.body_sha256 AS stored_sha256"
        " FROM ingest.conflicts c LEFT JOIN ingest.events e ON e.event_id = c.event_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY c.id LIMIT ${len(args)}"
    )
    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows
