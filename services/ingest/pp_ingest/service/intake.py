"""HTTP intake: validate, answer duplicates and conflicts from the event log, and hand the rest
to the raw topic, answering only once the broker acknowledged them.

The log lookup gives senders an immediate, exact answer for events already stored. Events
still in flight in Kafka (accepted but not yet stored) are not in the log yet; the consumer
deduplicates those and records their conflicts, so a re-send is always harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer

from pp_ingest import publishing, repository
from pp_ingest.errors import EventConflict
from pp_ingest.metrics import BATCH_EVENTS, DEDUPE_LOOKUP_FAILURES, EVENTS, event_type_label
from pp_ingest.schemas import BatchItem, BatchResult, Receipt
from pp_ingest.service.seal import sealer_of
from pp_ingest.service.validation import (
    Rules,
    UndecodableJson,
    canonical,
    count_event_errors,
    load_json,
    validate_event,
)
from pp_ingest.settings import IngestSettings
from pp_shared.events import Event
from pp_shared.problems import (
    MAX_LISTED_ERRORS,
    InvalidInput,
    PayloadTooLarge,
    Unavailable,
    truncate_item_errors,
)
from pp_shared.topics import Topic, topic_name

log = logging.getLogger(__name__)

T = TypeVar("T")
_DB_ERRORS = (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def conflict_error(event_id: str) -> dict[str, Any]:
    return {
        "pointer": "/event_id",
        "detail": f"event {event_id} was already accepted with a different body; this one is "
        "kept for inspection and not processed",
        "code": "conflict",
    }


class HashLookups:
    """Duplicate lookups of concurrent single-event requests, coalesced: while one query is
    out, the ids asked for meanwhile wait and go together in the next. An idle service
    queries at once; a busy one makes one round trip for many requests instead of one each.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._waiting: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def one(self, event_id: str) -> bytes | None:
        """The stored hash of ``event_id``, or None when the log does not hold it."""
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((event_id, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # Ids queued while a query is out go in the next; the task ends (and the next
        # request starts another) once nobody is waiting.
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                hashes = await repository.stored_hashes(self.pool, list({e for e, _ in batch}))
            except Exception as exc:  # noqa: BLE001 - handed to every waiter, which decides
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for event_id, future in batch:
                if not future.done():  # a waiter that timed out has gone
                    future.set_result(hashes.get(event_id))


async def submit(
    lookups: HashLookups, producer: AIOKafkaProducer, settings: IngestSettings, *, body: bytes
) -> Receipt:
    """Validate one event and hand it to the raw topic; answer ``duplicate`` at once when the
    log already holds the same event, and raise EventConflict when it holds another body."""
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
    known = await _stored_hash(lookups, settings, event.event_id)
    if known == sha:
        EVENTS.labels("http", event.event_type, "duplicate").inc()
        return Receipt(event_id=event.event_id, status="duplicate")
    if known is not None:
        await _record_conflicts(lookups.pool, settings, [(event.event_id, encoded, sha)])
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
        raise Unavailable(
            "the event broker did not acknowledge the event in time; send it again (should it "
            "have reached the broker after all, it is still stored once)",
            headers={"Retry-After": str(settings.retry_after_seconds)},
            extra={"reason": str(exc)},
        ) from exc
    EVENTS.labels("http", event.event_type, "accepted").inc()
    return Receipt(event_id=event.event_id)


async def submit_batch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
    ndjson: bool,
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

    outcomes = await accept(pool, producer, settings, [v[1] for v in valid], tally=tally)
    for (index, event), outcome in zip(valid, outcomes, strict=True):
        if outcome == "duplicate":
            items[index]["status"] = "duplicate"
        elif outcome == "conflict":
            items[index] = _rejected(
                index, event.event_id, "conflict", [conflict_error(event.event_id)]
            )
            error_count += 1
    statuses = Counter(item["status"] for item in items)
    result: BatchResult = {
        "counts": {
            "received": len(items),
            "accepted": statuses["accepted"],
            "duplicate": statuses["duplicate"],
            "rejected": statuses["rejected"],
        },
        "items": items,
    }
    # Every item keeps its index, status and reason; only the first errors are listed.
    if truncate_item_errors(items, error_count):
        result["errors_total"] = error_count
        result["errors_truncated"] = True
    return result


Outcome = Literal["accepted", "duplicate", "conflict"]


async def accept(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    events: Sequence[Event],
    *,
    tally: Counter[tuple[str, str]] | None = None,
    path: str = "http",
) -> list[Outcome]:
    """The outcome of each valid event, in order: answer duplicates and conflicts from one log
    lookup, record the conflicts, and hand the rest to the raw topic; return once the broker
    acknowledged every accepted event, else raise Unavailable. ``tally`` holds outcomes
    counted so far (rejected items, say), so the metrics are counted once, at the end."""
    tally = Counter() if tally is None else tally
    sealer = sealer_of(settings.intake_key)
    encoded_events = [(event, *canonical(event)) for event in events]
    # The first body an id was stored or seen with binds it: the same body again is a
    # duplicate, another body a conflict.
    bound = await _stored_hashes(pool, settings, list({e.event_id for e in events}))
    outcomes: list[Outcome] = []
    accepted: list[publishing.Message] = []
    conflicts: list[tuple[str, bytes, bytes]] = []
    for event, encoded, sha in encoded_events:
        first = bound.get(event.event_id)
        if first is None:
            bound[event.event_id] = sha
            accepted.append((event.escalation_id.encode(), encoded, (sealer.seal(encoded),)))
            outcomes.append("accepted")
        elif first == sha:
            outcomes.append("duplicate")
        else:
            conflicts.append((event.event_id, encoded, sha))
            outcomes.append("conflict")
        tally[event.event_type, outcomes[-1]] += 1
    if conflicts:
        await _record_conflicts(pool, settings, conflicts)
        log.info("event id conflicts", extra={"conflicts": len(conflicts), "path": path})
    try:
        await publishing.publish(
            producer,
            {topic_name(Topic.EVENTS_RAW, settings.topic_prefix): accepted},
            timeout=settings.batch_produce_timeout_seconds,
        )
    except publishing.BrokerFailed as exc:
        for (event_type, outcome), n in tally.items():
            outcome = "unavailable" if outcome == "accepted" else outcome
            EVENTS.labels(path, event_type, outcome).inc(n)
        raise Unavailable(
            "the event broker did not acknowledge every event of the request; send the whole "
            "batch again: events it did take are recognised by their event_id",
            headers={"Retry-After": str(settings.retry_after_seconds)},
            extra={"reason": str(exc)},
        ) from exc
    for (event_type, outcome), n in tally.items():
        EVENTS.labels(path, event_type, outcome).inc(n)
    return outcomes


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


def split_json_array(body: bytes, settings: IngestSettings) -> list[Any]:
    """The items of a JSON array body; InvalidInput for anything else."""
    try:
        data = load_json(body)
    except UndecodableJson as exc:
        raise undecodable(exc) from None
    if not isinstance(data, list):
        raise InvalidInput(
            "the body must be a JSON array of events, or NDJSON sent as application/x-ndjson",
            errors=[
                {"pointer": "", "detail": "expected a JSON array", "found": type(data).__name__}
            ],
        )
    _check_count(len(data), settings)
    return data


def split_ndjson(body: bytes, settings: IngestSettings) -> list[Any]:
    """One item per non-blank line; InvalidInput naming every line that is not a JSON value."""
    lines = [(n, line) for n, line in enumerate(body.split(b"\n"), 1) if line.strip()]
    _check_count(len(lines), settings)
    items: list[Any] = []
    errors: list[dict[str, Any]] = []
    failed = 0
    for index, (number, line) in enumerate(lines):
        try:
            items.append(load_json(line))
        except UndecodableJson as exc:
            failed += 1
            # Lines past the listed ones are only counted.
            if len(errors) < MAX_LISTED_ERRORS:
                errors.append({"pointer": f"/{index}", "detail": f"line {number}: {exc}"})
    if failed:
        raise InvalidInput(
            f"{failed} line(s) of the NDJSON body are not JSON values; nothing was accepted",
            errors=errors,
            errors_total=failed,
        )
    return items


def undecodable(exc: UndecodableJson | str) -> InvalidInput:
    """The 422 for a body that is not UTF-8 JSON (or, given a reason, not UTF-8 text)."""
    return InvalidInput(f"the body is {exc}", errors=[{"pointer": "", "detail": str(exc)}])


def _check_count(count: int, settings: IngestSettings) -> None:
    if count > settings.batch_max_events:
        raise PayloadTooLarge(
            f"a batch may hold at most {settings.batch_max_events} events; this one has {count}"
        )


async def _stored_hashes(
    pool: asyncpg.Pool, settings: IngestSettings, event_ids: Sequence[str]
) -> dict[str, bytes]:
    """Hashes of the ids already in the log, or none when the database does not answer in
    time."""
    if not event_ids:
        return {}
    found = await _dedupe_lookup(
        settings, repository.stored_hashes(pool, event_ids), events=len(event_ids)
    )
    return found or {}


async def _stored_hash(
    lookups: HashLookups, settings: IngestSettings, event_id: str
) -> bytes | None:
    """As :func:`_stored_hashes`, for one id through the coalesced lookups."""
    return await _dedupe_lookup(settings, lookups.one(event_id), events=1)


async def _dedupe_lookup(
    settings: IngestSettings, lookup: Coroutine[Any, Any, T], *, events: int
) -> T | None:
    """The lookup's answer, or None when the database fails or does not answer in time:
    intake stays open, and the consumer still stores each event once."""
    try:
        async with asyncio.timeout(settings.dedupe_timeout_seconds):
            return await lookup
    except _DB_ERRORS as exc:
        DEDUPE_LOOKUP_FAILURES.inc()
        log.warning(
            "duplicate lookup failed; accepting without it",
            extra={"error": type(exc).__name__, "events": events},
        )
        return None


async def _record_conflicts(
    pool: asyncpg.Pool,
    settings: IngestSettings,
    conflicts: Sequence[tuple[str, bytes, bytes]],
) -> None:
    try:
        await repository.insert_conflicts(pool, conflicts)
    except _DB_ERRORS as exc:
        raise Unavailable(
            "a conflicting event could not be recorded; nothing was accepted",
            headers={"Retry-After": str(settings.retry_after_seconds)},
            extra={"reason": type(exc).__name__},
        ) from exc
