from __future__ import annotations

from pp_gateway.main import create_app
from pp_shared.devstack.embedded import free_port
from pp_shared.testing.apps import running_app

from .support import bearer, gateway_settings, make_key


class TestRelay:
    async def test_unreachable_upstream_is_503_with_retry_after(self, database_url: str) -> None:
        key = await make_key(database_url)
        closed = f"http://127.0.0.1:{free_port()}"
        settings = gateway_settings(database_url, closed)
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", json={"event_id": "x"}, headers=bearer(key))
            ready = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["title"] == "A dependency is unavailable; retry later"
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"classifier": False, "ingest": False, "insights": False}

    async def test_a_failing_service_opens_its_breaker(self, database_url: str) -> None:
        key = await make_key(database_url)
        closed = f"http://127.0.0.1:{free_port()}"
        settings = gateway_settings(
            database_url, closed, breaker_failures=3, breaker_cooldown_seconds=60
        )
        async with running_app(create_app(settings)) as client:
            answers = [await client.get("/v1/rules", headers=bearer(key)) for _ in range(5)]
            other = await client.get("/v1/taxonomy", headers=bearer(key))
        reasons = [a.json()["reason"] for a in answers]
        assert reasons == ["ClientConnectorError"] * 3 + ["circuit open"] * 2
        assert all(a.status_code == 503 for a in answers)
        assert 55 <= int(answers[-1].headers["retry-after"]) <= 60
        # Another service's breaker is its own.
        assert other.json()["reason"] == "ClientConnectorError"

    async def test_unknown_path_is_404_problem(self, database_url: str) -> None:
        key = await make_key(database_url)
        async with running_app(create_app(gateway_settings(database_url))) as client:
            response = await client.get("/v1/nothing-here", headers=bearer(key))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "no API at /v1/nothing-here"

    async def test_oversized_body_is_413(self, database_url: str) -> None:
        key = await make_key(database_url)
        settings = gateway_settings(database_url, max_body_bytes=1024)
        async with running_app(create_app(settings)) as client:
            response = await client.post("/v1/events", content=b"x" * 2048, headers=bearer(key))
        assert response.status_code == 413

    async def test_a_single_event_may_not_be_larger_than_a_mebibyte(
        self, database_url: str
    ) -> None:
        key = await make_key(database_url)
        async with running_app(create_app(gateway_settings(database_url))) as client:
            response = await client.post(
                "/v1/events", content=b"x" * (1024 * 1024 + 1), headers=bearer(key)
            )
        assert response.status_code == 413


class TestCors:
    async def test_off_by_default_and_allowed_origins_when_set(self, database_url: str) -> None:
        preflight = {
            "Origin": "https://console.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        }
        async with running_app(create_app(gateway_settings(database_url))) as client:
            off = await client.options("/v1/rules", headers=preflight)
        settings = gateway_settings(database_url, cors_origins=["https://console.example.org"])
        async with running_app(create_app(settings)) as client:
            on = await client.options("/v1/rules", headers=preflight)
            other = await client.options(
                "/v1/rules", headers={**preflight, "Origin": "https://evil.example"}
            )
        assert "access-control-allow-origin" not in off.headers
        assert on.status_code == 200
        assert on.headers["access-control-allow-origin"] == "https://console.example.org"
        assert "authorization" in on.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-origin" not in other.headers
