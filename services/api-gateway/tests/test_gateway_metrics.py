"""The gateway's RED metrics: relayed requests are answered before FastAPI's routing, so
their route template comes from the routing table."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from pp_gateway.main import create_app, relayed_route
from pp_gateway.settings import GatewaySettings
from pp_shared.embedded import free_port
from pp_shared.testing.apps import running_app


def scope(raw_path: bytes) -> dict[str, Any]:
    return {"type": "http", "path": raw_path.decode("latin-1"), "raw_path": raw_path}


def requests(route: str, status: int, method: str = "POST") -> float:
    labels = {"service": "api-gateway", "method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("pp_http_requests_total", labels) or 0.0


class TestRelayedRoute:
    @pytest.mark.parametrize(
        ("raw_path", "route"),
        [
            (b"/v1/events", "/v1/events"),
            (b"/v1/events:batch", "/v1/events:batch"),
            (b"/v1/insights/trends", "/v1/insights/{path}"),
            (b"/v1/breaches/17/ack", "/v1/breaches/{path}"),
            (b"/v1/dead-letters/", "/v1/dead-letters/{path}"),
            # Only the raw path counts: an encoded first segment is not a route.
            (b"/v1/%72ules", None),
            (b"/v1/nothing-here", None),
            (b"/v1/", None),
            (b"/healthz", None),
        ],
    )
    def test_template_of_a_relayed_path(self, raw_path: bytes, route: str | None) -> None:
        assert relayed_route(scope(raw_path)) == route


class TestGatewayMetrics:
    async def test_relayed_and_unknown_paths_are_counted_by_template(self) -> None:
        closed = f"http://127.0.0.1:{free_port()}"
        settings = GatewaySettings(ingest_url=closed, insights_url=closed, classifier_url=closed)
        before = {
            "events": requests("/v1/events", 503),
            "rules": requests("/v1/rules/{path}", 503, "GET"),
            "unmatched": requests("unmatched", 404, "GET"),
            "healthz": requests("/healthz", 200, "GET"),
        }
        async with running_app(create_app(settings)) as client:
            assert (await client.post("/v1/events", json={})).status_code == 503
            assert (await client.get("/v1/rules/r-1")).status_code == 503
            assert (await client.get("/v1/rules/r-2")).status_code == 503
            assert (await client.get("/v1/nothing-here")).status_code == 404
            assert (await client.get("/healthz")).status_code == 200
        assert requests("/v1/events", 503) == before["events"] + 1
        assert requests("/v1/rules/{path}", 503, "GET") == before["rules"] + 2
        assert requests("unmatched", 404, "GET") == before["unmatched"] + 1
        assert requests("/healthz", 200, "GET") == before["healthz"] + 1
