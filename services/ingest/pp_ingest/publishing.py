"""Producing many messages at once: concurrent callers' messages share record batches, and
each caller waits for the acks of the batches that hold its messages.

Messages go into one record batch per partition instead of through ``producer.send`` one by
one, which halves the CPU time per message. Partitions are chosen with the producer's own
default partitioner (murmur2 of the key, as the Java client does), so a message lands on the
same partition whichever way it was produced and one escalation's events stay in order.

aiokafka sends one batch per partition at a time: ``send_batch`` waits while another batch
of the partition is queued, and its wait gives up early (its timeout shrinks by the whole
time waited so far on every turn, so a few turns use it up), which failed concurrent batch
requests with 503 under load. So each partition has one sender here: it hands aiokafka one
batch at a time, and messages that arrive meanwhile fill the next batch, which grows with
the load instead of queueing one small batch per request.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner

from pp_ingest.errors import BrokerUnavailable
from pp_ingest.metrics import PRODUCE_SECONDS
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.failures import TransientFailure

Headers: TypeAlias = Sequence[tuple[str, bytes | None]]
Message: TypeAlias = tuple[bytes | None, bytes | None, Headers]
"""(key, value, headers) of one message."""

_PARTITIONER = DefaultPartitioner()


class BrokerFailed(TransientFailure):
    """The broker did not acknowledge every message in time; some may have been written."""


class _Batch:
    """A record batch being filled, and the future of its acknowledgement."""

    def __init__(self, producer: AIOKafkaProducer, deadline: float) -> None:
        self.builder: Any = producer.create_batch()
        self.deadline = deadline
        """When its callers stop waiting (monotonic): until then the sender keeps offering it
        to aiokafka; after it, the batch fails instead of waiting for an absent broker."""
        self.acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Nobody may be left waiting on it when it fails (a caller timed out, say): retrieve
        # the exception so asyncio does not report it as never retrieved.
        self.acked.add_done_callback(_retrieve)

    def append(self, key: bytes | None, value: bytes | None, headers: Headers) -> bool:
        # The record encoder takes headers as a list only.
        return (
            self.builder.append(key=key, value=value, timestamp=None, headers=list(headers))
            is not None
        )


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class _Partition:
    """The batches of one partition that wait for its sender; the last one is still open."""

    def __init__(self) -> None:
        self.waiting: deque[_Batch] = deque()
        self.sender: asyncio.Task[None] | None = None


class Coalescer:
    """The batches of one producer, by partition, and their senders."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.partitions: dict[TopicPartition, _Partition] = {}

    async def send_all(
        self, topic: str, messages: Iterable[Message], *, timeout: float
    ) -> list[asyncio.Future[None]]:
        """Add every message to its partition's open batch; return the acks to wait for
        (``timeout`` seconds at most)."""
        deadline = time.monotonic() + timeout
        ids = sorted(await self.producer.partitions_for(topic))
        by_key: dict[bytes, int] = {}
        last: dict[TopicPartition, _Batch] = {}
        touched: set[_Batch] = set()
        for key, value, headers in messages:
            if key is None:
                number = _PARTITIONER(None, ids, ids)
            else:
                number = by_key.get(key, -1)
                if number < 0:
                    number = by_key[key] = _PARTITIONER(key, ids, ids)
            tp = TopicPartition(topic, number)
            batch = last.get(tp)
            if batch is None:
                partition = self.partitions.get(tp)
                if partition is None:
                    partition = self.partitions[tp] = _Partition()
                if not partition.waiting:
                    partition.waiting.append(_Batch(self.producer, deadline))
                batch = last[tp] = partition.waiting[-1]
                batch.deadline = max(batch.deadline, deadline)
            if not batch.append(key, value, headers):
                # Full: it waits as it is; an empty batch always takes its first record.
                batch = last[tp] = _Batch(self.producer, deadline)
                self.partitions[tp].waiting.append(batch)
                batch.append(key, value, headers)
            touched.add(batch)
        for tp in last:
            partition = self.partitions[tp]
            if partition.sender is None or partition.sender.done():
                partition.sender = asyncio.create_task(self._send(tp, partition))
        return [batch.acked for batch in touched]

    async def _send(self, tp: TopicPartition, partition: _Partition) -> None:
        # Hands aiokafka one batch at a time, in order. send_batch returns once the batch is
        # queued; it waits only while aiokafka still holds an earlier batch of the partition.
        while partition.waiting:
            batch = partition.waiting.popleft()
            while True:
                if time.monotonic() >= batch.deadline:
                    # Every caller has stopped waiting and answered 503 (a broker away, say):
                    # they send their events again, so this batch is not offered any more.
                    batch.acked.set_exception(KafkaTimeoutError())
                    break
                try:
                    delivered = await self.producer.send_batch(
                        batch.builder, tp.topic, partition=tp.partition
                    )
                except KafkaTimeoutError:
                    # Not queued: aiokafka's wait gave up early. Offer it again while its
                    # callers still wait for it.
                    continue
                except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                    batch.acked.set_exception(exc)
                else:
                    delivered.add_done_callback(_settle(batch.acked))
                break


