"""The role table against the services and against every request: each route of every
service is in the table, and every route answers every role, with and without an area
restriction, exactly as the table says."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from fastapi.routing import APIRoute

from pp_gateway import api
from pp_gateway.access import (
    GATEWAY,
    GRANTS,
    ROUTES,
    Role,
    Route,
    RouteTable,
    Scoping,
    markdown,
)
from pp_gateway.main import create_app
from pp_shared.testing.apps import running_app

from .support import bearer, gateway_settings, make_key


def service_apps() -> dict[str, FastAPI]:
    from pp_classifier.main import create_app as classifier
    from pp_ingest.main import create_app as ingest
    from pp_insights.main import create_app as insights

    return {"ingest": ingest(), "classifier": classifier(), "insights": insights()}


def public_operations(app: FastAPI) -> set[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    }


class TestTheTable:
    @pytest.mark.parametrize("service", ["ingest", "classifier", "insights"])
    def test_every_public_route_of_each_service_is_in_the_table_and_no_other(
        self, service: str
    ) -> None:
        served = public_operations(service_apps()[service])
        listed = {(r.method, r.path) for r in ROUTES if r.service == service}
        assert served - listed == set(), "routes a service serves that the role table lacks"
        assert listed - served == set(), "routes in the role table that the service lacks"

    def test_the_gateways_own_routes_are_in_the_table(self) -> None:
        served = {
            (method, route.path)
            for route in api.router.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
        }
        assert served == {(r.method, r.path) for r in ROUTES if r.service == GATEWAY}

    def test_each_route_is_listed_once(self) -> None:
        keys = [(r.method, r.path) for r in ROUTES]
        assert len(keys) == len(set(keys))

    def test_roles_grant_what_the_docs_say(self) -> None:
        names = {role.value: sorted(p.value for p in GRANTS[role]) for role in Role}
        assert names == {
            "ingest": ["submit"],
            "analyst": ["read", "respond"],
            "policy_admin": ["author", "read", "respond"],
            "calibration_lead": ["calibrate", "moderators", "read", "respond"],
            "admin": [
                "administer",
                "author",
                "calibrate",
                "moderators",
                "read",
                "respond",
                "submit",
            ],
        }

    @pytest.mark.parametrize(
        ("method", "path", "template"),
        [
            ("POST", "/v1/events", "/v1/events"),
            ("POST", "/v1/events:batch", "/v1/events:batch"),
            ("POST", "/v1/dead-letters:replay", "/v1/dead-letters:replay"),
            ("GET", "/v1/breaches/17", "/v1/breaches/{breach_id}"),
            ("POST", "/v1/breaches/17/ack", "/v1/breaches/{breach_id}/ack"),
            ("GET", "/v1/rules/r%20x/versions", "/v1/rules/{rule_id}/versions"),
            ("GET", "/v1/rules/a/b", None),
            ("GET", "/v1/rules/", None),
            ("GET", "/v1/%72ules", None),
            ("PATCH", "/v1/rules/r1", None),
        ],
    )
    def test_raw_paths_match_their_template(
        self, method: str, path: str, template: str | None
    ) -> None:
        route = RouteTable().match(method, path)
        assert (route.path if route else None) == template


@dataclass
class Upstream:
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.raw_path == "/openapi.json":
            return web.Response(status=404)  # the gateway reading the services' documents
        self.seen.append((request.method, request.raw_path))
        return web.json_response({"ok": True})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    recorder = Upstream()
    server = web.Server(recorder.handle)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield recorder, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def concrete(route: Route) -> str:
    """The route's path with each parameter filled with a value its service would take."""
    path = route.path.replace("{prefix}", "ppk_aaaaaaaa")
    return re.sub(r"\{[^}]+\}", "7", path)


ALLOWED_BY_GATEWAY = {200, 201, 204, 404, 422}
"""What the gateway's own routes answer a caller that may call them, to these requests."""


