"""The Kafka adapter: tag the escalations of a validated batch, keep what training learns
from, and forward every event to the tagged topic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from pp_classifier.metrics import TAGS
from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging import service as tagging
from pp_classifier.tagging.layers import Layers
from pp_classifier.taxonomy.service import Announce
from pp_classifier.training import service as training
from pp_shared.contracts.events import (
    EscalationCreated,
    Event,
    TaggedEvent,
    TaxonomyPublished,
    parse_event,
)
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.failures import PoisonRecord
from pp_shared.kafka import Record
from pp_shared.problems import field_errors


def parse_records(records: Sequence[Record]) -> list[Event]:
    """The events of a batch. A record that is not a valid event raises PoisonRecord: the
    consumer loop finds it and sets it aside as a dead letter (the validated topic should hold
    none, and one must never stop the partition nor be lost)."""
    events: list[Event] = []
    for r in records:
        try:
            events.append(parse_event(r.value or b""))
        except ValidationError as exc:
            raise PoisonRecord("invalid", field_errors(exc.errors(include_input=False))) from exc
    return events


async def tag_batch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: ClassifierSettings,
    *,
    layers: Layers,
    records: Sequence[Record],
) -> list[TaggedEvent]:
    """Tag the escalations of a validated batch and publish every event to the tagged topic."""
    events = parse_records(records)
    escalations = [e for e in events if isinstance(e, EscalationCreated)]
    # CPU-bound: in a thread, so the API and health checks answer during a large batch.
    tagged = await asyncio.to_thread(tagging.tag_safely, escalations, layers=layers)
    async with pool.acquire() as conn, conn.transaction():
        on_record = await tagging.store_tags(conn, escalations, tagged)
        await training.store_examples(conn, events)
    out = [TaggedEvent(event=e, tags=on_record.get(e.event_id, ())) for e in events]
    topic = topic_name(Topic.EVENTS_TAGGED, settings.topic_prefix)
    futures = [
        await producer.send(
            topic,
            orjson.dumps(t.model_dump(mode="json", exclude_none=True)),
            key=t.event.escalation_id.encode(),
        )
        for t in out
    ]
    if futures:
        await asyncio.gather(*futures)
    for t in out:
        for tg in t.tags[:1]:
            TAGS.labels(tg.area, tg.method.value).inc()
    return out


def taxonomy_sender(producer: AIOKafkaProducer, settings: ClassifierSettings) -> Announce:
    """Sends a taxonomy announcement, keyed by version, and waits for the broker."""
    topic = topic_name(Topic.TAXONOMY_PUBLISHED, settings.topic_prefix)

    async def send(message: TaxonomyPublished) -> None:
        await producer.send_and_wait(
            topic, orjson.dumps(message.model_dump(mode="json")), key=message.version.encode()
        )

    return send
