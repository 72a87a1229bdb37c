"""A re-send of an event still in flight (accepted, not yet in the log) is answered at once:
``duplicate`` for the same body, 409 for another, from the record of recent events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from pp_ingest.intake.recent import RecentEvents
from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers

LogCounts = Callable[[], Awaitable[tuple[int, int, int]]]
BATCH = "/v1/events:batch"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestRecentEvents:
    def test_answers_the_hash_it_was_given_within_the_age(self) -> None:
        clock = Clock()
        recent = RecentEvents(max_size=10, max_age=60.0, clock=clock)
        recent.remember([("e1", b"h1"), ("e2", b"h2")])
        clock.now += 60.0
        assert (recent.hash_of("e1"), recent.hash_of("e2"), recent.hash_of("e3")) == (
            b"h1",
            b"h2",
            None,
        )
        clock.now += 0.5
        assert recent.hash_of("e1") is None

    def test_keeps_at_most_max_size_dropping_the_oldest(self) -> None:
        recent = RecentEvents(max_size=3, max_age=60.0, clock=Clock())
        recent.remember([(f"e{n}", bytes([n])) for n in range(5)])
        assert len(recent) == 3
        assert [recent.hash_of(f"e{n}") for n in range(5)] == [
            None,
            None,
            b"\x02",
            b"\x03",
            b"\x04",
        ]

    def test_entries_past_the_age_are_dropped_when_new_ones_come(self) -> None:
        clock = Clock()
        recent = RecentEvents(max_size=100, max_age=10.0, clock=clock)
        recent.remember([("old1", b"a"), ("old2", b"b")])
        clock.now += 5
        recent.remember([("mid", b"c")])
        clock.now += 6  # old1 and old2 are 11 s old, mid 6 s
        recent.remember([("new", b"d")])
        assert len(recent) == 2
        assert (recent.hash_of("mid"), recent.hash_of("new")) == (b"c", b"d")

    def test_a_zero_size_record_remembers_nothing(self) -> None:
        recent = RecentEvents(max_size=0, max_age=10.0, clock=Clock())
        recent.remember([("e1", b"a")])
        assert (len(recent), recent.hash_of("e1")) == (0, None)


@pytest.fixture
async def log_held(
    database_url: str, settings: IngestSettings
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that holds ``ingest.events`` in SHARE mode: the consumer's inserts wait
    (the events stay in flight) while the log lookups still read."""
    async with running_app(create_app(settings)):  # applies the migrations
        pass
    conn = await asyncpg.connect(database_url)
    tx = conn.transaction()
    await tx.start()
    await conn.execute("LOCK TABLE ingest.events IN SHARE MODE")
    try:
        yield conn
    finally:
        if not conn.is_closed():
            await tx.rollback()
            await conn.close()


async def release(conn: asyncpg.Connection) -> None:
    await conn.execute("ROLLBACK")
    await conn.close()


class TestResendInFlight:
    async def test_single_resend_is_duplicate_and_another_body_409_before_it_is_stored(
        self,
        servers: Servers,
        settings: IngestSettings,
        topic_prefix: str,
        log_counts: LogCounts,
        log_held: asyncpg.Connection,
    ) -> None:
        async with running_app(create_app(settings)) as client:
            first = await client.post("/v1/events", json=escalation())
            again = await client.post("/v1/events", json=escalation())
            changed = await client.post("/v1/events", json=escalation(region="FR"))
            assert await log_counts() == (0, 1, 0)  # nothing stored yet; the conflict is kept
            await release(log_held)
            await eventually(log_counts, lambda c: c == (1, 1, 0))
        assert (first.status_code, again.status_code, changed.status_code) == (202, 200, 409)
        assert again.json() == {
            "event_id": "6f1c2d3e-0000-4000-8000-000000000001",
            "status": "duplicate",
        }
        assert changed.headers["content-type"] == "application/problem+json"
        assert [(e["pointer"], e["code"]) for e in changed.json()["errors"]] == [
            ("/event_id", "conflict")
        ]
        raw = await read_topic(
            servers.kafka_bootstrap, topic_name(Topic.EVENTS_RAW, topic_prefix), expect=1
        )
        assert len(raw) == 1

    async def test_batch_resend_is_answered_per_item_before_it_is_stored(
        self,
        settings: IngestSettings,
        log_counts: LogCounts,
        log_held: asyncpg.Connection,
    ) -> None:
        batch = [escalation(event_id=f"e{n}", escalation_id=f"esc-{n}") for n in range(3)]
        resent = [*batch[:2], escalation(event_id="e2", escalation_id="esc-2", region="FR")]
        async with running_app(create_app(settings)) as client:
            first = await client.post(BATCH, json=batch)
            again = await client.post(BATCH, json=resent)
            single = await client.post("/v1/events", json=batch[1])
            await release(log_held)
            await eventually(log_counts, lambda c: c == (3, 1, 0))
        assert first.json()["counts"] == {
            "received": 3,
            "accepted": 3,
            "duplicate": 0,
            "rejected": 0,
        }
        assert [(i["status"], i.get("reason")) for i in again.json()["items"]] == [
            ("duplicate", None),
            ("duplicate", None),
            ("rejected", "conflict"),
        ]
        assert (single.status_code, single.json()["status"]) == (200, "duplicate")

    async def test_a_record_turned_off_accepts_the_resend_as_before(
        self,
        settings: IngestSettings,
        log_counts: LogCounts,
        log_held: asyncpg.Connection,
    ) -> None:
        off = settings.model_copy(update={"recent_events_max": 0})
        async with running_app(create_app(off)) as client:
            first = await client.post("/v1/events", json=escalation())
            again = await client.post("/v1/events", json=escalation())
            await release(log_held)
            await eventually(log_counts, lambda c: c == (1, 0, 0))
        assert (first.status_code, again.status_code) == (202, 202)
