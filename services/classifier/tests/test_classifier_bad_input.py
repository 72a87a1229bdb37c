"""Bad HTTP input is a clear 4xx problem document: control characters in free text, versions
whose parts do not fit the database, unknown query parameters, writes that are not JSON and
bodies over the limit."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy.document import load_taxonomy
from pp_shared.db import apply_migrations, create_pool
from pp_shared.service import Runtime

JSON = {"content-type": "application/json"}
PUBLISH = "/v1/taxonomy/versions"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The classifier's API on a migrated database, without its consumer and model layer."""
    pool = await create_pool(database_url)
    try:
        await apply_migrations(pool, schema="classifier", package="pp_classifier")
        settings = ClassifierSettings(database_url=database_url)
        app = create_app(settings)
        runtime = Runtime("classifier", settings)
        runtime.pool = pool
        app.state.runtime = runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
    finally:
        await pool.close()


def taxonomy(**over: Any) -> dict[str, Any]:
    data = copy.deepcopy(load_taxonomy().model_dump(mode="json"))
    data.update(over)
    return data


def errors(r: httpx.Response) -> list[tuple[str, str]]:
    return [(e["pointer"], e["detail"]) for e in r.json()["errors"]]


class TestControlCharacters:
    async def test_published_by_is_one_line(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            PUBLISH, params={"published_by": "ops\x1b[8m"}, json=taxonomy(), headers=JSON
        )
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"] == [
            {
                "pointer": "/query/published_by",
                "detail": "control character U+001B at position 3",
                "expected": "a string without control characters",
                "found": "ops\x1b[8m",
            }
        ]
        assert (await client.get("/v1/taxonomy/versions")).json() == []

    async def test_titles_and_terms_are_one_line_descriptions_may_break(
        self, client: httpx.AsyncClient
    ) -> None:
        data = taxonomy()
        clause = data["areas"][0]["clauses"][0]
        clause["title"] = "Attacks\non race"
        clause["lexicon"]["en"][0] = "slur\t"
        clause["description"] = clause["description"] + "\n\tSee the guidance.\x00"
        r = await client.post(PUBLISH, json=data, headers=JSON)
        assert r.status_code == 422
        length = len(clause["description"]) - 1
        assert errors(r) == [
            ("/areas/0/clauses/0/title", "control character U+000A at position 7"),
            ("/areas/0/clauses/0/description", f"control character U+0000 at position {length} "
                                               "(only line feed and tab are allowed here)"),
            ("/areas/0/clauses/0/lexicon/en/0", "control character U+0009 at position 4"),
        ]  # fmt: skip

    async def test_a_multi_line_description_is_published(self, client: httpx.AsyncClient) -> None:
        data = taxonomy()
        data["description"] = data["description"] + "\n\n\tRevised for the launch."
        r = await client.post(PUBLISH, json=data, headers=JSON)
        assert (r.status_code, r.json()["status"]) == (201, "published")


class TestVersions:
    async def test_a_patch_past_the_database_integer_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.post(PUBLISH, json=taxonomy(version="2026.11.9999999999"), headers=JSON)
        assert r.status_code == 422
        assert [p for p, _ in errors(r)] == ["/version"]
        fits = await client.post(PUBLISH, json=taxonomy(version="2026.11.999999999"), headers=JSON)
        assert fits.status_code == 201


class TestUnknownQueryParameters:
    @pytest.mark.parametrize(
        ("path", "params", "expected"),
        [
            ("/v1/taxonomy", {"version": "2026.11.0"}, "no query parameters"),
            ("/v1/taxonomy/diff", {"from": "a", "to": "b", "form": "a"}, "from, to"),
            ("/v1/models", {"status": "active"}, "no query parameters"),
        ],
    )
    async def test_are_refused(
        self, client: httpx.AsyncClient, path: str, params: dict[str, str], expected: str
    ) -> None:
        r = await client.get(path, params=params)
        assert r.status_code == 422
        (unknown,) = [n for n in params if n not in ("from", "to")]
        assert r.json()["errors"] == [
            {"pointer": f"/query/{unknown}", "detail": "unknown parameter", "expected": expected}
        ]

    async def test_on_writes_too(self, client: httpx.AsyncClient) -> None:
        r = await client.post(PUBLISH, params={"by": "ops"}, json=taxonomy(), headers=JSON)
        assert r.json()["errors"] == [
            {"pointer": "/query/by", "detail": "unknown parameter", "expected": "published_by"}
        ]


class TestWrites:
    async def test_a_taxonomy_sent_as_a_form_or_text_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        body = orjson.dumps(taxonomy())
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            r = await client.post(PUBLISH, content=body, headers={"content-type": content_type})
            assert r.status_code == 415
            assert r.json()["errors"][0]["found"] == content_type
        assert (await client.get("/v1/taxonomy/versions")).json() == []

    async def test_retraining_needs_a_json_request(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/v1/models/retrain")
        assert r.status_code == 415
        assert r.json()["errors"] == [
            {
                "pointer": "/headers/content-type",
                "detail": "missing",
                "expected": "application/json, application/*+json",
            }
        ]

    async def test_a_body_over_a_mebibyte_is_413(self, client: httpx.AsyncClient) -> None:
        data = taxonomy(description="x" * (1024 * 1024))
        r = await client.post(PUBLISH, json=data, headers=JSON)
        assert r.status_code == 413
        assert r.json()["detail"] == "the body may be at most 1048576 bytes"
