"""Classifier domain logic: tag escalations once, forward every event with its tags."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from pp_classifier import repository, tagger
from pp_classifier.catalog import ActiveTaxonomy
from pp_classifier.metrics import TAGS
from pp_classifier.settings import ClassifierSettings
from pp_shared.events import DecisionMade, EscalationCreated, Tag, TaggedEvent, parse_event
from pp_shared.kafka import Record
from pp_shared.topics import Topic, topic_name

# The label of a decision that found no violation: the model learns what is not a clause.
NO_VIOLATION = "none"


async def tag_batch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: ClassifierSettings,
    *,
    active: ActiveTaxonomy,
    records: Sequence[Record],
) -> list[TaggedEvent]:
    """Tag the escalations of a validated batch and publish every event to the tagged topic."""
    events = [parse_event(r.value or b"") for r in records]
    taxonomy = active.taxonomy  # one version for the whole batch
    fresh = {
        e.event_id: (
            e.escalation_id,
            [t.model_dump(mode="json") for t in tagger.tag(e, taxonomy=taxonomy)],
        )
        for e in events
        if isinstance(e, EscalationCreated)
    }
    texts = [
        (e.escalation_id, e.text_excerpt, e.language)
        for e in events
        if isinstance(e, EscalationCreated) and e.text_excerpt
    ]
    labels = [
        (e.escalation_id, e.clause_id or NO_VIOLATION, e.decision_id, e.occurred_at)
        for e in events
        if isinstance(e, DecisionMade)
    ]
    async with pool.acquire() as conn, conn.transaction():
        on_record = await repository.store_tags(
            conn, [(eid, esc, tags) for eid, (esc, tags) in fresh.items()]
        )
        await repository.store_texts(conn, texts)
        await repository.store_labels(conn, labels)
    out: list[TaggedEvent] = []
    for e in events:
        tags = tuple(Tag.model_validate(t) for t in on_record.get(e.event_id, ()))
        out.append(TaggedEvent(event=e, tags=tags))
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
