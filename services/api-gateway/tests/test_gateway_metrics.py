"""The gateway's RED metrics: relayed requests are answered before FastAPI's routing, so
their route template comes from the role table; the gateway's own counters add the caller's
role, and refusals are counted by reason."""

from __future__ import annotations

from prometheus_client import REGISTRY

from pp_gateway.main import create_app
from pp_shared.devstack.embedded import free_port
from pp_shared.testing.apps import running_app

from .support import bearer, gateway_settings, make_key


def requests(route: str, status: int, method: str = "POST") -> float:
    labels = {"service": "api-gateway", "method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("pp_http_requests_total", labels) or 0.0


def by_role(route: str, status: int, role: str, method: str = "GET") -> float:
    labels = {"route": route, "method": method, "status": str(status), "role": role}
    return REGISTRY.get_sample_value("pp_gateway_requests_total", labels) or 0.0


def denied(reason: str) -> float:
    return REGISTRY.get_sample_value("pp_gateway_denied_total", {"reason": reason}) or 0.0


class TestGatewayMetrics:
    async def test_requests_are_counted_by_template_and_role(self, database_url: str) -> None:
        admin = await make_key(database_url)
        ingest = await make_key(database_url, role="ingest")
        closed = f"http://127.0.0.1:{free_port()}"
        settings = gateway_settings(database_url, closed, breaker_failures=100)
        before = {
            "events": requests("/v1/events", 503),
            "rules": requests("/v1/rules/{rule_id}", 503, "GET"),
            "unmatched": requests("unmatched", 404, "GET"),
            "healthz": requests("/healthz", 200, "GET"),
            "admin rules": by_role("/v1/rules/{rule_id}", 503, "admin"),
            "ingest rules": by_role("/v1/rules/{rule_id}", 403, "ingest"),
            "anonymous": by_role("unmatched", 401, "none"),
            "role": denied("role"),
            "missing key": denied("missing key"),
            "invalid key": denied("invalid key"),
        }
        async with running_app(create_app(settings)) as client:
            assert (
                await client.post("/v1/events", json={}, headers=bearer(admin))
            ).status_code == 503
            for rule in ("r-1", "r-2"):
                answer = await client.get(f"/v1/rules/{rule}", headers=bearer(admin))
                assert answer.status_code == 503
            answer = await client.get("/v1/rules/r-3", headers=bearer(ingest))
            assert answer.status_code == 403
            answer = await client.get("/v1/nothing-here", headers=bearer(admin))
            assert answer.status_code == 404
            assert (await client.get("/v1/rules")).status_code == 401
            assert (await client.get("/v1/rules", headers=bearer("nope"))).status_code == 401
            assert (await client.get("/healthz")).status_code == 200
        assert requests("/v1/events", 503) == before["events"] + 1
        assert requests("/v1/rules/{rule_id}", 503, "GET") == before["rules"] + 2
        assert requests("unmatched", 404, "GET") == before["unmatched"] + 1
        assert requests("/healthz", 200, "GET") == before["healthz"] + 1
        assert by_role("/v1/rules/{rule_id}", 503, "admin") == before["admin rules"] + 2
        assert by_role("/v1/rules/{rule_id}", 403, "ingest") == before["ingest rules"] + 1
        assert by_role("unmatched", 401, "none") == before["anonymous"] + 2
        assert denied("role") == before["role"] + 1
        assert denied("missing key") == before["missing key"] + 1
        assert denied("invalid key") == before["invalid key"] + 1
