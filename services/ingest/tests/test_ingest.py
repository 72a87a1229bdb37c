from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import asyncpg
import httpx
import orjson
from prometheus_client import REGISTRY
from pydantic import SecretStr

from pp_ingest.intake.dedupe import HashLookups
from pp_ingest.intake.seal import Sealer
from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.db import create_pool
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers
from pp_shared.topics import Topic, topic_name


async def counts(database_url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM ingest.events) AS e,"
            " (SELECT count(*) FROM ingest.conflicts) AS c,"
            " (SELECT count(*) FROM ingest.dead_letters) AS d"
        )
    finally:
        await conn.close()
    assert row is not None
    return (row["e"], row["c"], row["d"])


class TestHttpIntake:
    async def test_accepted_event_is_stored_and_published(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", json=escalation())
            assert response.status_code == 202
            assert response.json() == {
                "event_id": "6f1c2d3e-0000-4000-8000-000000000001",
                "status": "accepted",
            }
            await eventually(lambda: counts(database_url), lambda c: c == (1, 0, 0))
        validated = await read_topic(
            servers.kafka_bootstrap, topic_name(Topic.EVENTS_VALIDATED, topic_prefix), expect=1
        )
        assert validated[0].key == b"esc-000123"
        assert orjson.loads(validated[0].value or b"")["suggested_clause_id"] == (
            "HATE.PROTECTED_ATTR.RELIGION"
        )

    async def test_invalid_event_gets_problem_details_with_pointers(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
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
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)) as client:
            response = await client.post(
                "/v1/events", content=b"{not json", headers={"content-type": "application/json"}
            )
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == ""

    async def test_stored_duplicate_is_200_and_another_body_is_409(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        async with running_app(create_app(settings)) as client:
            assert (await client.post("/v1/events", json=escalation())).status_code == 202
            await eventually(lambda: counts(database_url), lambda c: c == (1, 0, 0))
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
        assert await counts(database_url) == (1, 1, 0)
        raw = await read_topic(
            servers.kafka_bootstrap, topic_name(Topic.EVENTS_RAW, topic_prefix), expect=1
        )
        assert len(raw) == 1

    async def test_control_characters_future_times_and_bad_utf8_are_422(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
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
        database_url: str,
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
        assert await counts(database_url) == (0, 0, 0)


class TestRawTopicConsumer:
    async def test_duplicates_once_conflicts_recorded_poison_dead_lettered(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        raw = topic_name(Topic.EVENTS_RAW, topic_prefix)
        key = b"esc-000123"
        first = orjson.dumps(escalation())
        changed = orjson.dumps(escalation(region="FR"))
        messages = [
            (key, b"\xff\xfe not json"),  # poison first: what follows must still be processed
            (key, first),
            (key, first),  # duplicate
            (key, changed),  # same event_id, different body: a conflict
            (key, orjson.dumps({"event_type": "decision.made"})),  # invalid
            (key, orjson.dumps(decision())),
        ]
        async with running_app(create_app(settings)):
            await produce(servers.kafka_bootstrap, raw, messages)
            final = await eventually(lambda: counts(database_url), lambda c: c == (2, 1, 2))
        assert final == (2, 1, 2)
        dead = await read_topic(
            servers.kafka_bootstrap, topic_name(Topic.EVENTS_DEAD_LETTER, topic_prefix), expect=2
        )
        reasons = sorted(dict(r.headers)["pp-dead-letter-reason"] for r in dead)
        assert reasons == [b"invalid", b"undecodable"]
        assert sorted(r.value or b"" for r in dead)[0] == orjson.dumps(
            {"event_type": "decision.made"}
        )

    async def test_replayed_batch_changes_nothing(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        raw = topic_name(Topic.EVENTS_RAW, topic_prefix)
        batch = [
            (b"esc-000123", orjson.dumps(escalation())),
            (b"esc-000123", orjson.dumps(decision())),
        ]
        async with running_app(create_app(settings)):
            await produce(servers.kafka_bootstrap, raw, batch)
            await eventually(lambda: counts(database_url), lambda c: c == (2, 0, 0))
            await produce(servers.kafka_bootstrap, raw, batch)
            await eventually(
                lambda: read_topic(
                    servers.kafka_bootstrap,
                    topic_name(Topic.EVENTS_VALIDATED, topic_prefix),
                    expect=4,
                ),
                lambda records: len(records) == 4,
            )
        assert await counts(database_url) == (2, 0, 0)


class TestMetrics:
    async def test_requests_are_timed_by_route_template_and_batches_sized(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        def sample(name: str, **labels: str) -> float:
            return REGISTRY.get_sample_value(name, labels) or 0.0

        batch_ok = {"method": "POST", "route": "/v1/events:batch", "status_class": "2xx"}
        by_id = {
            "method": "GET",
            "route": "/v1/dead-letters/{dead_letter_id}",
            "status_class": "4xx",
        }
        unmatched = {"method": "GET", "route": "unmatched", "status_class": "4xx"}
        accepted = {"path": "http", "event_type": "escalation.created", "outcome": "accepted"}
        rejected = {"path": "http", "event_type": "escalation.created", "outcome": "rejected"}
        before = {
            "batch": sample("pp_ingest_http_request_seconds_count", **batch_ok),
            "by_id": sample("pp_ingest_http_request_seconds_count", **by_id),
            "unmatched": sample("pp_ingest_http_request_seconds_count", **unmatched),
            "sizes": sample("pp_ingest_batch_size_events_sum"),
            "accepted": sample("pp_ingest_events_total", **accepted),
            "rejected": sample("pp_ingest_events_total", **rejected),
        }
        async with running_app(create_app(settings)) as client:
            batch = [
                escalation(event_id="e1"),
                escalation(event_id="e2"),
                escalation(event_id="e3", region="x"),
            ]
            assert (await client.post("/v1/events:batch", json=batch)).status_code == 200
            assert (await client.get("/v1/dead-letters/987654")).status_code == 404
            assert (await client.get("/v1/nothing")).status_code == 404
            exposition = (await client.get("/metrics")).text
        assert sample("pp_ingest_http_request_seconds_count", **batch_ok) == before["batch"] + 1
        assert sample("pp_ingest_http_request_seconds_count", **by_id) == before["by_id"] + 1
        assert sample("pp_ingest_http_request_seconds_count", **unmatched) == (
            before["unmatched"] + 1
        )
        assert sample("pp_ingest_batch_size_events_sum") == before["sizes"] + 3
        assert sample("pp_ingest_events_total", **accepted) == before["accepted"] + 2
        assert sample("pp_ingest_events_total", **rejected) == before["rejected"] + 1
        assert "pp_ingest_http_request_seconds_bucket" in exposition


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

    async def test_sealed_events_skip_validation_and_a_forged_seal_is_not_trusted(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        def checks(kind: str) -> float:
            return REGISTRY.get_sample_value("pp_ingest_raw_checks_total", {"check": kind}) or 0

        raw = topic_name(Topic.EVENTS_RAW, topic_prefix)
        # Invalid, but sealed with another key: it must be validated and dead-lettered.
        forged_value = orjson.dumps({"event_type": "decision.made"})
        forged = Sealer(SecretStr("not-the-key")).seal(forged_value)
        sealed_before, validated_before = checks("sealed"), checks("validated")
        async with running_app(create_app(settings)) as client:
            for i in range(3):
                response = await client.post("/v1/events", json=escalation(event_id=f"s{i}"))
                assert response.status_code == 202, response.text
            await produce(servers.kafka_bootstrap, raw, [(b"k", forged_value)], headers=[forged])
            final = await eventually(lambda: counts(database_url), lambda c: c == (3, 0, 1))
        assert final == (3, 0, 1)
        assert checks("sealed") - sealed_before == 3
        assert checks("validated") - validated_before == 1
        conn = await asyncpg.connect(database_url)
        try:
            stored = await conn.fetch(
                "SELECT event_id, occurred_at, body FROM ingest.events ORDER BY event_id"
            )
        finally:
            await conn.close()
        assert [r["event_id"] for r in stored] == ["s0", "s1", "s2"]
        assert {r["occurred_at"] for r in stored} == {datetime(2026, 11, 20, 10, 15, tzinfo=UTC)}
        assert orjson.loads(stored[0]["body"])["region"] == "DE"


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