class TestEveryRouteEveryRole:
    async def test_answers_follow_the_role_table(
        self, database_url: str, upstream: tuple[Upstream, str]
    ) -> None:
        recorder, url = upstream
        keys: dict[tuple[Role, str | None], str] = {}
        for role in Role:
            keys[(role, None)] = await make_key(database_url, role.value)
            keys[(role, "HATE")] = await make_key(database_url, role.value, ["HATE"])
        settings = gateway_settings(database_url, url, rate_limit_scale=1000)
        mismatches = []
        async with running_app(create_app(settings)) as client:
            for route in ROUTES:
                path = concrete(route)
                for (role, area), key in keys.items():
                    recorder.seen.clear()
                    body: dict[str, object] | None = {} if route.method in ("POST", "PUT") else None
                    answer = await client.request(
                        route.method, path, json=body, headers=bearer(key)
                    )
                    may = route.permission in GRANTS[role] and not (
                        area and route.scoping is Scoping.UNRESTRICTED
                    )
                    got = self._outcome(route, answer, recorder)
                    if got != may:
                        mismatches.append(
                            (route.method, path, role.value, area, answer.status_code)
                        )
                    if not may:
                        assert answer.status_code == 403
                        assert answer.headers["content-type"] == "application/problem+json"
                    elif area and route.scoping is Scoping.QUERY:
                        query = parse_qs(urlsplit(recorder.seen[0][1]).query)
                        assert query["area"] == ["HATE"]
        assert mismatches == []

    @staticmethod
    def _outcome(route: Route, answer: httpx.Response, recorder: Upstream) -> bool:
        if route.service == GATEWAY:
            return answer.status_code in ALLOWED_BY_GATEWAY
        return answer.status_code == 200 and len(recorder.seen) == 1

    async def test_a_scoped_key_naming_another_area_is_refused(
        self, database_url: str, upstream: tuple[Upstream, str]
    ) -> None:
        recorder, url = upstream
        key = await make_key(database_url, "analyst", ["HATE", "VBDA"])
        async with running_app(create_app(gateway_settings(database_url, url))) as client:
            refused = await client.get(
                "/v1/insights/trends?metric=volume&area=HATE&area=HEX", headers=bearer(key)
            )
            kept = await client.get(
                "/v1/insights/cards?area=VBDA&from=2026-01-01T00:00:00Z", headers=bearer(key)
            )
            added = await client.get("/v1/insights/volume?interval=day", headers=bearer(key))
        assert refused.status_code == 403
        assert refused.json()["detail"] == "this key may see the areas HATE, VBDA, not HEX"
        assert refused.json()["areas_needed"] == ["HEX"]
        assert kept.status_code == 200
        assert added.status_code == 200
        assert [target for _, target in recorder.seen] == [
            "/v1/insights/cards?area=VBDA&from=2026-01-01T00:00:00Z",
            "/v1/insights/volume?interval=day&area=HATE&area=VBDA",
        ]

    async def test_an_ingest_key_reads_nothing(
        self, database_url: str, upstream: tuple[Upstream, str]
    ) -> None:
        recorder, url = upstream
        key = await make_key(database_url, "ingest")
        reads = [r for r in ROUTES if r.method == "GET"]
        async with running_app(create_app(gateway_settings(database_url, url))) as client:
            answers = await asyncio.gather(
                *(client.get(concrete(r), headers=bearer(key)) for r in reads)
            )
            escalate = await client.post(
                "/v1/keys",
                json={"role": "admin", "owner": "me", "name": "mine"},
                headers=bearer(key),
            )
        assert {a.status_code for a in answers} == {403}
        assert escalate.status_code == 403
        assert recorder.seen == []


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/rules/preview", ["POST"]),
        ("/v1/rules/r1", ["DELETE", "GET", "PUT"]),
        ("/v1/models/retrain", ["POST"]),
        ("/v1/nothing", []),
    ],
)
def test_allow_lists_the_methods_of_the_path_itself(path: str, allow: list[str]) -> None:
    assert RouteTable().methods_at(path) == allow


def test_the_docs_show_the_table_as_it_is() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "access.md").read_text(encoding="utf-8")
    assert markdown() in doc, "regenerate docs/access.md's table: python -m pp_gateway.access"
