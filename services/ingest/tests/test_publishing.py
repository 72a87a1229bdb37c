"""Publishing against the real broker: concurrent callers share record batches, every message
is written once, and one key's messages keep their order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner

from pp_ingest import publishing
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.kafka import ensure_topics, make_consumer, make_producer

CALLERS = 8
PER_CALLER = 3_000
KEYS = 50


def messages(caller: int) -> list[publishing.Message]:
    """Caller ``caller``'s messages: values ``caller:n`` over KEYS keys, 400-byte padded."""
    return [
        (
            f"esc-{n % KEYS}".encode(),
            f"{caller}:{n}:".encode() + b"x" * 400,
            (("pp-test", str(caller).encode()),),
        )
        for n in range(PER_CALLER)
    ]


async def read_all(consumer: AIOKafkaConsumer, expected: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of ``expected`` records, or fail after 60 s."""
    got: list[tuple[int, bytes, bytes]] = []
    async with asyncio.timeout(60):
        while len(got) < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=5_000)
            for tp, records in batches.items():
                got.extend((tp.partition, r.key or b"", r.value or b"") for r in records)
    return got


@asynccontextmanager
async def raw_topic(
    settings: IngestSettings, **producer_options: Any
) -> AsyncIterator[tuple[str, AIOKafkaProducer, AIOKafkaConsumer]]:
    """The raw topic's name, a producer with ``producer_options``, and a consumer of it."""
    await ensure_topics(settings, [Topic.EVENTS_RAW])
    producer: AIOKafkaProducer = make_producer(settings, **producer_options)
    await producer.start()
    consumer = make_consumer(settings, group="publish-test", topics=[Topic.EVENTS_RAW])
    await consumer.start()
    try:
        yield topic_name(Topic.EVENTS_RAW, settings.topic_prefix), producer, consumer
    finally:
        await consumer.stop()
        await producer.stop()


class TestPublish:
    async def test_concurrent_callers_write_each_message_once_in_key_order(
        self, settings: IngestSettings
    ) -> None:
        # aiokafka's own wait for a partition's queued batch gives up within this time, far
        # sooner than the callers' 30 s: every batch must still reach the broker.
        async with raw_topic(settings, request_timeout_ms=1_000, max_batch_size=64 * 1024) as (
            topic,
            producer,
            consumer,
        ):
            await asyncio.gather(
                *(
                    publishing.publish(producer, {topic: messages(c)}, timeout=30)
                    for c in range(CALLERS)
                )
            )
            records = await read_all(consumer, CALLERS * PER_CALLER)
            partitions = sorted(await producer.partitions_for(topic))

        assert len(records) == CALLERS * PER_CALLER
        values = [value.split(b":", 2)[:2] for _p, _k, value in records]
        assert len({(c, n) for c, n in values}) == CALLERS * PER_CALLER
        # Each key on its partition (the default partitioner's), and each caller's messages
        # of one key in the order that caller published them.
        partitioner = DefaultPartitioner()
        order: dict[tuple[bytes, bytes], list[int]] = defaultdict(list)
        for (partition, key, _value), (caller, n) in zip(records, values, strict=True):
            assert partition == partitioner(key, partitions, partitions)
            order[key, caller].append(int(n))
        assert len(order) == KEYS * CALLERS
        assert all(ns == sorted(ns) for ns in order.values())

    async def test_a_full_batch_is_sent_as_is_and_the_rest_goes_in_the_next(
        self, settings: IngestSettings
    ) -> None:
        # Batches of 16 KB: 300 messages of about 1 KB on one key fill about 20 of them.
        async with raw_topic(settings, max_batch_size=16 * 1024) as (topic, producer, consumer):
            batch = [(b"esc-1", b"%d:" % n + b"y" * 1000, ()) for n in range(300)]
            futures = await publishing.send_all(producer, topic, batch, timeout=30)
            await asyncio.gather(*futures)
            records = await read_all(consumer, 300)

        assert len(futures) >= 18
        assert [int(value.split(b":", 1)[0]) for _p, _k, value in records] == list(range(300))

    async def test_a_batch_its_callers_gave_up_on_is_not_written(
        self, settings: IngestSettings
    ) -> None:
        async with raw_topic(settings) as (topic, producer, consumer):
            (expired,) = await publishing.send_all(
                producer, topic, [(b"esc-1", b"given up", ())], timeout=0
            )
            with pytest.raises(KafkaTimeoutError):
                await expired
            (acked,) = await publishing.send_all(
                producer, topic, [(b"esc-1", b"kept", ())], timeout=30
            )
            await acked
            # Same key, same partition, read from its start: the first record is the second
            # message, so the first was never written.
            records = await read_all(consumer, 1)

        assert [value for _p, _k, value in records] == [b"kept"]
