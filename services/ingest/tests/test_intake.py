from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import asyncpg
import httpx
import orjson
from pydantic import SecretStr

from pp_ingest.intake.dedupe import HashLookups
from pp_ingest.intake.seal import Sealer
from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.db import create_pool
from pp_shared.testing.apps import read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers

LogCounts = Callable[[], Awaitable[tuple[int, int, int]]]
"""The log_counts fixture: rows in ingest.events, ingest.conflicts and ingest.dead_letters."""


class TestHttpIntake:
    async def test_accepted_event_is_stored_and_published(
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", json=escalation())
            assert response.status_code == 202
            assert response.json() == {
                "event_id": "6f1c2d3e-0000-4000-8000-000000000001",
                "status": "accepted",
            }
            await eventually(log_counts, lambda c: c == (1, 0, 0))
        validated = await read_topic(
            servers.kafka_bootstrap, topic_name(Topic.EVENTS_VALIDATED, topic_prefix), expect=1
        )
        assert validated[0].key == b"esc-000123"
        assert orjson.loads(validated[0].value or b"")["suggested_clause_id"] == (
            "HATE.PROTECTED_ATTR.RELIGION"
        )

    async def test_invalid_event_gets_problem_details_with_pointers(
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
    ) -> None:
        bad = escalation(region="Germany", severity=9)
        del bad["source"]
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", json=bad)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "https://policypulse.dev/problems/validation-error"
        assert problem["status"] == 422
        assert [e["pointer"] for e in problem["errors"]] == ["/source", "/region", "/severity"]
        assert problem["errors"][1]["found"] == "Germany"

    async def test_body_that_is_not_json_is_a_problem_not_a_crash(
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)) as client:
            response = await client.post(
                "/v1/events", content=b"{not json", headers={"content-type": "application/json"}
            )
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == ""

    async def test_stored_duplicate_is_200_and_another_body_is_409(
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)) as client:
            assert (await client.post("/v1/events", json=escalation())).status_code == 202
            await eventually(log_counts, lambda c: c == (1, 0, 0))
            again = await client.post("/v1/events", json=escalation())
            changed = await client.post("/v1/events", json=escalation(region="FR"))
            changed_twice = await client.post("/v1/events", json=escalation(region="FR"))
        assert again.status_code == 200
        assert again.json() == {
            "event_id": "6f1c2d3e-0000-4000-8000-000000000001",
            "status": "duplicate",
        }
        assert changed.status_code == 409
        assert changed.headers["content-type"] == "application/problem+json"
        problem = changed.json()
        assert problem["type"] == "https://policypulse.dev/problems/conflict"
        assert problem["errors"][0]["pointer"] == "/event_id"
        assert problem["errors"][0]["code"] == "conflict"
        assert changed_twice.status_code == 409
        # The conflicting body is kept once; neither re-send reached the raw topic.
        assert await log_counts() == (1, 1, 0)
        raw = await read_topic(
            servers.kafka_bootstrap, topic_name(Topic.EVENTS_RAW, topic_prefix), expect=1
        )
        assert len(raw) == 1

    async def test_control_characters_future_times_and_bad_utf8_are_422(
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
    ) -> None:
        soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        later = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        async with running_app(create_app(settings)) as client:
            control = await client.post("/v1/events", json=escalation(source="console\x00"))
            future = await client.post("/v1/events", json=escalation(occurred_at=later))
            not_utf8 = await client.post(
                "/v1/events",
                content=orjson.dumps(escalation()).replace(b"review-console", b"r\xe9view"),
                headers={"content-type": "application/json"},
            )
            fine = await client.post(
                "/v1/events", json=escalation(occurred_at=soon, text_excerpt="a\n\tb")
            )
        assert control.status_code == 422
        assert [e["pointer"] for e in control.json()["errors"]] == ["/source"]
        assert future.status_code == 422
        assert [e["pointer"] for e in future.json()["errors"]] == ["/occurred_at"]
        assert not_utf8.status_code == 422
        assert not_utf8.json()["detail"].startswith("the body is not valid UTF-8: byte 0xe9")
        assert fine.status_code == 202

    async def test_broker_unreachable_answers_503_with_retry_after(
        self,
        servers: Servers,
        log_counts: LogCounts,
        topic_prefix: str,
        settings: IngestSettings,
        unavailable: Callable[[httpx.Response, str, str], None],
    ) -> None:
        app = create_app(settings)
        async with running_app(app) as client:
            await app.state.runtime.producer.stop()  # the broker is gone for this producer
            response = await client.post("/v1/events", json=escalation())
        unavailable(
            response,
            "/v1/events",
            "the event broker did not acknowledge the event in time; send it again "
            "(should it have reached the broker after all, it is still stored once)",
        )
        assert await log_counts() == (0, 0, 0)


class TestIntakeSeal:
    def test_only_this_key_over_this_value_vouches(self) -> None:
        sealer = Sealer(SecretStr("k1"))
        name, seal = sealer.seal(b'{"a":1}')
        assert name == "pp-intake-seal"
        assert sealer.vouches_for(b'{"a":1}', [("trace", b"x"), (name, seal)]) is True
        assert sealer.vouches_for(b'{"a":2}', [(name, seal)]) is False
        assert Sealer(SecretStr("k2")).vouches_for(b'{"a":1}', [(name, seal)]) is False
        assert sealer.vouches_for(b'{"a":1}', [("trace", b"x")]) is False
        assert sealer.vouches_for(b'{"a":1}', None) is False
        assert sealer.vouches_for(None, [(name, seal)]) is False


class CountingPool:
    """A real pool that counts the queries sent through it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.queries = 0

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        self.queries += 1
        return list(await self.pool.fetch(query, *args))


class TestHashLookups:
    async def test_concurrent_lookups_share_queries_and_each_gets_its_answer(
        self, database_url: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)):  # applies the migrations
            pass
        pool = await create_pool(database_url)
        try:
            await pool.execute(
                "INSERT INTO ingest.events (event_id, event_type, escalation_id, occurred_at,"
                " body, body_sha256) SELECT 'k' || i, 'escalation.created', 'x', now(), '{}',"
                " decode(lpad(to_hex(i), 2, '0'), 'hex') FROM generate_series(0, 9) AS i"
            )
            counting = CountingPool(pool)
            lookups = HashLookups(cast(asyncpg.Pool, counting))
            ids = [f"k{i}" for i in range(20)]  # k10..k19 are not stored
            answers = await asyncio.gather(*(lookups.one(i) for i in ids))
            again = await lookups.one("k3")
        finally:
            await pool.close()
        assert answers == [bytes([i]) for i in range(10)] + [None] * 10
        assert again == bytes([3])
        # The twenty arrive before the first query goes out and share it; the last is alone.
        assert counting.queries == 2
