"""Insights domain logic: fold tagged events into facts and rollups, answer metric queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pp_insights import repository
from pp_insights.repository import EscalationRow, RollupKey
from pp_shared.events import UNCLASSIFIED, EscalationCreated, TaggedEvent
from pp_shared.kafka import Record


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


async def fold_batch(pool: asyncpg.Pool, *, records: Sequence[Record]) -> int:
    """Store a tagged batch in one transaction; rollups grow only from inserted facts.
    Returns the number of new escalations."""
    tagged = [TaggedEvent.model_validate_json(r.value or b"") for r in records]
    log_rows = []
    for t in tagged:
        e = t.event
        log_rows.append(
            (
                e.event_id,
                e.event_type,
                e.escalation_id,
                e.occurred_at,
                e.model_dump(mode="json", exclude_none=True),
                [tg.model_dump(mode="json") for tg in t.tags],
            )
        )
    async with pool.acquire() as conn, conn.transaction():
        new_ids = await repository.insert_event_log(conn, log_rows)
        fact_rows: list[EscalationRow] = []
        for t in tagged:
            e = t.event
            if isinstance(e, EscalationCreated) and e.event_id in new_ids:
                top = t.tags[0] if t.tags else None
                fact_rows.append(
                    (
                        e.escalation_id,
                        e.occurred_at,
                        top.area if top else UNCLASSIFIED,
                        top.clause_id if top else UNCLASSIFIED,
                        e.region,
                        e.language,
                        e.product_feature,
                        e.queue,
                        e.escalation_reason.value,
                        e.reporter_type.value,
                        e.severity,
                    )
                )
        inserted = await repository.insert_escalations(conn, fact_rows)
        counts: Counter[RollupKey] = Counter(
            (
                _hour(r["created_at"]),
                r["area"],
                r["clause_id"],
                r["region"],
                r["language"],
                r["product_feature"],
                r["escalation_reason"],
            )
            for r in inserted
        )
        await repository.add_to_hourly(conn, dict(counts))
    return len(inserted)


class VolumeRow(BaseModel):
    bucket: datetime
    volume: int
    dimensions: dict[str, str]


class VolumeAnswer(BaseModel):
    metric: str = "volume"
    interval: str
    group_by: list[str]
    rows: list[dict[str, Any]]


async def volume(
    pool: asyncpg.Pool,
    *,
    interval: str,
    group_by: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> VolumeAnswer:
    """Escalations created per bucket and dimension values."""
    async with pool.acquire() as conn:
        rows = await repository.volume(
            conn, interval=interval, group_by=group_by, start=start, end=end
        )
    return VolumeAnswer(interval=interval, group_by=list(group_by), rows=[dict(r) for r in rows])
