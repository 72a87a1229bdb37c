"""One batch must never stop insights: a batch whose events fall in 1,000 different months, a
record that is not a tagged event and one whose time cannot be converted to UTC, then
ordinary events, through the real broker into the running service."""

from __future__ import annotations

from typing import Any

import orjson

from pp_insights.main import create_app
from pp_insights.settings import InsightsSettings
from pp_insights_testing.harness import tagged_record
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.db import Pool, create_pool
from pp_shared.testing.apps import produce, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers

MONTHS = 1000


def months_apart() -> list[dict[str, Any]]:
    """The batch of the report: 1,000 escalations in 1,000 months, years 1000 to 1083."""
    return [
        escalation(
            event_id=f"month-{k}",
            escalation_id=f"esc-month-{k}",
            occurred_at=f"{1000 + k // 12:04d}-{k % 12 + 1:02d}-15T12:00:00Z",
        )
        for k in range(MONTHS)
    ]


def value(event: dict[str, Any]) -> bytes:
    encoded: bytes = tagged_record(event).value
    return encoded


async def counts(pool: Pool) -> dict[str, int]:
    row = await pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM insights.event_log WHERE event_id LIKE 'ok-%') AS ok,
               (SELECT count(*) FROM insights.event_log WHERE event_id LIKE 'month-%') AS months,
               (SELECT count(DISTINCT event_id) FROM insights.event_log
                 WHERE event_id LIKE 'month-%') AS months_distinct,
               (SELECT count(*) FROM insights.dead_letters) AS dead
        """
    )
    assert row is not None
    return dict(row)


class TestPoisonBatches:
    async def test_a_batch_over_a_thousand_months_never_stops_insights(
        self, settings: InsightsSettings, servers: Servers
    ) -> None:
        invalid = b'{"event": {"event_type": "escalation.created"}}'
        overflow = value(
            escalation(
                event_id="overflow",
                escalation_id="esc-overflow",
                occurred_at="0001-01-01T00:00:00+01:00",
            )
        )
        ordinary = [escalation(event_id=f"ok-{i}", escalation_id=f"esc-ok-{i}") for i in range(3)]
        topic = topic_name(Topic.EVENTS_TAGGED, settings.topic_prefix)
        async with running_app(create_app(settings)) as client:
            await produce(
                servers.kafka_bootstrap,
                topic,
                [(b"esc-month", value(e)) for e in months_apart()]
                + [(b"esc-invalid", invalid), (b"esc-overflow", overflow)],
            )
            await produce(
                servers.kafka_bootstrap,
                topic,
                [(e["escalation_id"].encode(), value(e)) for e in ordinary],
            )
            pool = await create_pool(settings.database_url)
            try:
                settled = await eventually(
                    lambda: counts(pool),
                    lambda c: c["ok"] == 3 and c["months"] + c["dead"] == MONTHS + 2,
                    timeout=240,
                    interval=0.5,
                )
            finally:
                await pool.close()
            ready = await client.get("/readyz")
            listed = await client.get("/v1/insights/dead-letters", params={"limit": 1000})
            volume = await client.get(
                "/v1/insights/volume",
                params={
                    "interval": "day",
                    "from": "2026-11-20T00:00:00Z",
                    "to": "2026-11-21T00:00:00Z",
                },
            )

        # Every month's event is either counted or set aside with a reason, and once.
        assert settled["months"] == settled["months_distinct"]
        assert ready.status_code == 200, ready.text
        assert volume.json()["rows"] == [{"bucket": "2026-11-20T00:00:00Z", "volume": 3}]
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        by_value = {item["value"]: item for item in items}
        assert len(items) == settled["dead"]
        assert by_value[invalid.decode()]["reason"] == "invalid"
        assert by_value[invalid.decode()]["errors"][0]["pointer"] == "/event/event_id"
        assert by_value[overflow.decode()]["reason"] == "processing_failed"
        assert by_value[overflow.decode()]["errors"][0]["detail"].startswith("OverflowError")
        months_dead = [v for v in by_value if v not in (invalid.decode(), overflow.decode())]
        assert len(months_dead) + settled["months"] == MONTHS
        assert all(orjson.loads(v)["event"]["event_id"].startswith("month-") for v in months_dead)
