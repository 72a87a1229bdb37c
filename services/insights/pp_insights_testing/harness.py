"""Records as the classifier publishes them, a database migrated as the service migrates it,
events folded as the consumer folds them, and the query app without its consumer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
from fastapi import FastAPI
from pydantic import SecretStr

from pp_insights import consumer
from pp_insights.facts import service as facts
from pp_insights.main import create_app
from pp_insights.settings import InsightsSettings
from pp_shared.contracts.events import (
    UNCLASSIFIED,
    Tag,
    TaggedEvent,
    TagMethod,
    area_of,
    parse_event,
)
from pp_shared.db import Pool, apply_migrations, create_pool
from pp_shared.kafka import Record
from pp_shared.service import Runtime
from pp_shared.testing.apps import record

Fold = Callable[[Sequence[dict[str, Any]]], Awaitable[int]]


def declared_tag(clause: str) -> Tag:
    """The top tag of an escalation whose declared clause the classifier kept, or of one it
    left ``unclassified``."""
    declared = clause != UNCLASSIFIED
    return Tag(
        clause_id=clause,
        area=area_of(clause),
        method=TagMethod.DECLARED if declared else TagMethod.NONE,
        confidence=1.0 if declared else 0.0,
        taxonomy_version="t1",
        model_version="m1",
    )


def tagged_record(
    event: dict[str, Any], offset: int = 0, *, tags: Sequence[Tag] | None = None
) -> Record:
    """A record of the tagged topic with ``tags``; by default escalations carry the declared
    clause as their top tag, or ``unclassified``, as the classifier tags them."""
    if tags is None:
        clause = event.get("suggested_clause_id") or UNCLASSIFIED
        tags = (declared_tag(clause),) if event["event_type"] == "escalation.created" else ()
    body = TaggedEvent(event=parse_event(orjson.dumps(event)), tags=tuple(tags))
    tagged: Record = record(
        "tagged",
        orjson.dumps(body.model_dump(mode="json", exclude_none=True)),
        key=event["escalation_id"].encode(),
        offset=offset,
    )
    return tagged


@contextlib.asynccontextmanager
async def migrated_pool(database_url: str) -> AsyncIterator[Pool]:
    """A pool on a database with the insights schema, as the service starts it."""
    pool = await create_pool(database_url)
    try:
        await apply_migrations(
            pool, schema="insights", package="pp_insights", shared=["dead_letters"]
        )
        await facts.finish_pending_rebuilds(pool)
        yield pool
    finally:
        await pool.close()


async def fold_events(pool: Pool, events: Sequence[dict[str, Any]]) -> int:
    """Fold events as one consumed batch; returns the number of new escalations."""
    records = [tagged_record(e, offset=i) for i, e in enumerate(events)]
    return await consumer.handle_batch(pool, records=records)


def query_app(pool: Pool, database_url: str, *, gateway_secret: SecretStr | None = None) -> FastAPI:
    """The insights app answering queries from ``pool``, without starting its consumer; with
    ``gateway_secret``, to callers the gateway signed only (as deployed)."""
    settings = InsightsSettings(database_url=database_url, gateway_secret=gateway_secret)
    app = create_app(settings)
    runtime = Runtime("insights", settings)
    runtime.pool = pool
    app.state.runtime = runtime
    return app
