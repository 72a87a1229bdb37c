"""Classifier domain logic: tag escalations once, forward every event with its tags."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from pp_classifier import repository, tagger
from pp_classifier.learner import Layers
from pp_classifier.metrics import TAGS
from pp_classifier.settings import ClassifierSettings
from pp_shared.events import (
    DecisionMade,
    EscalationCreated,
    Event,
    Tag,
    TaggedEvent,
    parse_event,
)
from pp_shared.failures import PoisonRecord
from pp_shared.kafka import Record
from pp_shared.problems import field_errors
from pp_shared.topics import Topic, topic_name

log = logging.getLogger(__name__)

# The label of a decision that found no violation: the model learns what is not a clause.
NO_VIOLATION = "none"


def storable(text: str) -> str:
    """A text Postgres accepts: ``text`` columns refuse NUL characters, which JSON allows."""
    return text.replace("\x00", "") if "\x00" in text else text


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


def tag_safely(
    escalations: Sequence[EscalationCreated], *, layers: Layers
) -> list[tuple[Tag, ...]]:
    """Tags for every escalation even if a layer fails: a failing batch is retried one event
    at a time, and an event that still fails is ``unclassified`` (and logged)."""
    try:
        return tagger.tag_escalations(escalations, layers=layers)
    except Exception:
        log.exception("batch tagging failed; tagging one escalation at a time")
    out: list[tuple[Tag, ...]] = []
    for event in escalations:
        try:
            out.append(tagger.tag_escalations([event], layers=layers)[0])
        except Exception:
            log.exception("tagging failed", extra={"event_id": event.event_id})
            version = layers.taxonomy.version
            out.append((tagger.unclassified(taxonomy_version=version),))
    return out


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
    tagged = await asyncio.to_thread(tag_safely, escalations, layers=layers)
    fresh = {
        e.event_id: (e.escalation_id, [t.model_dump(mode="json") for t in tags])
        for e, tags in zip(escalations, tagged, strict=True)
    }
    texts = [
        (e.escalation_id, storable(e.text_excerpt), e.language)
        for e in escalations
        if e.text_excerpt and storable(e.text_excerpt)
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
