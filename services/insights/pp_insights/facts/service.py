"""Fold tagged events into the event log, the facts and the rollups; retention and rebuilds."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from pp_insights.facts import repository
from pp_insights.facts.deltas import ROLLUPS, rollup_deltas
from pp_insights.facts.repository import LogRow
from pp_insights.metrics import (
    BATCH_EVENTS,
    EVENTS,
    PARTITIONS_DROPPED,
    REFRESH_SECONDS,
    ROWS_RECOMPUTED,
)
from pp_insights.metrics_def import OVERTURNED_OUTCOMES
from pp_insights.rollups import TABLE_DIMENSIONS
from pp_shared.contracts.events import NO_CLAUSE, UNCLASSIFIED, TaggedEvent

log = logging.getLogger(__name__)

_NOT_STORED: set[str] = {"text_excerpt"}


def log_row(tagged: TaggedEvent) -> LogRow:
    """The event log's row of a tagged event."""
    e = tagged.event
    return LogRow(
        e.event_id,
        e.event_type,
        e.escalation_id,
        e.occurred_at,
        # Insights counts, it never reads content: the text stays out of its log.
        e.model_dump(mode="json", exclude_none=True, exclude=_NOT_STORED),
        [tg.model_dump(mode="json") for tg in tagged.tags],
    )


async def fold(pool: asyncpg.Pool, *, events: Sequence[TaggedEvent]) -> int:
    """Store a tagged batch and refresh the facts and rollups its new events change, in one
    transaction. Returns the number of escalations that got their first fact row."""
    # One insertion order for every batch, so concurrent batches sharing events cannot
    # deadlock on the event_log primary key (escalation_id, event_id, occurred_at).
    log_rows = sorted(map(log_row, events), key=lambda row: (row.escalation_id, row.event_id))
    received = len(log_rows)
    async with pool.acquire() as conn:
        horizon, missing = await repository.partition_state(conn, [r.occurred_at for r in log_rows])
        if horizon is not None:
            # Their month is gone: storing them again would rebuild partial facts and
            # overwrite the kept daily rollups with partial sums.
            log_rows = [r for r in log_rows if r.occurred_at >= horizon]
            missing = [m for m in missing if m >= horizon]
        if missing:
            await repository.create_partitions(conn, missing)
        async with conn.transaction():
            touched = await repository.insert_event_log(conn, log_rows)
            new = await _refresh(conn, escalation_ids=sorted(set(touched)))
    BATCH_EVENTS.labels("received").observe(received)
    BATCH_EVENTS.labels("new").observe(len(touched))
    EVENTS.labels("new").inc(len(touched))
    EVENTS.labels("duplicate").inc(len(log_rows) - len(touched))
    EVENTS.labels("beyond_retention").inc(received - len(log_rows))
    return new


async def apply_retention(pool: asyncpg.Pool, *, now: datetime, keep: timedelta) -> list[str]:
    """Drop the monthly partitions of the event log, facts and hourly rollups that end
    before ``now - keep``; daily rollups are kept. Returns the partitions dropped."""
    async with pool.acquire() as conn, conn.transaction():
        # No refresh may read facts of a month while it goes.
        await repository.lock_refresh(conn)
        dropped = await repository.drop_partitions_before(conn, now - keep)
    for name in dropped:
        PARTITIONS_DROPPED.labels(name.partition(":")[0]).inc()
    return dropped


async def retain(pool: asyncpg.Pool, *, keep: timedelta) -> None:
    """Retention as the service runs it, at start and then periodically: up to now."""
    dropped = await apply_retention(pool, now=datetime.now(UTC), keep=keep)
    if dropped:
        log.info("retention dropped partitions", extra={"partitions": dropped})


async def finish_pending_rebuilds(pool: asyncpg.Pool) -> list[str]:
    """Rebuild facts and rollups from event_log when a migration asked for it; returns the
    rebuilds done. Runs before the consumer starts."""
    async with pool.acquire() as conn, conn.transaction():
        pending = await repository.claim_pending_rebuilds(conn)
        if pending:
            await repository.lock_refresh(conn)
            await repository.truncate_derived(conn)
            await _refresh(conn, escalation_ids=await repository.escalation_ids_in_log(conn))
            await repository.finish_rebuilds(conn, pending)
    return pending


async def _refresh(conn: asyncpg.Connection, *, escalation_ids: Sequence[str]) -> int:
    """Recompute these escalations' facts from all their events, then add to every rollup
    row what the facts now contribute and subtract what they contributed before.
    Recomputing the facts (rather than adding events to them) is what makes replays,
    duplicates and events in any order exact; the rollups follow the facts exactly."""
    if not escalation_ids:
        return 0
    await repository.lock_refresh(conn)
    with REFRESH_SECONDS.labels("facts").time():
        rows = await repository.refresh_facts(
            conn,
            escalation_ids,
            overturned=OVERTURNED_OUTCOMES,
            unclassified=UNCLASSIFIED,
            no_clause=NO_CLAUSE,
        )
    ROWS_RECOMPUTED.labels("escalation_facts").inc(sum(1 for r in rows if r["is_new"]))
    for table, grain in ROLLUPS:
        dimensions = TABLE_DIMENSIONS[table]
        deltas = rollup_deltas(rows, grain, dimensions)
        with REFRESH_SECONDS.labels(table.removeprefix("insights.")).time():
            await repository.apply_deltas(conn, table, dimensions, deltas)
        ROWS_RECOMPUTED.labels(table.removeprefix("insights.")).inc(len(deltas))
    had_facts = {r["escalation_id"] for r in rows if not r["is_new"]}
    return sum(1 for r in rows if r["is_new"] and r["escalation_id"] not in had_facts)
