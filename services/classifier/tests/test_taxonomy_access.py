"""Taxonomies as the authenticated caller sees them: a key restricted to policy areas reads
only their clauses (taxonomy, versions, diffs), a version is published by the key's owner,
and ``policypulse taxonomy publish`` works through a gateway with a key and against a
classifier without a gateway secret."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy import service as taxonomy_service
from pp_classifier.taxonomy.document import load_taxonomy
from pp_shared.db import Pool, apply_migrations, create_pool
from pp_shared.devstack.cli import main
from pp_shared.devstack.embedded import free_port
from pp_shared.identity import Identity
from pp_shared.service import Runtime
from pp_shared.testing.identity import SECRET, SignedAs, analyst, policy_admin, signed_headers

SEED = "2026.11.0"
JSON = {"content-type": "application/json"}
HATE = SignedAs(analyst("hugo", "HATE"))
ADMIN = SignedAs(policy_admin("pat"))


def next_version() -> dict[str, Any]:
    """2026.11.1: a HATE clause retitled, a VBDA clause removed."""
    data = copy.deepcopy(load_taxonomy().model_dump(mode="json"))
    data["version"] = "2026.11.1"
    areas = {a["id"]: a for a in data["areas"]}
    areas["HATE"]["clauses"][0]["title"] = "Attacks on race (revised)"
    areas["VBDA"]["clauses"].pop()
    return data


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    p = await create_pool(database_url)
    try:
        await apply_migrations(p, schema="classifier", package="pp_classifier")
        await taxonomy_service.publish_seed(p)
        yield p
    finally:
        await p.close()


def app_on(pool: Pool, database_url: str, secret: SecretStr | None) -> Any:
    settings = ClassifierSettings(database_url=database_url, gateway_secret=secret)
    app = create_app(settings)
    runtime = Runtime("classifier", settings)
    runtime.pool = pool
    app.state.runtime = runtime
    return app


@pytest.fixture
async def client(pool: Pool, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The classifier's API with a gateway secret, its requests signed as an admin's."""
    transport = httpx.ASGITransport(app=app_on(pool, database_url, SECRET))
    async with httpx.AsyncClient(transport=transport, base_url="http://t", auth=ADMIN) as c:
        yield c


def areas_of(body: dict[str, Any]) -> list[str]:
    return [a["id"] for a in body["areas"]]


