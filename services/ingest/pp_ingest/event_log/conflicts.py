"""Conflicts read back: events refused because the log holds their id with another body, for
the producer whose id collided to find out (``GET /v1/conflicts``). Their bodies are shown
to the caller, never logged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel, Field

from pp_ingest.event_log import repository
from pp_shared.dead_letters.store import decode_cursor, encode_cursor


class Conflict(BaseModel):
    """An event refused because the log holds its id with another body."""

    id: int
    event_id: str
    received_at: datetime = Field(description="When the conflicting event was refused.")
    body_sha256: str = Field(description="SHA-256 (hex) of the refused event's canonical body.")
    stored_sha256: str | None = Field(
        description="SHA-256 (hex) of the body the log holds under this id."
    )
    body: dict[str, Any] = Field(description="The refused event, in its canonical form.")


class ConflictPage(BaseModel):
    items: list[Conflict]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null at the end."
    )


async def page(
    pool: asyncpg.Pool,
    *,
    event_id: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> ConflictPage:
    """Conflicts in arrival order, filtered; ``next_cursor`` when the page is full."""
    rows = await repository.conflict_rows(
        pool,
        event_id=event_id,
        since=since,
        until=until,
        after_id=decode_cursor(cursor) if cursor is not None else None,
        limit=limit,
    )
    items = [
        Conflict(
            id=r["id"],
            event_id=r["event_id"],
            received_at=r["received_at"],
            body_sha256=bytes(r["body_sha256"]).hex(),
            stored_sha256=bytes(r["stored_sha256"]).hex() if r["stored_sha256"] else None,
            body=orjson.loads(r["body"]),
        )
        for r in rows
    ]
    full = len(items) == limit
    return ConflictPage(items=items, next_cursor=encode_cursor(items[-1].id) if full else None)
