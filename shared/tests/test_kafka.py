"""BatchLoop against a real broker of its own (these tests restart it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pp_shared.devstack.embedded import EmbeddedBroker, free_port
from pp_shared.kafka import BatchLoop, BrokerForgotOffsets, Record
from pp_shared.testing.plugin import eventually

TOPIC = "pp.test.batchloop.v1"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(port=free_port(), log_file=tmp_path / "broker.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def produce(broker: EmbeddedBroker, values: Sequence[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(TOPIC, value, partition=0)
    finally:
        await producer.stop()


@pytest.fixture
async def consumer(broker: EmbeddedBroker) -> AsyncIterator[AIOKafkaConsumer]:
    await produce(broker, [b"warm-up"])  # the topic exists before the group joins
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=broker.bootstrap_servers,
        group_id="batchloop-test",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


class TestBatchLoop:
    async def test_commits_the_offset_after_the_last_handled_record(
        self, broker: EmbeddedBroker, consumer: AIOKafkaConsumer
    ) -> None:
        seen: list[bytes] = []

        async def handle(records: Sequence[Record]) -> None:
            seen.extend(r.value for r in records if r.value is not None)

        await produce(broker, [b"a", b"b", b"c"])
        task = asyncio.create_task(BatchLoop(consumer, handle, service="test").run())
        try:
            await eventually(lambda: consumer.committed(TopicPartition(TOPIC, 0)), lambda o: o == 4)
        finally:
            task.cancel()
        assert seen == [b"warm-up", b"a", b"b", b"c"]

    async def test_ends_when_a_restarted_broker_forgot_the_committed_offsets(
        self, broker: EmbeddedBroker, consumer: AIOKafkaConsumer
    ) -> None:
        handled = 0

        async def handle(records: Sequence[Record]) -> None:
            nonlocal handled
            handled += len(records)

        loop = BatchLoop(consumer, handle, service="test", commit_timeout=10)
        task = asyncio.create_task(loop.run())
        await produce(broker, [b"x"] * 9)
        await eventually(lambda: consumer.committed(TopicPartition(TOPIC, 0)), lambda o: o == 10)

        # The in-memory broker comes back empty: offsets held here are stale now, and
        # committing at them would skip whatever the new log holds below them.
        broker.stop()
        broker.start()
        await produce(broker, [b"y"] * 12)
        with pytest.raises(BrokerForgotOffsets, match=r"\[0\]: the broker has offset None"):
            async with asyncio.timeout(60):
                await task
        assert handled >= 10  # the first ten records were handled before the restart
