"""The SQL of taxonomy versions: published once, never changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from pp_shared.db import json_text


async def insert_taxonomy(
    conn: asyncpg.Connection,
    *,
    version: str,
    version_key: list[int],
    content: dict[str, Any],
    sha: bytes,
    published_by: str,
) -> bool:
    """Store a new version; False when the version already exists."""
    row = await conn.fetchrow(
        """
        INSERT INTO classifier.taxonomy_versions
            (version, version_key, content, content_sha256, published_by)
        VALUES ($1, $2, $3::text::jsonb, $4, $5)
        ON CONFLICT DO NOTHING
        RETURNING version
        """,
        version,
        version_key,
        json_text(content),
        sha,
        published_by,
    )
    return row is not None


async def lock_versions(conn: asyncpg.Connection) -> None:
    """Serialise publishers (inside a transaction) until it ends."""
    await conn.execute("LOCK TABLE classifier.taxonomy_versions IN EXCLUSIVE MODE")


async def taxonomy_row(conn: asyncpg.Connection, version: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT version, content, content_sha256, published_by, stored_at"
        " FROM classifier.taxonomy_versions WHERE version = $1",
        version,
    )
    return row


async def latest_taxonomy(conn: asyncpg.Connection) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT version, content, content_sha256, published_by, stored_at"
        " FROM classifier.taxonomy_versions ORDER BY version_key DESC LIMIT 1"
    )
    return row


async def latest_taxonomy_version(conn: asyncpg.Connection) -> str | None:
    version: str | None = await conn.fetchval(
        "SELECT version FROM classifier.taxonomy_versions ORDER BY version_key DESC LIMIT 1"
    )
    return version


async def list_taxonomies(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT version, content->>'published_at' AS published_at, published_by, stored_at,"
            " jsonb_array_length(content->'areas') AS areas"
            " FROM classifier.taxonomy_versions ORDER BY version_key DESC"
        )
    )


async def unannounced_versions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Versions not announced yet, oldest first, each with the version published before it
    and the content of both."""
    return list(
        await conn.fetch(
            """
            SELECT v.version, v.content, v.published_by, v.stored_at,
                   p.version AS previous_version, p.content AS previous_content
            FROM classifier.taxonomy_versions v
            LEFT JOIN LATERAL (
                SELECT version, content FROM classifier.taxonomy_versions o
                WHERE o.version_key < v.version_key ORDER BY o.version_key DESC LIMIT 1
            ) p ON true
            WHERE NOT EXISTS (
                SELECT 1 FROM classifier.taxonomy_announcements a WHERE a.version = v.version)
            ORDER BY v.version_key
            """
        )
    )


async def mark_announced(conn: asyncpg.Connection, version: str) -> None:
    await conn.execute(
        "INSERT INTO classifier.taxonomy_announcements (version) VALUES ($1)"
        " ON CONFLICT DO NOTHING",
        version,
    )


async def texts_in_window(
    conn: asyncpg.Connection, *, start: datetime, end: datetime, limit: int
) -> tuple[int, list[asyncpg.Record]]:
    """The number of escalation texts stored in ``[start, end)``, and up to ``limit`` of them
    (a sample by a hash of the escalation id when there are more: the same window gives the
    same sample), each with whether its escalation's top tag was declared upstream."""
    total: int = await conn.fetchval(
        "SELECT count(*) FROM classifier.texts WHERE stored_at >= $1 AND stored_at < $2",
        start,
        end,
    )
    order = "md5(t.escalation_id)" if total > limit else "t.escalation_id"
    rows = await conn.fetch(
        f"""
        SELECT t.escalation_id, t.text,
               coalesce(g.declared, false) AS declared
        FROM classifier.texts t
        LEFT JOIN LATERAL (
            SELECT bool_or(tags -> 0 ->> 'method' = 'declared') AS declared
            FROM classifier.tags g WHERE g.escalation_id = t.escalation_id
        ) g ON true
        WHERE t.stored_at >= $1 AND t.stored_at < $2
        ORDER BY {order}
        LIMIT $3
        """,  # noqa: S608 - one of two fixed orders
        start,
        end,
        limit,
    )
    return total, list(rows)
