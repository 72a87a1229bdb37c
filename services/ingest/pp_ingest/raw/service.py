"""The raw-topic consumer's logic: validate, store each event once, publish, dead-letter
the rest."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from pp_ingest import publishing
from pp_ingest.dead_letters.service import STORE
from pp_ingest.event_log import repository
from pp_ingest.event_log.canonical import body_hash, canonical
from pp_ingest.intake.seal import sealer_of
from pp_ingest.intake.validation import Rules, UndecodableJson, load_json, validate_event
from pp_ingest.metrics import DEAD_LETTERS, EVENTS, RAW_CHECKS
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import Event
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.dead_letters.store import dead_letter_headers, row_of
from pp_shared.kafka import Record

log = logging.getLogger(__name__)


@dataclass
class _Valid:
    record: Record
    event_id: str
    event_type: str
    escalation_id: str
    occurred_at: datetime
    encoded: bytes
    sha: bytes

    @classmethod
    def of(cls, record: Record, event: Event) -> _Valid:
        encoded, sha = canonical(event)
        return cls(
            record,
            event.event_id,
            event.event_type,
            event.escalation_id,
            event.occurred_at,
            encoded,
            sha,
        )

    @classmethod
    def sealed(cls, record: Record, value: bytes) -> _Valid:
        """An event intake validated and sealed: its value is already the canonical body."""
        body = orjson.loads(value)
        return cls(
            record,
            body["event_id"],
            body["event_type"],
            body["escalation_id"],
            datetime.fromisoformat(body["occurred_at"]),
            value,
            body_hash(value),
        )


Dead = tuple[Record, str, list[dict[str, Any]]]
"""A record set aside, with its reason and errors."""


@dataclass
class _Judged:
    """A consumed batch sorted out: the first valid event of each id, later ones with another
    body (conflicts within the batch), and the records to dead-letter."""

    valid: dict[str, _Valid] = field(default_factory=dict)
    in_batch_conflicts: list[_Valid] = field(default_factory=list)
    dead: list[Dead] = field(default_factory=list)


async def process_raw_batch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    records: Sequence[Record],
) -> None:
    """Validate a consumed batch, store it in one transaction, then publish; the caller
    commits offsets afterwards. Safe to call again with the same records."""
    judged = _judge(records, settings)
    async with pool.acquire() as conn, conn.transaction():
        inserted, published, conflicts = await _store(conn, judged)
    dead = judged.dead
    await publishing.publish(
        producer,
        {
            topic_name(Topic.EVENTS_VALIDATED, settings.topic_prefix): [
                (v.escalation_id.encode(), v.encoded, ()) for v in published
            ],
            topic_name(Topic.EVENTS_DEAD_LETTER, settings.topic_prefix): [
                (rec.key, rec.value, dead_letter_headers(rec, reason))
                for rec, reason, _errors in dead
            ],
        },
        timeout=settings.batch_produce_timeout_seconds,
    )
    _count(len(records), published, inserted, conflicts, dead)


def _judge(records: Sequence[Record], settings: IngestSettings) -> _Judged:
    """Trust what intake sealed, validate the rest, and set aside what fails."""
    judged = _Judged()
    valid = judged.valid
    now = datetime.now(UTC)
    rules = Rules.of(settings)
    sealer = sealer_of(settings.intake_key)
    sealed = 0
    for rec in records:
        if sealer.vouches_for(rec.value, rec.headers):
            assert rec.value is not None
            item = _Valid.sealed(rec, rec.value)
            sealed += 1
        else:
            try:
                data = load_json(rec.value or b"")
            except UndecodableJson as exc:
                judged.dead.append((rec, "undecodable", [{"pointer": "", "detail": str(exc)}]))
                continue
            event, errors = validate_event(data, now=now, rules=rules)
            if event is None:
                judged.dead.append((rec, "invalid", errors))
                continue
            item = _Valid.of(rec, event)
        seen = valid.get(item.event_id)
        if seen is None:
            valid[item.event_id] = item
        elif seen.sha != item.sha:
            judged.in_batch_conflicts.append(item)
    RAW_CHECKS.labels("sealed").inc(sealed)
    RAW_CHECKS.labels("validated").inc(len(records) - sealed)
    return judged


async def _store(
    conn: asyncpg.Connection, judged: _Judged
) -> tuple[set[str], list[_Valid], list[_Valid]]:
    """Insert the events new to the log, keep the conflicts and the dead letters; return the
    ids inserted, the events to publish and the conflicts."""
    valid = judged.valid
    rows = [
        (v.event_id, v.event_type, v.escalation_id, v.occurred_at, v.encoded.decode(), v.sha)
        for v in valid.values()
    ]
    inserted = await repository.insert_events(conn, rows)
    existing = [eid for eid in valid if eid not in inserted]
    hashes = await repository.stored_hashes(conn, existing) if existing else {}
    published: list[_Valid] = []
    conflicts = list(judged.in_batch_conflicts)
    for eid, v in valid.items():
        if eid in inserted:
            published.append(v)
        elif hashes.get(eid) == v.sha:
            # A redelivery, or a re-send of the same event: publish again (downstream is
            # idempotent), so a crash between commit and publish loses nothing.
            published.append(v)
        else:
            conflicts.append(v)
    await repository.insert_conflicts(conn, [(c.event_id, c.encoded, c.sha) for c in conflicts])
    await STORE.insert(conn, [row_of(rec, reason, errs) for rec, reason, errs in judged.dead])
    return inserted, published, conflicts


def _count(
    received: int,
    published: list[_Valid],
    inserted: set[str],
    conflicts: list[_Valid],
    dead: list[Dead],
) -> None:
    tally: Counter[tuple[str, str]] = Counter()
    for v in published:
        tally[v.event_type, "stored" if v.event_id in inserted else "duplicate"] += 1
    for c in conflicts:
        tally[c.event_type, "conflict"] += 1
    for (event_type, result), n in tally.items():
        EVENTS.labels("kafka", event_type, result).inc(n)
    for reason, n in Counter(reason for _rec, reason, _errors in dead).items():
        DEAD_LETTERS.labels(reason).inc(n)
    if conflicts or dead:
        log.info(
            "raw batch had rejects",
            extra={"records": received, "conflicts": len(conflicts), "dead_letters": len(dead)},
        )
