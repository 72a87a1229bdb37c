"""BatchLoop sets aside the records that fail on their own and retries the failures of its
dependencies, against a real broker and a real Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from importlib import resources

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pp_shared.db import Pool, create_pool
from pp_shared.dead_letters import DeadLetterStore
from pp_shared.failures import PoisonRecord
from pp_shared.kafka import POISON_RECORDS, POISON_SPLITS, BatchLoop, Record
from pp_shared.testing.apps import produce, read_topic
from pp_shared.testing.plugin import eventually
from pp_shared.testing.servers import Servers

SCHEMA = "pp_test"  # the statements below name it literally


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database_url)
    sql = resources.files("pp_shared").joinpath("migrations/dead_letters.sql").read_text()
    await pool.execute(f"CREATE SCHEMA {SCHEMA}")
    await pool.execute(sql.replace("{schema}", SCHEMA))
    try:
        yield pool
    finally:
        await pool.close()


class Harness:
    """A topic with ``values`` on one partition, a consumer on it, and a dead-letter sink."""

    def __init__(self, servers: Servers, prefix: str, pool: Pool) -> None:
        self.bootstrap = servers.kafka_bootstrap
        self.topic = f"{prefix}pp.test.poison.v1"
        self.dead_topic = f"{prefix}pp.test.poison.deadletter.v1"
        self.pool = pool
        self.store = DeadLetterStore(SCHEMA)

    async def run(
        self,
        values: Sequence[bytes],
        handler: object,
        *,
        sink: bool = True,
    ) -> BatchLoop:
        await produce(self.bootstrap, self.topic, [(b"k", v) for v in values])
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=f"{self.topic}.group",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await consumer.start()
        await producer.start()
        loop = BatchLoop(
            consumer,
            handler,  # type: ignore[arg-type]
            service="poison-test",
            dead_letter=self.store.sink(self.pool, producer, self.dead_topic) if sink else None,
        )
        task = asyncio.create_task(loop.run())
        try:
            await eventually(
                lambda: consumer.committed(TopicPartition(self.topic, 0)),
                lambda offset: offset == len(values),
            )
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await consumer.stop()
            await producer.stop()
        return loop


@pytest.fixture
def harness(servers: Servers, topic_prefix: str, pool: Pool) -> Harness:
    return Harness(servers, topic_prefix, pool)


def splits() -> float:
    return float(POISON_SPLITS.labels("poison-test")._value.get())


class TestPoisonRecords:
    async def test_records_that_fail_on_their_own_are_set_aside_and_the_rest_handled(
        self, harness: Harness, pool: Pool
    ) -> None:
        values = [f"v{i}".encode() for i in range(10)]
        handled: list[bytes] = []
        calls = 0

        async def handle(records: Sequence[Record]) -> None:
            nonlocal calls
            calls += 1
            batch = [r.value for r in records]
            if b"v3" in batch:
                raise PoisonRecord("out_of_range", [{"pointer": "/occurred_at", "detail": "old"}])
            if b"v7" in batch:
                raise ValueError("cannot fold v7")
            handled.extend(v for v in batch if v is not None)

        out_of_range = POISON_RECORDS.labels("poison-test", "out_of_range")._value.get()
        await harness.run(values, handle)

        assert handled == [v for v in values if v not in (b"v3", b"v7")]
        rows = await pool.fetch(
            "SELECT reason, errors, raw_value, raw_key, kafka_offset FROM pp_test.dead_letters"
            " ORDER BY kafka_offset"
        )
        assert [(r["reason"], bytes(r["raw_value"]), r["kafka_offset"]) for r in rows] == [
            ("out_of_range", b"v3", 3),
            ("processing_failed", b"v7", 7),
        ]
        assert rows[0]["errors"] == [{"pointer": "/occurred_at", "detail": "old"}]
        assert rows[1]["errors"] == [{"pointer": "", "detail": "ValueError: cannot fold v7"}]
        assert bytes(rows[0]["raw_key"]) == b"k"
        assert POISON_RECORDS.labels("poison-test", "out_of_range")._value.get() == out_of_range + 1
        dead = await read_topic(harness.bootstrap, harness.dead_topic, expect=2)
        assert [(m.value, dict(m.headers)["pp-dead-letter-reason"]) for m in dead] == [
            (b"v3", b"out_of_range"),
            (b"v7", b"processing_failed"),
        ]

    async def test_a_failure_that_does_not_repeat_sets_nothing_aside(
        self, harness: Harness, pool: Pool
    ) -> None:
        failed_once: set[bytes] = set()
        handled: list[bytes] = []

        async def handle(records: Sequence[Record]) -> None:
            for r in records:
                assert r.value is not None
                if r.value == b"v1" and r.value not in failed_once:
                    failed_once.add(r.value)
                    raise ValueError("a failure that goes away")
            handled.extend(r.value for r in records if r.value is not None)

        await harness.run([b"v0", b"v1", b"v2"], handle)
        assert sorted(handled) == [b"v0", b"v1", b"v2"]
        assert await pool.fetchval("SELECT count(*) FROM pp_test.dead_letters") == 0

    async def test_transient_failures_are_retried_whole_not_split(
        self, harness: Harness, pool: Pool
    ) -> None:
        attempts: list[int] = []
        before = splits()

        async def handle(records: Sequence[Record]) -> None:
            attempts.append(len(records))
            if len(attempts) <= 2:
                raise ConnectionRefusedError("database unreachable")

        loop = await harness.run([b"a", b"b", b"c"], handle)
        assert attempts == [3, 3, 3]
        assert splits() == before
        assert loop.healthy is True
        assert await pool.fetchval("SELECT count(*) FROM pp_test.dead_letters") == 0

    async def test_resource_exhaustion_splits_a_batch_but_never_sets_a_record_aside(
        self, harness: Harness, pool: Pool
    ) -> None:
        handled: list[bytes] = []
        single_failures = 0

        async def handle(records: Sequence[Record]) -> None:
            nonlocal single_failures
            if len(records) > 1:
                raise asyncpg.exceptions.OutOfMemoryError("out of shared memory")
            if single_failures < 2:
                # One record meeting it means the database is short, not the record bad.
                single_failures += 1
                raise asyncpg.exceptions.OutOfMemoryError("out of shared memory")
            handled.extend(r.value for r in records if r.value is not None)

        await harness.run([b"a", b"b", b"c", b"d"], handle)
        assert handled == [b"a", b"b", b"c", b"d"]
        assert single_failures == 2
        assert await pool.fetchval("SELECT count(*) FROM pp_test.dead_letters") == 0

    async def test_a_set_aside_record_replays_to_its_topic(
        self, harness: Harness, pool: Pool
    ) -> None:
        async def handle(records: Sequence[Record]) -> None:
            if any(r.value == b"bad" for r in records):
                raise ValueError("bad")

        await harness.run([b"ok", b"bad"], handle)
        (dead_id,) = [r["id"] for r in await pool.fetch("SELECT id FROM pp_test.dead_letters")]
        sent: list[list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]]] = []

        async def send(
            messages: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
        ) -> None:
            sent.append(messages)

        result = await harness.store.replay(pool, send, ids=[dead_id, dead_id + 1])
        assert (result.replayed, result.not_found) == (1, 1)
        ((key, value, headers),) = sent[0]
        assert (key, value) == (b"k", b"bad")
        assert ("pp-replayed-from", str(dead_id).encode()) in headers
        page = await harness.store.page(
            pool, reason=None, since=None, until=None, replayed=True, cursor=None, limit=10
        )
        assert [item.id for item in page.items] == [dead_id]