class TestScopedReads:
    async def test_a_scoped_key_reads_only_its_areas_clauses(
        self, client: httpx.AsyncClient
    ) -> None:
        full = (await client.get("/v1/taxonomy")).json()
        assert areas_of(full) == ["HATE", "VBDA", "HEX", "INA"]
        for path in ("/v1/taxonomy", f"/v1/taxonomy/versions/{SEED}"):
            r = await client.get(path, auth=HATE)
            assert r.status_code == 200
            assert r.json() == {**full, "areas": [full["areas"][0]]}
            clauses = [c["id"] for a in r.json()["areas"] for c in a["clauses"]]
            assert len(clauses) == 16
            assert all(c.startswith("HATE.") for c in clauses)
        two = SignedAs(analyst("ines", "INA", "HATE"))
        assert areas_of((await client.get("/v1/taxonomy", auth=two)).json()) == ["HATE", "INA"]

    async def test_a_key_of_no_area_in_the_taxonomy_is_403(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/taxonomy", auth=SignedAs(analyst("x", "CSAM")))
        assert (r.status_code, r.json()) == (
            403,
            {
                "type": "https://policypulse.dev/problems/forbidden",
                "title": "Not allowed for this key",
                "status": 403,
                "detail": "taxonomy 2026.11.0 has no area this key may see (CSAM)",
                "instance": "/v1/taxonomy",
            },
        )

    async def test_a_diff_names_only_the_keys_areas_clauses(
        self, client: httpx.AsyncClient
    ) -> None:
        published = await client.post("/v1/taxonomy/versions", json=next_version(), headers=JSON)
        assert published.status_code == 201
        params = {"from": SEED, "to": "2026.11.1"}
        full = (await client.get("/v1/taxonomy/diff", params=params)).json()
        hate_clause = next_version()["areas"][0]["clauses"][0]["id"]
        vbda_clause = load_taxonomy().area("VBDA").clauses[-1].id
        assert full == {
            "old_version": SEED,
            "new_version": "2026.11.1",
            "added": [],
            "removed": [vbda_clause],
            "changed": {hate_clause: ["title"]},
        }
        scoped = await client.get("/v1/taxonomy/diff", params=params, auth=HATE)
        assert scoped.json() == {**full, "removed": []}
        vbda = SignedAs(analyst("vera", "VBDA"))
        assert (await client.get("/v1/taxonomy/diff", params=params, auth=vbda)).json() == {
            **full,
            "changed": {},
        }


class TestPublisher:
    async def test_the_publisher_is_the_keys_owner(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/v1/taxonomy/versions", json=next_version(), headers=JSON)
        assert (r.status_code, r.json()) == (
            201,
            {"version": "2026.11.1", "status": "published", "clauses": 47},
        )
        listed = (await client.get("/v1/taxonomy/versions")).json()
        assert [(v["version"], v["published_by"]) for v in listed] == [
            ("2026.11.1", "pat"),
            (SEED, "seed"),
        ]

    async def test_published_by_is_refused_through_the_gateway(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.post(
            "/v1/taxonomy/versions",
            params={"published_by": "someone-else"},
            json=next_version(),
            headers=JSON,
        )
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {
                "pointer": "/query/published_by",
                "detail": "leave it out: the version is recorded as published by pat",
            }
        ]

    async def test_a_scoped_key_may_not_publish(self, client: httpx.AsyncClient) -> None:
        scoped = SignedAs(policy_admin("hana", "HATE"))
        r = await client.post(
            "/v1/taxonomy/versions", json=next_version(), headers=JSON, auth=scoped
        )
        assert r.status_code == 403
        assert r.json()["detail"] == (
            "publishing a taxonomy changes every area: a key restricted to areas may not"
        )
        assert len((await client.get("/v1/taxonomy/versions")).json()) == 1


class TestGatewaySecret:
    async def test_unsigned_wrongly_signed_and_stale_callers_are_401(
        self, client: httpx.AsyncClient
    ) -> None:
        me = Identity("pat", "policy_admin", "pp_test02", None)
        wrong = SecretStr("not-the-gateway-secret-0123456789")
        for headers in (
            {},
            signed_headers(me, "GET", "/v1/taxonomy", secret=wrong),
            signed_headers(me, "GET", "/v1/taxonomy", now=time.time() - 3600),
        ):
            r = await client.get("/v1/taxonomy", headers=headers, auth=None)
            assert (r.status_code, r.json()["type"]) == (
                401,
                "https://policypulse.dev/problems/unauthorized",
            )
        signed = signed_headers(me, "GET", "/v1/taxonomy")
        assert (await client.get("/v1/taxonomy", headers=signed, auth=None)).status_code == 200

    async def test_without_a_secret_published_by_names_the_publisher(
        self, pool: Pool, database_url: str
    ) -> None:
        transport = httpx.ASGITransport(app=app_on(pool, database_url, None))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post(
                "/v1/taxonomy/versions",
                params={"published_by": "ops"},
                json=next_version(),
                headers=JSON,
            )
            assert r.status_code == 201
            listed = (await c.get("/v1/taxonomy/versions")).json()
        assert [v["published_by"] for v in listed] == ["ops", "seed"]


KEY = "pp_test_key_0123456789"


@contextlib.asynccontextmanager
async def front(app: Any, *, gateway: bool) -> AsyncIterator[str]:
    """An HTTP server before ``app``. As the gateway (``gateway``): it answers 401 without
    ``Authorization: Bearer KEY`` and relays with the key's owner (``pat``) signed; else it
    relays requests as they are (a classifier reached directly)."""

    async def relay(request: web.Request) -> web.Response:
        auth: httpx.Auth | None = None
        if gateway:
            if request.headers.get("authorization") != f"Bearer {KEY}":
                return web.json_response({"detail": "no key"}, status=401)
            auth = ADMIN
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", auth=auth) as c:
            answer = await c.request(
                request.method,
                request.rel_url.path,
                params=list(request.rel_url.query.items()),
                content=await request.read(),
                headers={"content-type": request.headers.get("content-type", "")},
            )
        return web.Response(
            status=answer.status_code, body=answer.content, content_type="application/json"
        )

    server = web.Application()
    server.router.add_route("*", "/{tail:.*}", relay)
    runner = web.AppRunner(server, handle_signals=False, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def version_file(directory: Path) -> Path:
    path = directory / "taxonomy-2026.11.1.json"
    path.write_bytes(orjson.dumps(next_version()))
    return path


def to_api(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """The commands' API is ``url``, without a key."""
    monkeypatch.setenv("PP_API_URL", url)
    monkeypatch.delenv("PP_API_KEY", raising=False)


class TestPublishCommand:
    async def test_through_the_gateway_with_a_key(
        self,
        pool: Pool,
        database_url: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        path = version_file(tmp_path)
        async with front(app_on(pool, database_url, SECRET), gateway=True) as url:
            to_api(monkeypatch, url)
            args = ["taxonomy", "publish", str(path)]
            assert await asyncio.to_thread(main, args) == 1
            assert capsys.readouterr().err == (
                "policypulse taxonomy: 401 no key\n"
                "  set PP_API_URL to the gateway and PP_API_KEY to an API key\n"
            )
            monkeypatch.setenv("PP_API_KEY", KEY)
            assert await asyncio.to_thread(main, [*args, "--by", "ops"]) == 2
            assert "--by is for a classifier reached without a key" in capsys.readouterr().err
            assert await asyncio.to_thread(main, args) == 0
        assert '"status": "published"' in capsys.readouterr().out
        versions = await taxonomy_service.versions(pool)
        assert [(v.version, v.published_by) for v in versions] == [
            ("2026.11.1", "pat"),
            (SEED, "seed"),
        ]

    async def test_directly_to_a_classifier_without_a_secret(
        self,
        pool: Pool,
        database_url: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        path = version_file(tmp_path)
        async with front(app_on(pool, database_url, None), gateway=False) as url:
            to_api(monkeypatch, url)
            args = ["taxonomy", "publish", str(path), "--by", "ops"]
            assert await asyncio.to_thread(main, args) == 0
        assert '"version": "2026.11.1"' in capsys.readouterr().out
        versions = await taxonomy_service.versions(pool)
        assert [v.published_by for v in versions] == ["ops", "seed"]
