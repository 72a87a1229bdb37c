"""Kafka helpers: producers that wait for acks=all, consumers that commit after the database,
and a batch loop that retries a batch its dependencies failed and sets aside the records that
fail on their own data, so that one bad record never stops a partition."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from prometheus_client import Counter, Gauge, Histogram
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.failures import PoisonRecord, describe, is_resource_exhaustion, is_transient
from pp_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

BATCH_RECORDS = Counter(
    "pp_consumer_records_total", "Records consumed and committed.", ["service", "topic"]
)
BATCH_SECONDS = Histogram(
    "pp_consumer_batch_seconds",
    "Time to process one consumed batch, database commit included.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_RETRIES = Counter(
    "pp_consumer_batch_retries_total", "Batches retried after a failure.", ["service"]
)
POISON_SPLITS = Counter(
    "pp_consumer_poison_splits_total",
    "Batches split in two because they failed on their data (to find the records that fail).",
    ["service"],
)
POISON_RECORDS = Counter(
    "pp_consumer_poison_records_total",
    "Records set aside as dead letters because they failed on their own, by reason.",
    ["service", "reason"],
)
CONSUMER_LAG = Gauge(
    "pp_consumer_lag_records",
    "Records behind the partition's high watermark.",
    ["service", "topic", "partition"],
)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
BatchHandler = Callable[[Sequence[Record]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Poison:
    """A record set aside, with why: ``reason`` a short code, ``errors`` the details."""

    record: Record
    reason: str
    errors: list[dict[str, object]]


DeadLetterSink = Callable[[Sequence[Poison]], Awaitable[None]]
"""Stores records set aside (a table and a dead-letter topic), so they can be listed and
replayed; must be idempotent (a crash before the offsets move writes them again)."""


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def make_producer(settings: ServiceSettings, **overrides: Any) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the write."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotent_producer,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 10_000,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    settings: ServiceSettings, *, group: str, topics: Sequence[Topic], **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer-group member with manual commits: offsets move only after the database commit."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "group_id": f"{settings.topic_prefix}{group}",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": max(100, settings.kafka_session_timeout_ms // 5),
        "max_poll_records": 2000,
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
    }
    options.update(overrides)
    consumer = AIOKafkaConsumer(*(topic_name(t, settings.topic_prefix) for t in topics), **options)
    return consumer


async def ensure_topics(settings: ServiceSettings, topics: Sequence[Topic]) -> None:
    """Create the topics if the broker lacks them (brokers that auto-create are fine too)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(topic_name(t, settings.topic_prefix), settings.kafka_partitions, 1)
            for t in topics
            if topic_name(t, settings.topic_prefix) not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                log.info("topics already created by another replica")
    finally:
        await admin.close()


class StuckCommit(RuntimeError):
    """Offsets could not be committed in time; the consumer must start again."""


class BrokerForgotOffsets(RuntimeError):
    """The broker reports a committed offset below one this process committed: it lost its
    state (an in-memory broker that restarted), and the positions held here are stale."""


