"""The SQL of taxonomy versions: published once, never changed."""

from __future__ import annotations

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
