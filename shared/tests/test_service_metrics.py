"""Metrics every service reports from ``pp_shared.service``: its readiness checks, as of the
last scrape, and the failures of its periodic tasks."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from pp_shared.service import Runtime, ops_router
from pp_shared.settings import ServiceSettings
from pp_shared.testing.plugin import eventually


def passing(check: str) -> float | None:
    return REGISTRY.get_sample_value("pp_readiness_check_passing", {"check": check})


class TestReadinessGauge:
    async def test_a_scrape_reports_each_check_as_it_is_now(self) -> None:
        database = f"database-{uuid.uuid4().hex[:6]}"
        broker = f"broker-{uuid.uuid4().hex[:6]}"
        state = {database: True, broker: False}
        calls = 0

        async def checks() -> dict[str, bool]:
            nonlocal calls
            calls += 1
            return dict(state)

        app = FastAPI()
        app.include_router(ops_router(checks))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            exposition = (await client.get("/metrics")).text
            assert f'pp_readiness_check_passing{{check="{broker}"}} 0.0' in exposition
            assert (passing(database), passing(broker)) == (1.0, 0.0)

            state[broker] = True
            assert (await client.get("/readyz")).status_code == 200
            assert (passing(database), passing(broker)) == (1.0, 1.0)
            assert calls == 2
            # Within a second of the last check a scrape does not check again.
            await client.get("/metrics")
            assert calls == 2

    async def test_a_failing_check_does_not_fail_the_scrape(self) -> None:
        async def checks() -> dict[str, bool]:
            raise RuntimeError("no state yet")

        app = FastAPI()
        app.include_router(ops_router(checks))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert "pp_readiness_check_passing" in response.text


class TestPeriodicTaskFailures:
    async def test_each_failed_run_is_counted_from_zero(self) -> None:
        service = f"svc-{uuid.uuid4().hex[:8]}"
        labels = {"service": service, "task": "retrain"}
        runtime = Runtime(service, ServiceSettings())
        runs = 0

        async def fails_twice() -> None:
            nonlocal runs
            runs += 1
            if runs <= 2:
                raise RuntimeError("training failed")

        runtime.run_periodic("retrain", 0.01, fails_twice)
        try:
            # The series exists before the first failure, so an increase shows the first one.
            assert REGISTRY.get_sample_value("pp_periodic_task_failures_total", labels) == 0.0

            async def progress() -> int:
                return runs

            await eventually(progress, lambda n: n >= 4, timeout=5)
        finally:
            await runtime.close()
        assert REGISTRY.get_sample_value("pp_periodic_task_failures_total", labels) == 2.0
