"""Every SQL statement of the ingest service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

DeadLetterRow = tuple[
    str, int, int, str, list[dict[str, Any]], bytes | None, bytes | None, list[dict[str, Any]]
]
"""topic, partition, offset, reason, errors, raw value, raw key, headers."""


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


async def insert_dead_letters(conn: asyncpg.Connection, rows: Sequence[DeadLetterRow]) -> None:
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


_DEAD_LETTER_COLUMNS = """
    id, topic, kafka_partition, kafka_offset, reason, errors, raw_value, raw_key, headers,
    received_at, replayed_at
"""


async def dead_letters(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    replayed: bool | None,
    after_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Dead letters in id order after ``after_id``, filtered; ``since`` inclusive, ``until``
    exclusive (on ``received_at``)."""
    # Only the filters in use go into the statement, so each shape gets a plan that can use
    # its index; the fragments are fixed text and every value is a parameter.
    where: list[str] = []
    args: list[Any] = []
    for fragment, value in (
        ("reason = ${}", reason),
        ("received_at >= ${}", since),
        ("received_at < ${}", until),
        ("id > ${}", after_id),
    ):
        if value is not None:
            args.append(value)
            where.append(fragment.format(len(args)))
    if replayed is not None:
        where.append("replayed_at IS NOT NULL" if replayed else "replayed_at IS NULL")
    args.append(limit)
    sql = (
        f"SELECT {_DEAD_LETTER_COLUMNS} FROM ingest.dead_letters"  # noqa: S608
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY id LIMIT ${len(args)}"
    )
    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows


async def dead_letters_by_id(
    conn: asyncpg.Connection | asyncpg.Pool, ids: Sequence[int]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_DEAD_LETTER_COLUMNS} FROM ingest.dead_letters"  # noqa: S608
        " WHERE id = ANY($1::bigint[]) ORDER BY id",
        list(ids),
    )
    return rows


async def mark_replayed(conn: asyncpg.Connection | asyncpg.Pool, ids: Sequence[int]) -> None:
    await conn.execute(
        "UPDATE ingest.dead_letters SET replayed_at = now() WHERE id = ANY($1::bigint[])",
        list(ids),
    )
