"""The raw-topic consumer: each event stored once, conflicts kept, poison dead-lettered, and
events sealed by intake trusted without a second validation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import orjson
from prometheus_client import REGISTRY
from pydantic import SecretStr

from pp_ingest.intake.seal import Sealer
from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers

LogCounts = Callable[[], Awaitable[tuple[int, int, int]]]
"""The log_counts fixture: rows in ingest.events, ingest.conflicts and ingest.dead_letters."""


class TestRawTopicConsumer:
    async def test_duplicates_once_conflicts_recorded_poison_dead_lettered(
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
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
            final = await eventually(log_counts, lambda c: c == (2, 1, 2))
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
        self, servers: Servers, log_counts: LogCounts, topic_prefix: str, settings: IngestSettings
    ) -> None:
        raw = topic_name(Topic.EVENTS_RAW, topic_prefix)
        batch = [
            (b"esc-000123", orjson.dumps(escalation())),
            (b"esc-000123", orjson.dumps(decision())),
        ]
        async with running_app(create_app(settings)):
            await produce(servers.kafka_bootstrap, raw, batch)
            await eventually(log_counts, lambda c: c == (2, 0, 0))
            await produce(servers.kafka_bootstrap, raw, batch)
            await eventually(
                lambda: read_topic(
                    servers.kafka_bootstrap,
                    topic_name(Topic.EVENTS_VALIDATED, topic_prefix),
                    expect=4,
                ),
                lambda records: len(records) == 4,
            )
        assert await log_counts() == (2, 0, 0)


class TestSealedEvents:
    async def test_sealed_events_skip_validation_and_a_forged_seal_is_not_trusted(
        self,
        servers: Servers,
        database_url: str,
        topic_prefix: str,
        settings: IngestSettings,
        log_counts: LogCounts,
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
            final = await eventually(log_counts, lambda c: c == (3, 0, 1))
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
