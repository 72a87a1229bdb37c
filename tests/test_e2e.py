"""The four services as real processes on real servers, driven through the public gateway."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing.apps import bearer, running_stack
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import appeal, decision, escalation, qa_review

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(service_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceGroup]:
    with running_stack(service_env, tmp_path / "logs") as group:
        yield group


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
        async with httpx.AsyncClient(base_url=gateway, timeout=10, headers=bearer(stack)) as client:
            *first, again = events()
            for event in first:
                response = await client.post("/v1/events", json=event)
                assert response.status_code == 202, response.text
            # 200 once the first copy is stored, 202 while it is still in flight.
            response = await client.post("/v1/events", json=again)
            assert response.status_code in (200, 202), response.text

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

            rule = {
                "id": "hate-unclear",
                "name": "HATE policy-unclear share",
                "metric": "policy_unclear_share",
                "scope": {"area": "HATE"},
                "window": "24h",
                "condition": {"kind": "threshold", "op": ">", "threshold": 0.5},
                "min_sample": 20,
                "severity": "high",
                "channels": [],
            }
            created = await client.post("/v1/rules", json=rule)
            assert created.status_code == 201, created.text
            assert created.json()["version"] == 1
            listed = await client.get("/v1/rules")
            assert [r["id"] for r in listed.json()["rules"]] == ["hate-unclear"]
            bad = await client.post("/v1/rules", json={**rule, "metric": "nonsense"})
            assert bad.status_code == 422
            breaches = await client.get("/v1/breaches", params={"state": "firing"})
            assert breaches.status_code == 200
            assert breaches.json()["breaches"] == []

    async def test_batch_and_dsa_import_through_gateway(self, stack: ServiceGroup) -> None:
        gateway = stack.child("api-gateway").url
        day = "2026-11-25"
        batch = [
            escalation(
                event_id=f"b{i}",
                escalation_id=f"esc-b{i}",
                occurred_at=f"{day}T09:00:00Z",
                suggested_clause_id=clause,
            )
            for i, clause in enumerate(["HATE.SLURS", "HATE.SLURS", "INA.SPAM"])
        ]
        statement = {
            "puid": "sor-1",
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": "StGB 130",
            "illegal_content_explanation": "Incitement to hatred.",
            "category": "STATEMENT_CATEGORY_VIOLENCE",
            "content_type": ["CONTENT_TYPE_TEXT"],
            "content_date": day,
            "application_date": day,
            "territorial_scope": ["DE"],
            "decision_facts": "Reviewed under the violence policy.",
            "source_type": "SOURCE_TRUSTED_FLAGGER",
            "automated_detection": "No",
            "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        }
        async with httpx.AsyncClient(base_url=gateway, timeout=10, headers=bearer(stack)) as client:
            sent = await client.post("/v1/events:batch", json=[*batch, batch[0]])
            assert sent.json()["counts"] == {
                "received": 4,
                "accepted": 3,
                "duplicate": 1,
                "rejected": 0,
            }
            imported = await client.post("/v1/imports/dsa", json=[statement])
            assert imported.json()["counts"]["accepted"] == 1, imported.text

            async def that_day() -> list[dict[str, Any]]:
                r = await client.get(
                    "/v1/insights/volume",
                    params={
                        "interval": "day",
                        "group_by": "area",
                        "from": f"{day}T00:00:00Z",
                        "to": "2026-11-26T00:00:00Z",
                    },
                )
                rows: list[dict[str, Any]] = r.json()["rows"]
                return rows

            rows = await eventually(that_day, lambda rows: sum(r["volume"] for r in rows) == 4)
            assert rows == [
                {"bucket": f"{day}T00:00:00Z", "area": "HATE", "volume": 2},
                {"bucket": f"{day}T00:00:00Z", "area": "INA", "volume": 1},
                {"bucket": f"{day}T00:00:00Z", "area": "VBDA", "volume": 1},
            ]

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


def months_apart() -> list[dict[str, Any]]:
    """A batch found to stop insights for good: 1,000 escalations in 1,000 different months
    (years 1000 to 1083)."""
    return [
        escalation(
            event_id=f"month-{k}",
            escalation_id=f"esc-month-{k}",
            occurred_at=f"{1000 + k // 12:04d}-{k % 12 + 1:02d}-15T12:00:00Z",
        )
        for k in range(1000)
    ]


async def settled_counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM insights.event_log WHERE event_id LIKE 'ok-%') AS ok,
                   (SELECT count(*) FROM insights.event_log
                     WHERE event_id LIKE 'month-%') AS months,
                   (SELECT count(DISTINCT event_id) FROM insights.event_log
                     WHERE event_id LIKE 'month-%') AS months_distinct,
                   (SELECT count(*) FROM insights.dead_letters) AS insights_dead,
                   (SELECT count(*) FROM classifier.dead_letters) AS classifier_dead
            """
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


class TestPoisonBatch:
    async def test_a_batch_over_a_thousand_months_is_refused_by_default(
        self, stack: ServiceGroup
    ) -> None:
        async with httpx.AsyncClient(
            base_url=stack.child("api-gateway").url, timeout=60, headers=bearer(stack)
        ) as c:
            answer = await c.post("/v1/events:batch", json=months_apart())
        body = answer.json()
        assert answer.status_code == 200, answer.text
        assert body["counts"] == {"received": 1000, "accepted": 0, "duplicate": 0, "rejected": 1000}
        assert body["items"][0]["errors"][0]["pointer"] == "/occurred_at"

    async def test_accepted_it_never_stops_the_pipeline(
        self, service_env: dict[str, str], tmp_path: Path
    ) -> None:
        # Ingest told to take events of any age: the batch reaches insights.
        env = {**service_env, "PP_MAX_EVENT_AGE_DAYS": "700000"}
        with running_stack(env, tmp_path / "logs") as stack:
            gateway = stack.child("api-gateway").url
            async with httpx.AsyncClient(
                base_url=gateway, timeout=60, headers=bearer(stack)
            ) as client:
                batch = await client.post("/v1/events:batch", json=months_apart())
                assert batch.json()["counts"]["accepted"] == 1000, batch.text
                for i in range(3):
                    ordinary = escalation(event_id=f"ok-{i}", escalation_id=f"esc-ok-{i}")
                    answer = await client.post("/v1/events", json=ordinary)
                    assert answer.status_code == 202, answer.text
                counts = await eventually(
                    lambda: settled_counts(service_env["PP_DATABASE_URL"]),
                    lambda c: c["ok"] == 3 and c["months"] + c["insights_dead"] == 1000,
                    timeout=240,
                    interval=0.5,
                )
                ready = await client.get("/readyz")
                volume = await client.get(
                    "/v1/insights/volume",
                    params={
                        "interval": "day",
                        "from": "2026-11-20T00:00:00Z",
                        "to": "2026-11-21T00:00:00Z",
                    },
                )
        assert ready.status_code == 200, ready.text
        assert volume.json()["rows"] == [{"bucket": "2026-11-20T00:00:00Z", "volume": 3}]
        # Each of the batch's events is counted or set aside with its reason, once.
        assert counts["months"] == counts["months_distinct"]
        assert counts["classifier_dead"] == 0
