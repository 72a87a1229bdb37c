"""Ingest's metrics: requests timed by route template, batches sized, events counted by type
and outcome."""

from __future__ import annotations

from prometheus_client import REGISTRY

from pp_ingest.main import create_app
from pp_ingest.metrics import event_type_label
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import EventType
from pp_shared.testing.apps import running_app
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers


class TestMetrics:
    async def test_requests_are_timed_by_route_template_and_batches_sized(
        self, servers: Servers, database_url: str, topic_prefix: str, settings: IngestSettings
    ) -> None:
        def sample(name: str, **labels: str) -> float:
            return REGISTRY.get_sample_value(name, labels) or 0.0

        batch_ok = {"method": "POST", "route": "/v1/events:batch", "status_class": "2xx"}
        by_id = {
            "method": "GET",
            "route": "/v1/dead-letters/{dead_letter_id}",
            "status_class": "4xx",
        }
        unmatched = {"method": "GET", "route": "unmatched", "status_class": "4xx"}
        accepted = {"path": "http", "event_type": "escalation.created", "outcome": "accepted"}
        rejected = {"path": "http", "event_type": "escalation.created", "outcome": "rejected"}
        before = {
            "batch": sample("pp_ingest_http_request_seconds_count", **batch_ok),
            "by_id": sample("pp_ingest_http_request_seconds_count", **by_id),
            "unmatched": sample("pp_ingest_http_request_seconds_count", **unmatched),
            "sizes": sample("pp_ingest_batch_size_events_sum"),
            "accepted": sample("pp_ingest_events_total", **accepted),
            "rejected": sample("pp_ingest_events_total", **rejected),
        }
        async with running_app(create_app(settings)) as client:
            batch = [
                escalation(event_id="e1"),
                escalation(event_id="e2"),
                escalation(event_id="e3", region="x"),
            ]
            assert (await client.post("/v1/events:batch", json=batch)).status_code == 200
            assert (await client.get("/v1/dead-letters/987654")).status_code == 404
            assert (await client.get("/v1/nothing")).status_code == 404
            exposition = (await client.get("/metrics")).text
        assert sample("pp_ingest_http_request_seconds_count", **batch_ok) == before["batch"] + 1
        assert sample("pp_ingest_http_request_seconds_count", **by_id) == before["by_id"] + 1
        assert sample("pp_ingest_http_request_seconds_count", **unmatched) == (
            before["unmatched"] + 1
        )
        assert sample("pp_ingest_batch_size_events_sum") == before["sizes"] + 3
        assert sample("pp_ingest_events_total", **accepted) == before["accepted"] + 2
        assert sample("pp_ingest_events_total", **rejected) == before["rejected"] + 1
        assert "pp_ingest_http_request_seconds_bucket" in exposition


class TestEventTypeLabel:
    def test_every_event_type_is_its_own_label_and_anything_else_is_unknown(self) -> None:
        for event_type in EventType:
            assert event_type_label({"event_type": event_type.value}) == event_type.value
        assert event_type_label({"event_type": "escalation.deleted"}) == "unknown"
        assert event_type_label({"event_type": ["decision.made"]}) == "unknown"
        assert event_type_label({}) == "unknown"
        assert event_type_label(["decision.made"]) == "unknown"
