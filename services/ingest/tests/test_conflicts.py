"""``GET /v1/conflicts``: events refused because the log holds their id with another body,
filtered and paged like the dead letters, on an ingest that answers signed callers only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from pp_ingest.event_log import repository
from pp_ingest.event_log.canonical import canonical
from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import parse_event
from pp_shared.testing.apps import running_app
from pp_shared.testing.identity import SECRET, SignedAs, analyst
from pp_shared.testing.samples import escalation

TIMES = ("2026-11-20T10:00:00+00:00", "2026-11-20T11:00:00+00:00", "2026-11-20T12:00:00+00:00")


def encoded(**over: Any) -> tuple[bytes, bytes]:
    return canonical(parse_event(orjson.dumps(escalation(**over))))


@pytest.fixture
async def client(settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"gateway_secret": SECRET}))
    async with running_app(app) as c:
        c.auth = SignedAs(analyst("alice"))
        yield c


@pytest.fixture
async def stored(client: httpx.AsyncClient, database_url: str) -> list[dict[str, Any]]:
    """Two events in the log, three conflicts (two of the first id, one of the second),
    refused at 10:00, 11:00 and 12:00; the conflicts as the API shows them."""
    first, first_sha = encoded(event_id="e-1")
    second, second_sha = encoded(event_id="e-2", region="FR")
    conflicts = [
        (*encoded(event_id="e-1", region="IT"), "e-1", first_sha),
        (*encoded(event_id="e-2", region="DE"), "e-2", second_sha),
        (*encoded(event_id="e-1", region="ES"), "e-1", first_sha),
    ]
    conn = await asyncpg.connect(database_url)
    try:
        at = datetime.fromisoformat(TIMES[0])
        rows = [("e-1", "escalation.created", "x", at, first.decode(), first_sha)]
        rows.append(("e-2", "escalation.created", "x", at, second.decode(), second_sha))
        await repository.insert_events(conn, rows)
        for body, sha, event_id, _ in conflicts:
            await repository.insert_conflicts(conn, [(event_id, body, sha)])
        for i, when in enumerate(TIMES, start=1):
            await conn.execute(
                "UPDATE ingest.conflicts SET received_at = $1 WHERE id = $2",
                datetime.fromisoformat(when),
                i,
            )
    finally:
        await conn.close()
    return [
        {
            "id": i,
            "event_id": event_id,
            "received_at": when.replace("+00:00", "Z"),
            "body_sha256": sha.hex(),
            "stored_sha256": stored_sha.hex(),
            "body": orjson.loads(body),
        }
        for i, ((body, sha, event_id, stored_sha), when) in enumerate(
            zip(conflicts, TIMES, strict=True), start=1
        )
    ]


class TestConflicts:
    async def test_every_conflict_in_arrival_order(
        self, client: httpx.AsyncClient, stored: list[dict[str, Any]]
    ) -> None:
        r = await client.get("/v1/conflicts")
        assert r.status_code == 200
        assert r.json() == {"items": stored, "next_cursor": None}
        assert r.json()["items"][0]["body"]["region"] == "IT"

    async def test_filters(self, client: httpx.AsyncClient, stored: list[dict[str, Any]]) -> None:
        by_id = await client.get("/v1/conflicts", params={"event_id": "e-1"})
        assert by_id.json() == {"items": [stored[0], stored[2]], "next_cursor": None}
        window = {"since": "2026-11-20T11:00:00Z", "until": "2026-11-20T12:00:00Z"}
        by_time = await client.get("/v1/conflicts", params=window)
        assert by_time.json() == {"items": [stored[1]], "next_cursor": None}
        none = await client.get("/v1/conflicts", params={"event_id": "e-3"})
        assert none.json() == {"items": [], "next_cursor": None}

    async def test_pages_follow_the_cursor(
        self, client: httpx.AsyncClient, stored: list[dict[str, Any]]
    ) -> None:
        first = (await client.get("/v1/conflicts", params={"limit": 2})).json()
        assert first["items"] == stored[:2]
        assert first["next_cursor"] is not None
        params = {"limit": 2, "cursor": first["next_cursor"]}
        second = (await client.get("/v1/conflicts", params=params)).json()
        assert second == {"items": stored[2:], "next_cursor": None}

    @pytest.mark.parametrize(
        ("params", "pointer"),
        [
            ({"cursor": "not-ours"}, "/query/cursor"),
            ({"limit": 0}, "/query/limit"),
            ({"limit": 1001}, "/query/limit"),
            ({"since": "2026-11-20T11:00:00"}, "/query/since"),
            ({"event_id": "a\x01b"}, "/query/event_id"),
            ({"event_id": "e" * 129}, "/query/event_id"),
        ],
    )
    async def test_bad_parameters_are_422_naming_them(
        self, client: httpx.AsyncClient, params: dict[str, Any], pointer: str
    ) -> None:
        r = await client.get("/v1/conflicts", params=params)
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == [pointer]

    async def test_unsigned_callers_are_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/conflicts", auth=None)
        assert (r.status_code, r.json()["title"]) == (401, "Authentication required")

    async def test_documented_with_typed_models(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get("/openapi.json")).json()
        operation = spec["paths"]["/v1/conflicts"]["get"]
        assert operation["operationId"] == "ingest_list_conflicts"
        assert [p["name"] for p in operation["parameters"]] == [
            "event_id",
            "since",
            "until",
            "cursor",
            "limit",
        ]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": "#/components/schemas/ConflictPage"}
        conflict = spec["components"]["schemas"]["Conflict"]
        assert conflict["required"] == [
            "id",
            "event_id",
            "received_at",
            "body_sha256",
            "stored_sha256",
            "body",
        ]
