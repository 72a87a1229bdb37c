"""The Kafka adapter of ingest: the consumer of ``pp.events.raw.v1``, which the lifespan hands
to ``Runtime.consume``. The logic is in :mod:`pp_ingest.raw.service`."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from pp_ingest.raw.service import process_raw_batch
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic
from pp_shared.kafka import BatchHandler, Record

GROUP = "pp-ingest"
TOPIC = Topic.EVENTS_RAW
DEAD_LETTER_TOPIC = Topic.EVENTS_DEAD_LETTER


def raw_events_handler(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, settings: IngestSettings
) -> BatchHandler:
    """Each consumed batch of raw events is validated, stored once in one transaction and
    published; the loop commits the offsets after it returns."""

    async def handle(records: Sequence[Record]) -> None:
        await process_raw_batch(pool, producer, settings, records=records)

    return handle
