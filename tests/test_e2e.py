"""The four services as real processes on real servers, driven through the public gateway."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pp_shared.embedded import free_port
from pp_shared.stack import ServiceGroup
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import appeal, decision, escalation, qa_review

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(service_env: dict[str, str], tmp_path: Path) -> AsyncIterator[ServiceGroup]:
    env = {**os.environ, **service_env, "PYTHONUNBUFFERED": "1"}
    names = ("ingest", "classifier", "insights", "api-gateway")
    group = ServiceGroup(
        env, log_dir=tmp_path / "logs", ports={n: free_port() for n in names}, out=lambda _msg: None
    )
    try:
        group.start(timeout=60)
        yield group
    finally:
        group.stop()


def events() -> list[dict[str, Any]]:
    """Four escalations (2 HATE in hour 10, 1 VBDA in hour 10, 1 unclassified in hour 11)
    plus a decision, an appeal and a QA review, and one duplicate."""
    return [
        escalation(event_id="e1", escalation_id="esc-1"),
        escalation(
            event_id="e2",
            escalation_id="esc-2",
            occurred_at="2026-11-20T10:45:00Z",
            suggested_clause_id="HATE.SLURS",
            region="FR",
        ),
        escalation(event_id="e3", escalation_id="esc-3", suggested_clause_id="VBDA.THREATS"),
        escalation(
            event_id="e4",
            escalation_id="esc-4",
            occurred_at="2026-11-20T11:10:00Z",
            suggested_clause_id=None,
        ),
        decision(event_id="d1", escalation_id="esc-1"),
        appeal(event_id="a1", escalation_id="esc-1"),
        qa_review(event_id="q1", escalation_id="esc-1"),
        escalation(event_id="e1", escalation_id="esc-1"),  # duplicate
    ]


class TestPipeline:
    async def test_events_through_gateway_yield_exact_volume(self, stack: ServiceGroup) -> None:
        gateway = stack.child("api-gateway").url
        async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
            for event in events():
                response = await client.post("/v1/events", json=event)
                assert response.status_code == 202, response.text

            async def by_area() -> list[dict[str, Any]]:
                r = await client.get(
                    "/v1/insights/volume", params={"interval": "hour", "group_by": "area"}
                )
                assert r.status_code == 200
                rows: list[dict[str, Any]] = r.json()["rows"]
                return rows

            rows = await eventually(by_area, lambda rows: sum(r["volume"] for r in rows) == 4)
            assert rows == [
                {"bucket": "2026-11-20T10:00:00Z", "area": "HATE", "volume": 2},
                {"bucket": "2026-11-20T10:00:00Z", "area": "VBDA", "volume": 1},
                {"bucket": "2026-11-20T11:00:00Z", "area": "unclassified", "volume": 1},
            ]
            daily = await client.get(
                "/v1/insights/volume", params={"interval": "day", "group_by": ["area", "region"]}
            )
            assert daily.json()["rows"] == [
                {"bucket": "2026-11-20T00:00:00Z", "area": "HATE", "region": "DE", "volume": 1},
                {"bucket": "2026-11-20T00:00:00Z", "area": "HATE", "region": "FR", "volume": 1},
                {"bucket": "2026-11-20T00:00:00Z", "area": "VBDA", "region": "DE", "volume": 1},
                {
                    "bucket": "2026-11-20T00:00:00Z",
                    "area": "unclassified",
                    "region": "DE",
                    "volume": 1,
                },
            ]
            ready = await client.get("/readyz")
            assert ready.json() == {
                "status": "ready",
                "checks": {"classifier": True, "ingest": True, "insights": True},
            }
            metrics = (await client.get("/metrics")).text
            assert "python_gc_objects_collected_total" in metrics

    async def test_crashed_service_is_reported_and_restarted(self, stack: ServiceGroup) -> None:
        messages: list[str] = []
        stack.say = messages.append
        classifier = stack.child("classifier")
        assert classifier.process is not None
        os.kill(classifier.process.pid, signal.SIGKILL)

        async def restarted() -> bool:
            stack.check_and_restart()
            proc = classifier.process
            if proc is None or proc.poll() is not None:
                return False
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    return (await client.get(f"{classifier.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(restarted, lambda ok: ok, timeout=60, interval=0.2)
        assert classifier.restarts == 1
        assert messages[0].startswith("classifier exited with code -9; restarting in 1 s")
        assert messages[1] == "restarted classifier (restart #1)"
