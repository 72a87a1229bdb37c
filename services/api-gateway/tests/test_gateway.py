from __future__ import annotations

from pp_gateway.main import create_app
from pp_gateway.routing import upstream_for
from pp_gateway.settings import GatewaySettings
from pp_shared.embedded import free_port
from pp_shared.testing.apps import running_app


class TestRouting:
    def test_paths_route_to_their_owning_service(self) -> None:
        s = GatewaySettings(
            ingest_url="http://i:1/", classifier_url="http://c:2", insights_url="http://n:3"
        )
        assert upstream_for(s, "events") == "http://i:1"
        assert upstream_for(s, "events:batch") == "http://i:1"
        assert upstream_for(s, "insights/volume") == "http://n:3"
        assert upstream_for(s, "taxonomy/versions/1") == "http://c:2"
        assert upstream_for(s, "admin") is None


class TestRelay:
    async def test_unreachable_upstream_is_503_with_retry_after(self) -> None:
        closed = f"http://127.0.0.1:{free_port()}"
        settings = GatewaySettings(ingest_url=closed, insights_url=closed, classifier_url=closed)
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", json={"event_id": "x"})
            ready = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["title"] == "A dependency is unavailable; retry later"
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"classifier": False, "ingest": False, "insights": False}

    async def test_unknown_path_is_404_problem(self) -> None:
        async with running_app(create_app(GatewaySettings())) as client:
            response = await client.get("/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "no API at /v1/nothing-here"

    async def test_oversized_body_is_413(self) -> None:
        settings = GatewaySettings(max_body_bytes=1024)
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", content=b"x" * 2048)
        assert response.status_code == 413
