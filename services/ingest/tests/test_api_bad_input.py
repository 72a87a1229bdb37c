"""Bad HTTP input is a clear 4xx problem document: integers outside bigint, unknown query
parameters, bodies that are not the media type a route reads, and bodies over the limit."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.testing.apps import running_app
from pp_shared.testing.samples import escalation

JSON = {"content-type": "application/json"}
TOO_BIG = "9223372036854775808"  # 2**63, one past the largest bigint
JSON_TYPES = "application/json, application/*+json"


def problem(status: int, kind: str, title: str, detail: str, instance: str, errors: Any) -> Any:
    return {
        "type": f"https://policypulse.dev/problems/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "errors": errors,
    }


def invalid(instance: str, errors: list[dict[str, Any]]) -> Any:
    return problem(
        422,
        "validation-error",
        "The request does not match the contract",
        f"{len(errors)} field(s) failed validation",
        instance,
        errors,
    )


def unsupported(instance: str, found: str | None, expected: str = JSON_TYPES) -> Any:
    error: dict[str, Any] = {
        "pointer": "/headers/content-type",
        "detail": "missing" if found is None else "not a media type this endpoint reads",
        "expected": expected,
    }
    if found is not None:
        error["found"] = found
    return problem(
        415,
        "unsupported-media-type",
        "The body's media type is not one this endpoint reads",
        f"the Content-Type must be one of: {expected}",
        instance,
        [error],
    )


class TestIntegersOutsideBigint:
    async def test_dead_letter_id(self, client: httpx.AsyncClient) -> None:
        r = await client.get(f"/v1/dead-letters/{TOO_BIG}")
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == invalid(
            f"/v1/dead-letters/{TOO_BIG}",
            [
                {
                    "pointer": "/path/dead_letter_id",
                    "detail": "Input should be less than or equal to 9007199254740991",
                    "found": TOO_BIG,
                }
            ],
        )

    async def test_replay_ids(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/dead-letters:replay", content=b'{"ids": [7, %s, 0]}' % TOO_BIG.encode(),
            headers=JSON,
        )  # fmt: skip
        assert r.status_code == 422
        assert r.json() == invalid(
            "/v1/dead-letters:replay",
            [
                {
                    "pointer": "/body/ids/1",
                    "detail": "Input should be less than or equal to 9007199254740991",
                    "found": 2**63,
                },
                {
                    "pointer": "/body/ids/2",
                    "detail": "Input should be greater than or equal to 1",
                    "found": 0,
                },
            ],
        )

    @pytest.mark.parametrize("last_id", [TOO_BIG, "0", "-1"])
    async def test_a_forged_cursor(self, client: httpx.AsyncClient, last_id: str) -> None:
        cursor = base64.urlsafe_b64encode(f"dl:{last_id}".encode()).decode().rstrip("=")
        r = await client.get("/v1/dead-letters", params={"cursor": cursor})
        assert r.status_code == 422
        assert r.json() == problem(
            422,
            "validation-error",
            "The request does not match the contract",
            "the cursor is not one this API returned",
            "/v1/dead-letters",
            [{"pointer": "/query/cursor", "detail": "pass next_cursor from the previous page"}],
        )


class TestUnknownQueryParameters:
    async def test_a_misspelt_filter_is_refused(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/dead-letters", params={"reasn": "invalid", "bogus": "1"})
        expected = "reason, since, until, replayed, cursor, limit"
        assert r.status_code == 422
        assert r.json() == problem(
            422,
            "validation-error",
            "The request does not match the contract",
            "2 unknown query parameter(s)",
            "/v1/dead-letters",
            [
                {"pointer": "/query/reasn", "detail": "unknown parameter", "expected": expected},
                {"pointer": "/query/bogus", "detail": "unknown parameter", "expected": expected},
            ],
        )

    async def test_on_a_single_dead_letter_and_the_probes(self, client: httpx.AsyncClient) -> None:
        one = await client.get("/v1/dead-letters/1", params={"verbose": "1"})
        ready = await client.get("/readyz", params={"x": "1"})
        assert one.json()["errors"] == [
            {"pointer": "/query/verbose", "detail": "unknown parameter",
             "expected": "no query parameters"}
        ]  # fmt: skip
        assert ready.status_code == 422


class TestMediaTypes:
    @pytest.mark.parametrize(
        "headers", [{"content-type": "text/plain"}, {}], ids=["text/plain", "none"]
    )
    async def test_a_single_event_must_be_sent_as_json(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        r = await client.post("/v1/events", content=orjson.dumps(escalation()), headers=headers)
        assert r.status_code == 415
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == unsupported("/v1/events", headers.get("content-type"))

    async def test_a_single_event_as_json_with_a_charset_is_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.post(
            "/v1/events",
            content=orjson.dumps(escalation()),
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert r.status_code == 202

    async def test_batch_reads_json_and_ndjson_only(self, client: httpx.AsyncClient) -> None:
        line = orjson.dumps(escalation())
        text = await client.post(
            "/v1/events:batch", content=b"[" + line + b"]", headers={"content-type": "text/plain"}
        )
        ndjson = await client.post(
            "/v1/events:batch", content=line, headers={"content-type": "application/ndjson"}
        )
        assert text.status_code == 415
        assert text.json() == unsupported(
            "/v1/events:batch",
            "text/plain",
            f"{JSON_TYPES}, application/ndjson, application/x-ndjson",
        )
        assert ndjson.status_code == 200
        assert ndjson.json()["counts"]["accepted"] == 1

    async def test_dsa_import_reads_json_and_csv_only(self, client: httpx.AsyncClient) -> None:
        form = await client.post(
            "/v1/imports/dsa",
            content=b"a=1",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert form.json() == unsupported(
            "/v1/imports/dsa",
            "application/x-www-form-urlencoded",
            f"{JSON_TYPES}, application/csv, text/csv",
        )

    async def test_replay_refuses_a_form(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/dead-letters:replay",
            content=b"ids=1",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 415


class TestBodyLimit:
    async def test_every_route_caps_its_body(self, settings: IngestSettings) -> None:
        small = settings.model_copy(update={"max_body_bytes": 2048})
        body = orjson.dumps({"ids": list(range(1, 600))})
        assert len(body) > 2048
        async with running_app(create_app(small)) as client:
            r = await client.post("/v1/dead-letters:replay", content=body, headers=JSON)
        assert r.status_code == 413
        assert r.json() == {
            "type": "https://policypulse.dev/problems/payload-too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": "the body may be at most 2048 bytes",
            "instance": "/v1/dead-letters:replay",
        }


class TestEventTypeOfAnyShape:
    @pytest.mark.parametrize("event_type", [["decision.made"], {"a": 1}, 7, None])
    async def test_is_a_422_on_every_route_that_takes_events(
        self, client: httpx.AsyncClient, event_type: Any
    ) -> None:
        bad = {**escalation(), "event_type": event_type}
        single = await client.post("/v1/events", json=bad)
        batch = await client.post("/v1/events:batch", json=[bad])
        assert single.status_code == 422, single.text
        assert single.json()["errors"][0]["pointer"] == "/event_type"
        assert batch.status_code == 200, batch.text
        assert batch.json()["items"][0]["reason"] == "invalid"
