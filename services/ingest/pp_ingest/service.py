"""Ingest domain logic: validate, store each event once, publish, dead-letter the rest.

Imports neither FastAPI nor aiokafka's consumer: the adapters call in here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from pp_ingest import repository
from pp_ingest.metrics import DEAD_LETTERS, EVENTS, PRODUCE_SECONDS
from pp_ingest.settings import IngestSettings
from pp_shared.events import Event, parse_event
from pp_shared.kafka import Record
from pp_shared.problems import Unavailable, field_errors
from pp_shared.topics import Topic, topic_name

log = logging.getLogger(__name__)


class Accepted(BaseModel):
    event_id: str
    status: str = "accepted"


def canonical(event: Event) -> tuple[dict[str, Any], bytes, bytes]:
    """The event as stored and published, its JSON bytes, and the hash that tells a true
    duplicate (same body) from a conflict (same id, different body)."""
    body = event.model_dump(mode="json", exclude_none=True)
    encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return body, encoded, hashlib.sha256(encoded).digest()


async def submit(producer: AIOKafkaProducer, settings: IngestSettings, *, event: Event) -> Accepted:
    """Hand one validated event to the raw topic; return only once the broker acknowledged."""
    _, encoded, _ = canonical(event)
    topic = topic_name(Topic.EVENTS_RAW, settings.topic_prefix)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(settings.produce_timeout_seconds):
            await producer.send_and_wait(topic, encoded, key=event.escalation_id.encode())
    except (TimeoutError, KafkaError) as exc:
        EVENTS.labels("http", event.event_type, "unavailable").inc()
        raise Unavailable(
            "the event broker did not acknowledge the event; nothing was accepted",
            headers={"Retry-After": str(settings.retry_after_seconds)},
            extra={"reason": type(exc).__name__},
        ) from exc
    PRODUCE_SECONDS.observe(time.perf_counter() - started)
    EVENTS.labels("http", event.event_type, "accepted").inc()
    return Accepted(event_id=event.event_id)


@dataclass
class _Valid:
    record: Record
    event: Event
    body: dict[str, Any]
    encoded: bytes
    sha: bytes


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    dead_letters: int = 0
    published: list[_Valid] = field(default_factory=list)


async def process_raw_batch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    records: Sequence[Record],
) -> BatchOutcome:
    """Validate a consumed batch, store it in one transaction, then publish; the caller
    commits offsets afterwards. Safe to call again with the same records."""
    outcome = BatchOutcome()
    valid: dict[str, _Valid] = {}
    in_batch_conflicts: list[_Valid] = []
    dead: list[tuple[Record, str, list[dict[str, Any]]]] = []
    for rec in records:
        try:
            event = parse_event(rec.value or b"")
        except ValidationError as exc:
            reason = "undecodable" if _is_json_error(exc) else "invalid"
            dead.append((rec, reason, field_errors(exc.errors())))
            continue
        body, encoded, sha = canonical(event)
        item = _Valid(rec, event, body, encoded, sha)
        seen = valid.get(event.event_id)
        if seen is None:
            valid[event.event_id] = item
        elif seen.sha != sha:
            in_batch_conflicts.append(item)

    async with pool.acquire() as conn, conn.transaction():
        rows = [
            (
                v.event.event_id,
                v.event.event_type,
                v.event.escalation_id,
                v.event.occurred_at,
                v.body,
                v.sha,
            )
            for v in valid.values()
        ]
        inserted = await repository.insert_events(conn, rows)
        existing = [eid for eid in valid if eid not in inserted]
        hashes = await repository.stored_hashes(conn, existing) if existing else {}
        conflicts = list(in_batch_conflicts)
        for eid, v in valid.items():
            if eid in inserted:
                outcome.stored += 1
                outcome.published.append(v)
            elif hashes.get(eid) == v.sha:
                # A redelivery, or a re-send of the same event: publish again (downstream is
                # idempotent), so a crash between commit and publish loses nothing.
                outcome.duplicates += 1
                outcome.published.append(v)
            else:
                conflicts.append(v)
        outcome.conflicts = len(conflicts)
        await repository.insert_conflicts(
            conn, [(c.event.event_id, c.body, c.sha) for c in conflicts]
        )
        await repository.insert_dead_letters(
            conn, [_dead_row(rec, reason, errs) for rec, reason, errs in dead]
        )
    outcome.dead_letters = len(dead)

    validated = topic_name(Topic.EVENTS_VALIDATED, settings.topic_prefix)
    dlq = topic_name(Topic.EVENTS_DEAD_LETTER, settings.topic_prefix)
    futures = [
        await producer.send(validated, v.encoded, key=v.event.escalation_id.encode())
        for v in outcome.published
    ]
    for rec, reason, _errors in dead:
        headers = [
            *(rec.headers or ()),
            ("pp-dead-letter-reason", reason.encode()),
            ("pp-source-topic", rec.topic.encode()),
            ("pp-source-offset", f"{rec.partition}:{rec.offset}".encode()),
        ]
        futures.append(await producer.send(dlq, rec.value, key=rec.key, headers=headers))
        DEAD_LETTERS.labels(reason).inc()
    if futures:
        await asyncio.gather(*futures)
    for v in outcome.published:
        EVENTS.labels(
            "kafka", v.event.event_type, "stored" if v.event.event_id in inserted else "duplicate"
        ).inc()
    for c in conflicts:
        EVENTS.labels("kafka", c.event.event_type, "conflict").inc()
    return outcome


def _is_json_error(exc: ValidationError) -> bool:
    return any(e.get("type") == "json_invalid" for e in exc.errors())


def _dead_row(
    rec: Record, reason: str, errors: list[dict[str, Any]]
) -> tuple[str, int, int, str, list[dict[str, Any]], bytes | None, bytes | None, list[list[str]]]:
    headers = [[k, v.decode("utf-8", "backslashreplace")] for k, v in (rec.headers or ())]
    return (
        rec.topic,
        rec.partition,
        rec.offset,
        reason,
        _jsonable(errors),
        rec.value,
        rec.key,
        headers,
    )


def _jsonable(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Keep error details JSON-safe; the raw bytes are stored beside them.
    safe: list[dict[str, Any]] = orjson.loads(orjson.dumps(errors, default=str))
    return safe
