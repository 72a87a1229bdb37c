"""The SQL of tagging: each escalation event's tags, stored once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from pp_shared.db import json_text


async def store_tags(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, str, list[dict[str, Any]]]]
) -> dict[str, list[dict[str, Any]]]:
    """Store first-time tags; return the tags on record for every given event id."""
    if not rows:
        return {}
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        """
        INSERT INTO classifier.tags (event_id, escalation_id, tags)
        SELECT e, s, t::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(e, s, t)
        ON CONFLICT (event_id) DO NOTHING
        """,
        cols[0],
        cols[1],
        [json_text(t) for t in cols[2]],
    )
    stored = await conn.fetch(
        "SELECT event_id, tags FROM classifier.tags WHERE event_id = ANY($1::text[])",
        list(cols[0]),
    )
    return {r["event_id"]: r["tags"] for r in stored}
