"""The shared RED middleware: each request counted once under its route template, method and
status, and timed under its template and method."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from pp_shared.http_metrics import UNMATCHED, HttpMetrics


def requests(service: str, method: str, route: str, status: int) -> float:
    value = REGISTRY.get_sample_value(
        "pp_http_requests_total",
        {"service": service, "method": method, "route": route, "status": str(status)},
    )
    return value or 0.0


def timed(service: str, method: str, route: str) -> float:
    value = REGISTRY.get_sample_value(
        "pp_http_request_duration_seconds_count",
        {"service": service, "method": method, "route": route},
    )
    return value or 0.0


def app_for(service: str) -> HttpMetrics:
    """A FastAPI app behind a handler that answers ``/raw/*`` before routing, as the
    gateway's relay does, both behind the middleware."""
    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    async def before_routing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith("/raw/"):
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    def raw_route(scope: Scope) -> str | None:
        return "/raw/{rest}" if scope["path"].startswith("/raw/") else None

    return HttpMetrics(before_routing, service=service, route_of=raw_route)


@pytest.fixture
def service() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(service: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


class TestHttpMetrics:
    async def test_ids_are_counted_under_the_route_template(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        for thing in ("a", "b", "c"):
            assert (await client.get(f"/v1/things/{thing}")).status_code == 200
        assert requests(service, "GET", "/v1/things/{thing_id}", 200) == 3
        assert timed(service, "GET", "/v1/things/{thing_id}") == 3

    async def test_unknown_paths_share_one_label(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        for path in ("/nope", "/v1/x/y/z", "/%00"):
            assert (await client.get(path)).status_code == 404
        assert requests(service, "GET", UNMATCHED, 404) == 3

    async def test_wrong_method_keeps_the_template(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        assert (await client.delete("/v1/things/a")).status_code == 405
        assert requests(service, "DELETE", "/v1/things/{thing_id}", 405) == 1

    async def test_unknown_methods_are_other(self, client: httpx.AsyncClient, service: str) -> None:
        assert (await client.request("BREW", "/v1/things/a")).status_code == 405
        assert requests(service, "other", "/v1/things/{thing_id}", 405) == 1

    async def test_an_exception_counts_as_500(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        assert (await client.get("/boom")).status_code == 500
        assert requests(service, "GET", "/boom", 500) == 1
        assert timed(service, "GET", "/boom") == 1

    async def test_requests_answered_before_routing_use_route_of(
        self, client: httpx.AsyncClient, service: str
    ) -> None:
        assert (await client.post("/raw/1/2")).status_code == 202
        assert requests(service, "POST", "/raw/{rest}", 202) == 1