def _settle(acked: asyncio.Future[None]) -> Any:
    def settle(delivered: asyncio.Future[Any]) -> None:
        if acked.done():
            return
        if delivered.cancelled():
            acked.set_exception(KafkaError("the batch was cancelled before delivery"))
        elif (exc := delivered.exception()) is not None:
            acked.set_exception(exc)
        else:
            acked.set_result(None)

    return settle


_COALESCERS: weakref.WeakKeyDictionary[AIOKafkaProducer, Coalescer] = weakref.WeakKeyDictionary()


def coalescer(producer: AIOKafkaProducer) -> Coalescer:
    """The one coalescer of ``producer``: concurrent callers share its batches."""
    found = _COALESCERS.get(producer)
    if found is None:
        found = _COALESCERS[producer] = Coalescer(producer)
    return found


async def send_all(
    producer: AIOKafkaProducer, topic: str, messages: Iterable[Message], *, timeout: float
) -> list[asyncio.Future[None]]:
    """Queue every message; return the futures of the batches' acknowledgements."""
    return await coalescer(producer).send_all(topic, messages, timeout=timeout)


async def publish_one(
    producer: AIOKafkaProducer, topic: str, message: Message, *, timeout: float
) -> None:
    """Write one message and wait for its ack; raise BrokerFailed otherwise."""
    # A lone message goes through send(), which lets concurrent requests share a batch.
    key, value, headers = message
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await producer.send_and_wait(topic, value, key=key, headers=list(headers) or None)
    except (TimeoutError, KafkaError) as exc:
        raise BrokerFailed(type(exc).__name__) from exc
    PRODUCE_SECONDS.observe(time.perf_counter() - started)


async def publish(
    producer: AIOKafkaProducer, outgoing: Mapping[str, Sequence[Message]], *, timeout: float
) -> None:
    """Write every message (by topic) and wait for all acks; raise BrokerFailed otherwise."""
    if not any(outgoing.values()):
        return
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            futures = [
                future
                for topic, messages in outgoing.items()
                if messages
                for future in await send_all(producer, topic, messages, timeout=timeout)
            ]
            # Other callers wait on the same batches: a timeout here must not cancel them.
            results = await asyncio.gather(
                *(asyncio.shield(f) for f in futures), return_exceptions=True
            )
    except (TimeoutError, KafkaError) as exc:
        raise BrokerFailed(type(exc).__name__) from exc
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise BrokerFailed(type(failures[0]).__name__) from failures[0]
    PRODUCE_SECONDS.observe(time.perf_counter() - started)


async def to_raw_topic(
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    messages: Sequence[Message],
    *,
    unavailable: str,
) -> None:
    """Write ``messages`` to the raw topic and wait for every ack (at most
    ``PP_BATCH_PRODUCE_TIMEOUT_SECONDS``); else BrokerUnavailable, whose detail for the sender
    is ``unavailable``."""
    try:
        await publish(
            producer,
            {topic_name(Topic.EVENTS_RAW, settings.topic_prefix): messages},
            timeout=settings.batch_produce_timeout_seconds,
        )
    except BrokerFailed as exc:
        raise BrokerUnavailable(unavailable, reason=str(exc)) from exc