class BatchLoop:
    """Consume batches forever: handle, then commit offsets.

    A batch that fails because a dependency failed (the database or broker unreachable, a
    serialization failure: ``pp_shared.failures.is_transient``) is retried with backoff, never
    skipped, and ``healthy`` is false until it succeeds. A batch that fails for any other
    reason may fail on its own data: it is split in two and each half handled, down to the
    single records that fail; such a record is tried once more and, failing again, handed to
    ``dead_letter`` with the reason, and the rest of the partition goes on. Without a
    ``dead_letter`` sink every failure is retried."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: BatchHandler,
        *,
        service: str,
        max_records: int = 2000,
        poll_timeout_ms: int = 200,
        commit_timeout: float = 15.0,
        dead_letter: DeadLetterSink | None = None,
    ) -> None:
        self.consumer = consumer
        self.handler = handler
        self.dead_letter = dead_letter
        self.service = service
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.commit_timeout = commit_timeout
        self.healthy = True
        self.last_error: str | None = None
        self._committed: dict[TopicPartition, int] = {}

    async def run(self) -> None:
        while True:
            batches = await self.consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_records
            )
            records = [r for part in batches.values() for r in part]
            if records:
                await self._handle(records)
                await self._commit({tp: part[-1].offset + 1 for tp, part in batches.items()})
                for tp, part in batches.items():
                    BATCH_RECORDS.labels(self.service, tp.topic).inc(len(part))
            await self._update_lag()

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        # Partitions a rebalance took away while the batch was handled are replayed by
        # their new owner; committing them here would be refused.
        owned = self.consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}
        if not offsets:
            return
        await self._check_offsets_kept(offsets)
        try:
            async with asyncio.timeout(self.commit_timeout):
                await self.consumer.commit(offsets)
        except TimeoutError as exc:
            # aiokafka retries a commit forever when the broker no longer knows the topic
            # (an in-memory broker that restarted): the loop would stall while reporting
            # healthy. Ending it ends the process; its supervisor starts it again, the
            # topics are created again and the batch is replayed (idempotently) from the
            # last committed offsets.
            raise StuckCommit(f"offsets not committed within {self.commit_timeout} s") from exc
        except CommitFailedError:
            # A rebalance took the partitions away; the new owner replays them and
            # idempotent handlers make the replay harmless.
            log.warning("offset commit failed after rebalance; batch will be replayed")
            return
        self._committed.update(offsets)

    async def _check_offsets_kept(self, offsets: dict[TopicPartition, int]) -> None:
        """Committed offsets only move forward (a new owner starts where the last one
        committed). A broker that reports less than this process committed has lost its
        state: the records below the positions held here were never read, so committing
        now would skip them for good. End the process instead; started again, it reads the
        partitions from their beginning on the broker as it is now, and idempotent
        handlers make the replay harmless."""
        known = [tp for tp in offsets if tp in self._committed]
        if not known:
            return
        try:
            async with asyncio.timeout(self.commit_timeout):
                on_broker = await asyncio.gather(*(self.consumer.committed(tp) for tp in known))
        except TimeoutError as exc:
            raise StuckCommit(
                f"committed offsets not readable within {self.commit_timeout} s"
            ) from exc
        for tp, offset in zip(known, on_broker, strict=True):
            if offset is None or offset < self._committed[tp]:
                raise BrokerForgotOffsets(
                    f"{tp.topic}[{tp.partition}]: the broker has offset {offset}, "
                    f"this consumer committed {self._committed[tp]}"
                )

    async def _handle(self, records: Sequence[Record], *, confirming: bool = False) -> None:
        """Handle ``records``, setting aside those that fail on their own data."""
        try:
            await self._handle_with_retry(records, single=len(records) == 1)
            return
        except Exception as exc:
            if self.dead_letter is None:
                raise
            failure = exc
        if len(records) > 1:
            POISON_SPLITS.labels(self.service).inc()
            log.warning(
                "batch failed on its data; splitting it",
                extra={"records": len(records), "error": type(failure).__name__},
            )
            middle = len(records) // 2
            await self._handle(records[:middle])
            await self._handle(records[middle:])
        elif not confirming:
            # "Fails again the same way": a failure that does not repeat was not the data's.
            await self._handle(records, confirming=True)
        else:
            await self._set_aside(records[0], failure)

    async def _set_aside(self, record: Record, failure: Exception) -> None:
        assert self.dead_letter is not None
        if isinstance(failure, PoisonRecord):
            poison = Poison(record, failure.reason, failure.errors)
        else:
            poison = Poison(
                record, "processing_failed", [{"pointer": "", "detail": describe(failure)}]
            )
        sink = self.dead_letter
        await self._with_retry(lambda: sink([poison]), records=1)
        POISON_RECORDS.labels(self.service, poison.reason).inc()
        log.error(
            "record set aside as a dead letter",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": poison.reason,
                "error": type(failure).__name__,
            },
        )

    async def _handle_with_retry(self, records: Sequence[Record], *, single: bool) -> None:
        """Retry transient failures (and, for a single record, resource exhaustion) with
        backoff; raise any other failure."""

        async def attempt() -> None:
            with BATCH_SECONDS.labels(self.service).time():
                await self.handler(records)

        await self._with_retry(attempt, records=len(records), single=single)

    async def _with_retry(
        self, work: Callable[[], Awaitable[None]], *, records: int, single: bool = True
    ) -> None:
        def before_sleep(state: RetryCallState) -> None:
            self.healthy = False
            exc = state.outcome.exception() if state.outcome else None
            self.last_error = type(exc).__name__ if exc else "unknown"
            BATCH_RETRIES.labels(self.service).inc()
            log.warning(
                "batch failed; retrying",
                extra={
                    "attempt": state.attempt_number,
                    "error": self.last_error,
                    "records": records,
                },
            )

        def retryable(exc: BaseException) -> bool:
            if self.dead_letter is None:
                return True
            return is_transient(exc) or (single and is_resource_exhaustion(exc))

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(retryable),
            wait=wait_exponential_jitter(multiplier=0.1, max=5.0, jitter=0.1),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                await work()
        self.healthy = True
        self.last_error = None

    async def _update_lag(self) -> None:
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            position = await self.consumer.position(tp)
            CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(
                max(0, highwater - position)
            )


async def broker_reachable(producer: AIOKafkaProducer, timeout: float = 2.0) -> bool:
    """True when the broker answers a metadata request within ``timeout`` seconds."""
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout)
    except (TimeoutError, KafkaError, OSError):
        return False
    return True
