from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers

LIST = "/v1/dead-letters"
REPLAY = "/v1/dead-letters:replay"
BINARY_HEADERS = [("trace", b"\x00\xff"), ("source", b"tool-a")]


@pytest.fixture
def raw_topic(topic_prefix: str) -> str:
    return topic_name(Topic.EVENTS_RAW, topic_prefix)


async def dead_letters(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(LIST, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def replays(outcome: str) -> float:
    """pp_ingest_dead_letter_replays_total of ``outcome`` so far."""
    sample = REGISTRY.get_sample_value("pp_ingest_dead_letter_replays_total", {"outcome": outcome})
    return sample or 0.0


def future(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


class TestDeadLetterList:
    async def test_fields_filters_and_pages(
        self, client: httpx.AsyncClient, servers: Servers, raw_topic: str
    ) -> None:
        boot = servers.kafka_bootstrap
        await produce(boot, raw_topic, [(b"esc-1", b"\xff\xfe not json")], BINARY_HEADERS)
        await produce(
            boot,
            raw_topic,
            [
                (None, b"{not json"),
                (b"esc-3", orjson.dumps(escalation(event_id="e3", occurred_at=future(10)))),
                (b"esc-4", orjson.dumps(decision(event_id="d4", source="console\x1b[31m"))),
                (b"esc-5", orjson.dumps(escalation(event_id="e5", escalation_id="esc-5"))),
                (b"esc-6", b"[]"),
            ],
        )
        everything = await eventually(lambda: dead_letters(client), lambda d: len(d) == 5)

        ids = [d["id"] for d in everything]
        assert ids == sorted(ids)
        by_value = {d["value"]: d for d in everything}
        binary = by_value[base64.b64encode(b"\xff\xfe not json").decode()]
        assert binary["topic"] == raw_topic
        assert isinstance(binary["partition"], int)
        assert isinstance(binary["offset"], int)
        assert binary["reason"] == "undecodable"
        assert binary["errors"] == [
            {"pointer": "", "detail": "not valid UTF-8: byte 0xff at offset 0"}
        ]
        assert binary["encoding"] == "base64"
        assert (binary["key"], binary["key_encoding"]) == ("esc-1", "utf-8")
        assert binary["headers"] == [
            {"key": "trace", "value": base64.b64encode(b"\x00\xff").decode(), "encoding": "base64"},
            {"key": "source", "value": "tool-a", "encoding": "utf-8"},
        ]
        assert binary["replayed_at"] is None
        assert datetime.fromisoformat(binary["received_at"]).tzinfo is not None
        not_json = by_value["{not json"]
        assert (not_json["reason"], not_json["encoding"]) == ("undecodable", "utf-8")
        assert (not_json["key"], not_json["key_encoding"], not_json["headers"]) == (None, None, [])
        invalid = {
            d["key"]: [e["pointer"] for e in d["errors"]]
            for d in everything
            if d["reason"] == "invalid"
        }
        assert invalid == {"esc-3": ["/occurred_at"], "esc-4": ["/source"], "esc-6": [""]}

        undecodable = await dead_letters(client, reason="undecodable")
        assert {d["id"] for d in undecodable} == {binary["id"], not_json["id"]}
        assert len(await dead_letters(client, reason="invalid")) == 3
        assert await dead_letters(client, reason="other") == []

        one = await client.get(f"{LIST}/{binary['id']}")
        assert one.status_code == 200
        assert one.json() == binary

        pages: list[list[int]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(LIST, params=params)).json()
            pages.append([d["id"] for d in page["items"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == [ids[0:2], ids[2:4], ids[4:5]]
        first = (await client.get(LIST, params={"reason": "invalid", "limit": 2})).json()
        rest = (
            await client.get(
                LIST, params={"reason": "invalid", "limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert len(first["items"]) == 2
        assert len(rest["items"]) == 1
        assert rest["next_cursor"] is None

        times = sorted(d["received_at"] for d in everything)
        assert len(await dead_letters(client, since=times[0])) == 5
        assert await dead_letters(client, until=times[0]) == []
        latest = await dead_letters(client, since=times[-1])
        assert {d["received_at"] for d in latest} == {times[-1]}
        assert len(await dead_letters(client, replayed="false")) == 5
        assert await dead_letters(client, replayed="true") == []

    async def test_bad_parameters_are_problems(self, client: httpx.AsyncClient) -> None:
        bad_cursor = await client.get(LIST, params={"cursor": "not-a-cursor"})
        too_many = await client.get(LIST, params={"limit": 1001})
        naive = await client.get(LIST, params={"since": "2026-11-20T10:00:00"})
        missing = await client.get(f"{LIST}/987654")
        assert bad_cursor.status_code == 422
        assert bad_cursor.json()["errors"][0]["pointer"] == "/query/cursor"
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["pointer"] == "/query/limit"
        assert naive.status_code == 422
        assert naive.json()["errors"][0]["pointer"] == "/query/since"
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["detail"] == "no dead letter with id 987654"


class TestReplay:
    async def test_replay_writes_back_the_exact_message_and_marks_the_row(
        self, client: httpx.AsyncClient, servers: Servers, raw_topic: str
    ) -> None:
        value = b"\xff\xfe not json"
        await produce(servers.kafka_bootstrap, raw_topic, [(b"esc-1", value)], BINARY_HEADERS)
        [first] = await eventually(lambda: dead_letters(client), lambda d: len(d) == 1)
        counted = {outcome: replays(outcome) for outcome in ("replayed", "not_found")}

        response = await client.post(REPLAY, json={"ids": [first["id"], first["id"], 987654]})

        assert response.status_code == 200
        assert replays("replayed") == counted["replayed"] + 1
        assert replays("not_found") == counted["not_found"] + 1
        assert response.json() == {
            "items": [
                {"id": first["id"], "status": "replayed"},
                {"id": 987654, "status": "not_found"},
            ],
            "replayed": 1,
            "not_found": 1,
        }
        original, copy = sorted(
            await read_topic(servers.kafka_bootstrap, raw_topic, expect=2),
            key=lambda r: r.offset,
        )
        assert (copy.key, copy.value) == (original.key, original.value) == (b"esc-1", value)
        assert list(copy.headers) == [
            *BINARY_HEADERS,
            ("pp-replayed-from", str(first["id"]).encode()),
        ]

        # Still undecodable: dead-lettered again, as a new row that names where it came from.
        rows = await eventually(lambda: dead_letters(client), lambda d: len(d) == 2)
        replayed, again = rows
        assert replayed["id"] == first["id"]
        assert replayed["replayed_at"] is not None
        assert again["replayed_at"] is None
        assert again["value"] == first["value"]
        assert again["headers"][-1] == {
            "key": "pp-replayed-from",
            "value": str(first["id"]),
            "encoding": "utf-8",
        }
        assert [d["id"] for d in await dead_letters(client, replayed="true")] == [first["id"]]
        assert [d["id"] for d in await dead_letters(client, replayed="false")] == [again["id"]]

        # Replaying the copy names only the newest dead letter it came from.
        await client.post(REPLAY, json={"ids": [again["id"]]})
        rows = await eventually(lambda: dead_letters(client), lambda d: len(d) == 3)
        markers = [h for h in rows[2]["headers"] if h["key"] == "pp-replayed-from"]
        assert markers == [
            {"key": "pp-replayed-from", "value": str(again["id"]), "encoding": "utf-8"}
        ]

    async def test_a_message_fixed_in_the_meantime_is_stored_after_replay(
        self, servers: Servers, raw_topic: str, settings: IngestSettings
    ) -> None:
        # Dead-lettered because it lay too far in the future; once the allowed skew covers
        # it, a replay stores it.
        body = orjson.dumps(escalation(event_id="e1", occurred_at=future(10)))
        async with running_app(create_app(settings)) as client:
            await produce(servers.kafka_bootstrap, raw_topic, [(b"esc-000123", body)])
            [row] = await eventually(lambda: dead_letters(client), lambda d: len(d) == 1)
        assert [e["pointer"] for e in row["errors"]] == ["/occurred_at"]

        wider = settings.model_copy(update={"max_future_skew_seconds": 3600})
        async with running_app(create_app(wider)) as client:
            replay = await client.post(REPLAY, json={"ids": [row["id"]]})
            assert replay.json()["replayed"] == 1
            validated = await read_topic(
                servers.kafka_bootstrap,
                topic_name(Topic.EVENTS_VALIDATED, settings.topic_prefix),
                expect=1,
            )
            assert len(await dead_letters(client)) == 1
        assert orjson.loads(validated[0].value or b"")["event_id"] == "e1"

    async def test_replay_request_limits(self, client: httpx.AsyncClient) -> None:
        empty = await client.post(REPLAY, json={"ids": []})
        too_many = await client.post(REPLAY, json={"ids": list(range(1, 1002))})
        assert empty.status_code == 422
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["pointer"] == "/body/ids"

    async def test_broker_failure_is_503_and_nothing_is_marked(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        servers: Servers,
        raw_topic: str,
        unavailable: Callable[[httpx.Response, str, str], None],
    ) -> None:
        await produce(servers.kafka_bootstrap, raw_topic, [(b"k", b"not json")])
        [row] = await eventually(lambda: dead_letters(client), lambda d: len(d) == 1)
        await app.state.runtime.producer.stop()
        unavailable_before = replays("unavailable")
        response = await client.post(REPLAY, json={"ids": [row["id"]]})
        assert replays("unavailable") == unavailable_before + 1
        unavailable(
            response,
            REPLAY,
            "the event broker did not acknowledge every replayed message; retrying is safe, "
            "since events are stored once by event_id",
        )
        assert (await dead_letters(client))[0]["replayed_at"] is None


class TestMigration:
    async def test_rows_stored_before_keep_their_headers_in_the_new_shape(
        self, database_url: str
    ) -> None:
        migrations = resources.files("pp_ingest").joinpath("migrations")
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("CREATE SCHEMA ingest")
            await conn.execute(migrations.joinpath("001_event_log.sql").read_text())
            await conn.execute(
                "INSERT INTO ingest.dead_letters (topic, kafka_partition, kafka_offset, reason,"
                " errors, raw_value, headers) VALUES"
                " ('raw', 0, 1, 'invalid', '[]', 'x', '[[\"a\", \"1\"], [\"b\", \"2\"]]'),"
                " ('raw', 0, 2, 'invalid', '[]', 'y', '[]')"
            )
            await conn.execute(migrations.joinpath("002_dead_letter_replay.sql").read_text())
            rows = await conn.fetch(
                "SELECT headers::text, replayed_at FROM ingest.dead_letters ORDER BY kafka_offset"
            )
        finally:
            await conn.close()
        assert [orjson.loads(r["headers"]) for r in rows] == [
            [
                {"key": "a", "value": "1", "encoding": "utf-8"},
                {"key": "b", "value": "2", "encoding": "utf-8"},
            ],
            [],
        ]
        assert [r["replayed_at"] for r in rows] == [None, None]
