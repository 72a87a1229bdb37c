"""The Kafka adapter of insights: batches of ``pp.events.tagged.v1`` folded into facts and
rollups (``facts.service.fold``), and ``pp.taxonomy.published.v1`` recorded as launches. The
lifespan in ``main`` hands ``batch_handler`` and ``taxonomy_handler`` to ``Runtime.consume``,
which commits offsets once a batch is stored and sets aside the records that fail on their
own (``dead_letters``)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from pydantic import ValidationError

from pp_insights.facts import service as facts
from pp_insights.launches import service as launches
from pp_shared.contracts.events import TaggedEvent, TaxonomyPublished
from pp_shared.contracts.topics import Topic
from pp_shared.failures import PoisonRecord
from pp_shared.kafka import BatchHandler, Record
from pp_shared.problems import field_errors
from pp_shared.records import Records

TOPIC = Topic.EVENTS_TAGGED
GROUP = "pp-insights"


def decode(record: Record) -> TaggedEvent:
    """The tagged event of a record; PoisonRecord when it is not one (the consumer loop sets
    it aside as a dead letter)."""
    try:
        return TaggedEvent.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise PoisonRecord("invalid", field_errors(exc.errors(include_input=False))) from exc


async def handle_batch(pool: asyncpg.Pool, *, records: Sequence[Record]) -> int:
    """Fold one consumed batch in one transaction; returns the number of escalations that
    got their first fact row."""
    return await facts.fold(pool, events=[decode(r) for r in records])


def batch_handler(pool: asyncpg.Pool) -> BatchHandler:
    """The handler ``Runtime.consume`` calls with each batch."""

    async def handle(records: Sequence[Record]) -> None:
        await handle_batch(pool, records=records)

    return handle


TAXONOMY_TOPIC = Topic.TAXONOMY_PUBLISHED
TAXONOMY_GROUP = "pp-insights-launches"


def decode_taxonomy(record: Record) -> TaxonomyPublished:
    """A taxonomy announcement; PoisonRecord when the record is not one."""
    try:
        return TaxonomyPublished.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise PoisonRecord("invalid", field_errors(exc.errors(include_input=False))) from exc


def taxonomy_handler(records: Records) -> BatchHandler:
    """Records each published taxonomy version as a launch (once per version)."""

    async def handle(batch: Sequence[Record]) -> None:
        await launches.record_taxonomy_versions(records, [decode_taxonomy(r) for r in batch])

    return handle
