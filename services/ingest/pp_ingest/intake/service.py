"""HTTP intake: validate, answer duplicates and conflicts from the event log, and hand the rest
to the raw topic, answering only once the broker acknowledged them.

The log lookup gives senders an immediate, exact answer for events already stored. Events
still in flight in Kafka (accepted but not yet stored) are not in the log yet: those this
process accepted lately are answered from its record of recent events (``recent``), and the
consumer deduplicates the rest and records their conflicts, so a re-send is always harmless.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from aiokafka import AIOKafkaProducer

from pp_ingest import publishing
from pp_ingest.errors import BrokerUnavailable, EventConflict
from pp_ingest.event_log.canonical import canonical
from pp_ingest.intake.bodies import split_json_array, split_ndjson, undecodable
from pp_ingest.intake.dedupe import HashLookups, record_conflicts, stored_hash, stored_hashes
from pp_ingest.intake.recent import RecentEvents
from pp_ingest.intake.schemas import BatchCounts, BatchItem, BatchResult, Receipt
from pp_ingest.intake.seal import sealer_of
from pp_ingest.intake.validation import (
    Rules,
    UndecodableJson,
    count_event_errors,
    load_json,
    validate_event,
)
from pp_ingest.metrics import BATCH_EVENTS, EVENTS, event_type_label
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import Event
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.problems import MAX_LISTED_ERRORS, InvalidInput, truncate_item_errors

log = logging.getLogger(__name__)


def conflict_error(event_id: str) -> dict[str, Any]:
    return {
        "pointer": "/event_id",
        "detail": f"event {event_id} was already accepted with a different body; this one is "
        "kept for inspection and not processed",
        "code": "conflict",
    }


async def submit(
    lookups: HashLookups,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
    recent: RecentEvents,
) -> Receipt:
    """Validate one event and hand it to the raw topic; answer ``duplicate`` at once when the
    log (or, failing it, this process's recent record) already holds the same event, and raise
    EventConflict when it holds another body."""
    try:
        data = load_json(body)
    except UndecodableJson as exc:
        EVENTS.labels("http", "unknown", "rejected").inc()
        raise undecodable(exc) from None
    event, errors = validate_event(data, now=datetime.now(UTC), rules=Rules.of(settings))
    if event is None:
        EVENTS.labels("http", event_type_label(data), "rejected").inc()
        raise InvalidInput(f"the event failed validation ({len(errors)} error(s))", errors=errors)
    encoded, sha = canonical(event)
    known = await stored_hash(lookups, settings, event.event_id)
    if known is None:  # not stored (or the log did not answer): accepted here moments ago?
        known = recent.hash_of(event.event_id)
    if known == sha:
        EVENTS.labels("http", event.event_type, "duplicate").inc()
        return Receipt(event_id=event.event_id, status="duplicate")
    if known is not None:
        await record_conflicts(lookups.pool, [(event.event_id, encoded, sha)])
        EVENTS.labels("http", event.event_type, "conflict").inc()
        log.info("event id conflict", extra={"event_id": event.event_id, "path": "http"})
        raise EventConflict(
            f"event {event.event_id} was already accepted with a different body",
            errors=[conflict_error(event.event_id)],
        )
    try:
        await publishing.publish_one(
            producer,
            topic_name(Topic.EVENTS_RAW, settings.topic_prefix),
            (
                event.escalation_id.encode(),
                encoded,
                (sealer_of(settings.intake_key).seal(encoded),),
            ),
            timeout=settings.produce_timeout_seconds,
        )
    except publishing.BrokerFailed as exc:
        EVENTS.labels("http", event.event_type, "unavailable").inc()
        raise BrokerUnavailable(
            "the event broker did not acknowledge the event in time; send it again (should it "
            "have reached the broker after all, it is still stored once)",
            reason=str(exc),
        ) from exc
    recent.remember(((event.event_id, sha),))
    EVENTS.labels("http", event.event_type, "accepted").inc()
    return Receipt(event_id=event.event_id)


async def submit_batch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
    ndjson: bool,
    recent: RecentEvents,
) -> BatchResult:
    """Validate each item on its own, answer duplicates and conflicts from one log lookup, and
    hand the rest to the raw topic; return once the broker acknowledged every accepted item."""
    payloads = split_ndjson(body, settings) if ndjson else split_json_array(body, settings)
    BATCH_EVENTS.observe(len(payloads))
    now = datetime.now(UTC)
    rules = Rules.of(settings)
    tally: Counter[tuple[str, str]] = Counter()
    items: list[BatchItem] = []
    valid: list[tuple[int, Event]] = []
    error_count = 0
    for index, data in enumerate(payloads):
        errors: list[dict[str, Any]] | None = None
        if error_count < MAX_LISTED_ERRORS:
            event, errors = validate_event(data, now=now, rules=rules)
            found = len(errors)
        else:  # the answer lists no more errors: count them
            event, found = count_event_errors(data, now=now, rules=rules)
        if event is None:
            event_id = data.get("event_id") if isinstance(data, dict) else None
            items.append(_rejected(index, event_id, "invalid", errors))
            tally[event_type_label(data), "rejected"] += 1
            error_count += found
            continue
        items.append({"index": index, "event_id": event.event_id, "status": "accepted"})
        valid.append((index, event))

    outcomes = await accept(
        pool, producer, settings, [v[1] for v in valid], recent=recent, tally=tally
    )
    for (index, event), outcome in zip(valid, outcomes, strict=True):
        if outcome == "duplicate":
            items[index]["status"] = "duplicate"
        elif outcome == "conflict":
            items[index] = _rejected(
                index, event.event_id, "conflict", [conflict_error(event.event_id)]
            )
            error_count += 1
    result: BatchResult = {"counts": counts_of(items), "items": items}
    # Every item keeps its index, status and reason; only the first errors are listed.
    if truncate_item_errors(items, error_count):
        result["errors_total"] = error_count
        result["errors_truncated"] = True
    return result


def counts_of(items: Sequence[Mapping[str, object]]) -> BatchCounts:
    """How many items an answer received, and how many of them have each status."""
    statuses = Counter(item["status"] for item in items)
    return {
        "received": len(items),
        "accepted": statuses["accepted"],
        "duplicate": statuses["duplicate"],
        "rejected": statuses["rejected"],
    }


Outcome = Literal["accepted", "duplicate", "conflict"]


async def accept(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    events: Sequence[Event],
    *,
    recent: RecentEvents,
    tally: Counter[tuple[str, str]] | None = None,
    path: str = "http",
) -> list[Outcome]:
    """The outcome of each valid event, in order: answer duplicates and conflicts from one log
    lookup (and this process's record of recent events for ids the log lacks), record the
    conflicts, and hand the rest to the raw topic; return once the broker
    acknowledged every accepted event, else raise BrokerUnavailable. ``tally`` holds outcomes
    counted so far (rejected items, say), so the metrics are counted once, at the end."""
    tally = Counter() if tally is None else tally
    sealer = sealer_of(settings.intake_key)
    encoded_events = [(event, *canonical(event)) for event in events]
    # The first body an id was stored or seen with binds it: the same body again is a
    # duplicate, another body a conflict.
    bound = await stored_hashes(pool, settings, list({e.event_id for e in events}))
    for event in events:
        if event.event_id not in bound and (sha := recent.hash_of(event.event_id)) is not None:
            bound[event.event_id] = sha
    outcomes: list[Outcome] = []
    accepted: list[publishing.Message] = []
    accepted_hashes: list[tuple[str, bytes]] = []
    conflicts: list[tuple[str, bytes, bytes]] = []
    for event, encoded, sha in encoded_events:
        first = bound.get(event.event_id)
        if first is None:
            bound[event.event_id] = sha
            accepted.append((event.escalation_id.encode(), encoded, (sealer.seal(encoded),)))
            accepted_hashes.append((event.event_id, sha))
            outcomes.append("accepted")
        elif first == sha:
            outcomes.append("duplicate")
        else:
            conflicts.append((event.event_id, encoded, sha))
            outcomes.append("conflict")
        tally[event.event_type, outcomes[-1]] += 1
    if conflicts:
        await record_conflicts(pool, conflicts)
        log.info("event id conflicts", extra={"conflicts": len(conflicts), "path": path})
    try:
        await publishing.to_raw_topic(
            producer,
            settings,
            accepted,
            unavailable="the event broker did not acknowledge every event of the request; send "
            "the whole batch again: events it did take are recognised by their event_id",
        )
    except BrokerUnavailable:
        _count(tally, path, accepted_as="unavailable")
        raise
    recent.remember(accepted_hashes)
    _count(tally, path, accepted_as="accepted")
    return outcomes


def _count(tally: Counter[tuple[str, str]], path: str, *, accepted_as: str) -> None:
    """Count the outcomes of a request at once; ``accepted`` ones as ``accepted_as``."""
    for (event_type, outcome), n in tally.items():
        EVENTS.labels(path, event_type, accepted_as if outcome == "accepted" else outcome).inc(n)


def _rejected(
    index: int,
    event_id: Any,
    reason: Literal["invalid", "conflict"],
    errors: list[dict[str, Any]] | None,
) -> BatchItem:
    """A rejected item; without ``errors`` when they are not listed."""
    item: BatchItem = (
        {"index": index, "event_id": event_id, "status": "rejected", "reason": reason}
        if isinstance(event_id, str)
        else {"index": index, "status": "rejected", "reason": reason}
    )
    if errors is not None:
        item["errors"] = errors
    return item
