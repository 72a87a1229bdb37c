from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI

from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers

BATCH = "/v1/events:batch"
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}
BROKER_DID_NOT_ACKNOWLEDGE = (
    "the event broker did not acknowledge every event of the request; send the whole batch "
    "again: events it did take are recognised by their event_id"
)
Unavailable = Callable[[httpx.Response, str, str], None]
LogCounts = Callable[[], Awaitable[tuple[int, int, int]]]


class Db:
    """Queries on the ingest schema of this test's database."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def events(self) -> dict[str, dict[str, Any]]:
        rows = await self.conn.fetch("SELECT event_id, body::text FROM ingest.events")
        return {r["event_id"]: orjson.loads(r["body"]) for r in rows}

    async def conflicts(self) -> list[tuple[str, dict[str, Any]]]:
        rows = await self.conn.fetch(
            "SELECT event_id, body::text FROM ingest.conflicts ORDER BY id"
        )
        return [(r["event_id"], orjson.loads(r["body"])) for r in rows]


@pytest.fixture
async def db(database_url: str, client: httpx.AsyncClient) -> AsyncIterator[Db]:
    conn = await asyncpg.connect(database_url)
    try:
        yield Db(conn)
    finally:
        await conn.close()


@pytest.fixture
def raw_topic(topic_prefix: str) -> str:
    return topic_name(Topic.EVENTS_RAW, topic_prefix)


def esc(n: int, **over: Any) -> dict[str, Any]:
    return escalation(event_id=f"e{n}", escalation_id=f"esc-{n}", **over)


def counts(**over: int) -> dict[str, int]:
    return {"received": 0, "accepted": 0, "duplicate": 0, "rejected": 0, **over}


def statuses(answer: dict[str, Any]) -> list[tuple[int, str | None, str, str | None]]:
    """(index, event_id, status, reason) per item."""
    return [(i["index"], i.get("event_id"), i["status"], i.get("reason")) for i in answer["items"]]


class TestBatchOutcomes:
    async def test_each_item_gets_its_exact_status_and_rows(
        self,
        client: httpx.AsyncClient,
        db: Db,
        log_counts: LogCounts,
        servers: Servers,
        raw_topic: str,
    ) -> None:
        first = await client.post(BATCH, json=[esc(1), esc(2)])
        assert first.status_code == 200
        assert first.json()["counts"] == counts(received=2, accepted=2)
        await eventually(log_counts, lambda c: c == (2, 0, 0))

        bad_region = esc(90, region="Germany")
        no_id = esc(91, severity=9)
        del no_id["event_id"]
        batch = [
            esc(3),  # new
            bad_region,  # invalid
            esc(1),  # already stored, same body
            esc(2, region="FR"),  # already stored, another body
            esc(4),  # new
            esc(3),  # twice in this batch, same body
            esc(4, queue="other-queue"),  # twice in this batch, another body
            42,  # not an object
            no_id,  # invalid, id unreadable
            decision(event_id="d5", escalation_id="esc-5"),  # new
        ]
        response = await client.post(BATCH, json=batch)

        assert response.status_code == 200
        answer = response.json()
        assert answer["counts"] == counts(received=10, accepted=3, duplicate=2, rejected=5)
        assert statuses(answer) == [
            (0, "e3", "accepted", None),
            (1, "e90", "rejected", "invalid"),
            (2, "e1", "duplicate", None),
            (3, "e2", "rejected", "conflict"),
            (4, "e4", "accepted", None),
            (5, "e3", "duplicate", None),
            (6, "e4", "rejected", "conflict"),
            (7, None, "rejected", "invalid"),
            (8, None, "rejected", "invalid"),
            (9, "d5", "accepted", None),
        ]
        items = answer["items"]
        assert [e["pointer"] for e in items[1]["errors"]] == ["/region"]
        assert items[1]["errors"][0]["found"] == "Germany"
        assert items[3]["errors"] == [
            {
                "pointer": "/event_id",
                "detail": "event e2 was already accepted with a different body; this one is "
                "kept for inspection and not processed",
                "code": "conflict",
            }
        ]
        assert items[6]["errors"][0]["code"] == "conflict"
        assert [e["pointer"] for e in items[7]["errors"]] == [""]
        assert [e["pointer"] for e in items[8]["errors"]] == ["/event_id", "/severity"]
        assert "errors" not in items[0]

        await eventually(log_counts, lambda c: c == (5, 2, 0))
        stored = await db.events()
        assert sorted(stored) == ["d5", "e1", "e2", "e3", "e4"]
        assert stored["e2"]["region"] == "DE"
        assert stored["e4"]["queue"] == "hate-tier2"
        conflicts = await db.conflicts()
        assert [(eid, body.get("region"), body.get("queue")) for eid, body in conflicts] == [
            ("e2", "FR", "hate-tier2"),
            ("e4", "DE", "other-queue"),
        ]
        produced = await read_topic(servers.kafka_bootstrap, raw_topic, expect=5)
        assert sorted(orjson.loads(r.value or b"")["event_id"] for r in produced) == [
            "d5",
            "e1",
            "e2",
            "e3",
            "e4",
        ]

    async def test_resending_a_batch_stores_each_event_once(
        self, client: httpx.AsyncClient, log_counts: LogCounts
    ) -> None:
        batch = [esc(n) for n in range(1, 6)]
        first = await client.post(BATCH, json=batch)
        # Sent again at once: whether the first copies are still in flight or already in the
        # log, this process accepted them moments ago, so each is a duplicate.
        again = await client.post(BATCH, json=batch)
        assert first.json()["counts"] == counts(received=5, accepted=5)
        assert again.json()["counts"] == counts(received=5, duplicate=5)
        await eventually(log_counts, lambda c: c == (5, 0, 0))
        third = await client.post(BATCH, json=batch)
        assert third.json()["counts"] == counts(received=5, duplicate=5)
        assert await log_counts() == (5, 0, 0)

    async def test_empty_array_is_an_empty_answer(self, client: httpx.AsyncClient) -> None:
        response = await client.post(BATCH, content=b"[]", headers=JSON)
        assert response.status_code == 200
        assert response.json() == {
            "counts": counts(),
            "items": [],
        }


class TestNdjson:
    async def test_one_event_per_line(
        self, client: httpx.AsyncClient, log_counts: LogCounts
    ) -> None:
        lines = [orjson.dumps(esc(1)), orjson.dumps(esc(2, region="x")), orjson.dumps(esc(1))]
        # CRLF line ends, a blank line and a final newline are all fine.
        body = lines[0] + b"\r\n\r\n" + lines[1] + b"\n" + lines[2] + b"\n"
        response = await client.post(
            BATCH, content=body, headers={"content-type": "application/x-ndjson; charset=utf-8"}
        )
        assert response.status_code == 200
        assert statuses(response.json()) == [
            (0, "e1", "accepted", None),
            (1, "e2", "rejected", "invalid"),
            (2, "e1", "duplicate", None),
        ]
        await eventually(log_counts, lambda c: c == (1, 0, 0))

    async def test_a_line_that_is_not_json_rejects_the_request(
        self, client: httpx.AsyncClient, log_counts: LogCounts
    ) -> None:
        body = orjson.dumps(esc(1)) + b"\n{oops\n" + orjson.dumps(esc(2)) + b"\n\xff\n"
        response = await client.post(BATCH, content=body, headers=NDJSON)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["detail"] == (
            "2 line(s) of the NDJSON body are not JSON values; nothing was accepted"
        )
        assert [e["pointer"] for e in problem["errors"]] == ["/1", "/3"]
        assert problem["errors"][0]["detail"].startswith("line 2: not valid JSON")
        assert problem["errors"][1]["detail"] == "line 4: not valid UTF-8: byte 0xff at offset 0"
        assert await log_counts() == (0, 0, 0)


class TestAnswerSize:
    async def test_10000_invalid_items_list_the_first_100_errors_and_count_all(
        self, client: httpx.AsyncClient, log_counts: LogCounts
    ) -> None:
        # Three errors each: /source, /region and /severity.
        bad = [esc(n, source="", region="Germany", severity=9) for n in range(10_000)]
        body = b"\n".join(orjson.dumps(e) for e in bad)
        response = await client.post(BATCH, content=body, headers=NDJSON)

        assert response.status_code == 200
        answer = response.json()
        assert answer["counts"] == counts(received=10_000, rejected=10_000)
        assert (answer["errors_total"], answer["errors_truncated"]) == (30_000, True)
        items = answer["items"]
        assert [i["index"] for i in items] == list(range(10_000))
        assert {(i["status"], i["reason"]) for i in items} == {("rejected", "invalid")}
        assert [i["event_id"] for i in items] == [f"e{n}" for n in range(10_000)]
        # 33 items with all three errors, then the one on which the 100th falls.
        assert [len(i.get("errors", ())) for i in items[:35]] == [3] * 33 + [1, 0]
        assert [e["pointer"] for e in items[33]["errors"]] == ["/source"]
        assert sum(len(i.get("errors", ())) for i in items) == 100
        assert not any("errors" in i for i in items[34:])
        assert len(response.content) < 1_000_000
        assert await log_counts() == (0, 0, 0)

    async def test_up_to_100_errors_are_all_listed_without_a_total(
        self, client: httpx.AsyncClient
    ) -> None:
        bad = [esc(n, source="", region="Germany") for n in range(50)]
        answer = (await client.post(BATCH, json=bad)).json()
        assert sum(len(i["errors"]) for i in answer["items"]) == 100
        assert "errors_total" not in answer
        assert "errors_truncated" not in answer

    async def test_150_lines_that_are_not_json_list_100(self, client: httpx.AsyncClient) -> None:
        body = b"\n".join([b"{oops"] * 150)
        response = await client.post(BATCH, content=body, headers=NDJSON)
        assert response.status_code == 422
        problem = response.json()
        assert problem["detail"] == (
            "150 line(s) of the NDJSON body are not JSON values; nothing was accepted"
        )
        assert [e["pointer"] for e in problem["errors"]] == [f"/{i}" for i in range(100)]
        assert (problem["errors_total"], problem["errors_truncated"]) == (150, True)


class TestRequestLevelErrors:
    async def test_body_that_is_not_an_array_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(BATCH, json=esc(1))
        assert response.status_code == 422
        problem = response.json()
        assert problem["detail"] == (
            "the body must be a JSON array of events, or NDJSON sent as application/x-ndjson"
        )
        assert problem["errors"] == [
            {"pointer": "", "detail": "expected a JSON array", "found": "dict"}
        ]

    async def test_body_that_is_not_json_or_not_utf8_is_422(
        self, client: httpx.AsyncClient
    ) -> None:
        not_json = await client.post(BATCH, content=b"[{", headers=JSON)
        not_utf8 = await client.post(BATCH, content=b'[{"source": "caf\xe9"}]', headers=JSON)
        assert not_json.status_code == 422
        assert not_json.json()["detail"].startswith("the body is not valid JSON")
        assert not_utf8.status_code == 422
        assert not_utf8.json()["detail"] == ("the body is not valid UTF-8: byte 0xe9 at offset 16")

    async def test_broker_failure_is_503_and_nothing_is_reported_accepted(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        log_counts: LogCounts,
        unavailable: Unavailable,
    ) -> None:
        await app.state.runtime.producer.stop()
        response = await client.post(BATCH, json=[esc(1), esc(2)])
        unavailable(response, BATCH, BROKER_DID_NOT_ACKNOWLEDGE)
        assert await log_counts() == (0, 0, 0)


class TestDatabaseDown:
    async def test_intake_goes_on_without_the_duplicate_lookup(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        log_counts: LogCounts,
        servers: Servers,
        raw_topic: str,
        unavailable: Unavailable,
    ) -> None:
        assert (await client.post(BATCH, json=[esc(1)])).json()["counts"]["accepted"] == 1
        await eventually(log_counts, lambda c: c == (1, 0, 0))
        await app.state.runtime.pool.close()

        batch = await client.post(BATCH, json=[esc(1), esc(2)])
        single = await client.post("/v1/events", json=esc(3))
        in_batch_conflict = await client.post(BATCH, json=[esc(4), esc(4, region="FR")])

        # Without the log, a stored event is told apart from a new one only when this process
        # accepted it lately (e1); anything else is accepted, and the consumer deduplicates it
        # once the database is back.
        assert statuses(batch.json()) == [
            (0, "e1", "duplicate", None),
            (1, "e2", "accepted", None),
        ]
        assert single.status_code == 202
        # A conflict must be recorded before it is reported; without the database it is not.
        unavailable(
            in_batch_conflict,
            BATCH,
            "a conflicting event could not be recorded; nothing was accepted",
        )
        produced = await read_topic(servers.kafka_bootstrap, raw_topic, expect=3)
        assert sorted(orjson.loads(r.value or b"")["event_id"] for r in produced) == [
            "e1",
            "e2",
            "e3",
        ]


class TestLimits:
    async def test_10000_events_are_taken_and_10001_are_413(
        self, client: httpx.AsyncClient, log_counts: LogCounts
    ) -> None:
        events = [
            escalation(event_id=f"e{n}", escalation_id=f"esc-{n % 500}", text_excerpt="x" * 200)
            for n in range(10_000)
        ]
        over = await client.post(BATCH, content=orjson.dumps([*events, esc(10_000)]), headers=JSON)
        assert over.status_code == 413
        assert over.json()["detail"] == "a batch may hold at most 10000 events; this one has 10001"

        response = await client.post(BATCH, content=orjson.dumps(events), headers=JSON)
        assert response.status_code == 200
        assert response.json()["counts"]["accepted"] == 10_000
        await eventually(log_counts, lambda c: c == (10_000, 0, 0))

    async def test_body_over_10_mib_is_413(self, client: httpx.AsyncClient) -> None:
        body = b"[" + b" " * (10 * 1024 * 1024) + b"]"
        response = await client.post(BATCH, content=body, headers=JSON)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "the body may be at most 10485760 bytes"

    async def test_limits_follow_the_settings_for_ndjson_too(
        self, servers: Servers, settings: IngestSettings
    ) -> None:
        small = settings.model_copy(update={"batch_max_events": 3, "max_body_bytes": 2048})
        async with running_app(create_app(small)) as client:
            four = b"\n".join(orjson.dumps(esc(n)) for n in range(4))
            too_many = await client.post(BATCH, content=four, headers=NDJSON)
            too_big = await client.post(BATCH, content=b"[" + b" " * 2048 + b"]", headers=JSON)
            single = await client.post("/v1/events", content=b" " * 2049, headers=JSON)
        assert too_many.status_code == 413
        assert too_many.json()["detail"] == "a batch may hold at most 3 events; this one has 4"
        assert too_big.status_code == 413
        assert single.status_code == 413
