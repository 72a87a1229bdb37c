"""Tagged batches through the consumer's handler into the rollups, and the running app's
answer to a bad volume query."""

from __future__ import annotations

from typing import Any

import orjson

from pp_insights import consumer
from pp_insights.buckets import Interval
from pp_insights.main import create_app
from pp_insights.queries.volume import volume
from pp_insights.settings import InsightsSettings
from pp_shared.contracts.events import Tag, TaggedEvent, TagMethod, parse_event
from pp_shared.db import Pool
from pp_shared.testing.apps import record, running_app
from pp_shared.testing.samples import decision, escalation


def tagged(event: dict[str, Any], clause: str | None = None, offset: int = 0) -> Any:
    tags: tuple[Tag, ...] = ()
    if clause is not None:
        tags = (
            Tag(
                clause_id=clause,
                area=clause.split(".")[0],
                method=TagMethod.DECLARED,
                confidence=1.0,
                taxonomy_version="t1",
                model_version="m1",
            ),
        )
    body = TaggedEvent(event=parse_event(orjson.dumps(event)), tags=tags)
    return record("tagged", orjson.dumps(body.model_dump(mode="json")), offset=offset)


def escalations() -> list[Any]:
    """Five escalations: 3 HATE (two in hour 10, one in hour 11), 2 VBDA in hour 10."""
    specs = [
        ("e1", "esc-1", "2026-11-20T10:05:00Z", "HATE.SLURS", "DE"),
        ("e2", "esc-2", "2026-11-20T10:59:59Z", "HATE.SLURS", "DE"),
        ("e3", "esc-3", "2026-11-20T11:00:00Z", "HATE.PROTECTED_ATTR.RELIGION", "FR"),
        ("e4", "esc-4", "2026-11-20T10:30:00Z", "VBDA.THREATS", "DE"),
        ("e5", "esc-5", "2026-11-20T10:31:00+01:00", "VBDA.THREATS", "FR"),
    ]
    return [
        tagged(
            escalation(event_id=eid, escalation_id=esc, occurred_at=ts, region=region),
            clause,
            offset=i,
        )
        for i, (eid, esc, ts, clause, region) in enumerate(specs)
    ]


async def volume_rows(pool: Pool, *group_by: str) -> list[dict[str, Any]]:
    answer = await volume(pool, interval=Interval.HOUR, group_by=group_by, start=None, end=None)
    return [{**r, "bucket": r["bucket"].isoformat()} for r in answer.rows]


class TestFold:
    async def test_hourly_volume_by_area_is_exact(self, pool: Pool) -> None:
        assert await consumer.handle_batch(pool, records=escalations()) == 5
        assert await volume_rows(pool, "area") == [
            {"bucket": "2026-11-20T09:00:00+00:00", "area": "VBDA", "volume": 1},
            {"bucket": "2026-11-20T10:00:00+00:00", "area": "HATE", "volume": 2},
            {"bucket": "2026-11-20T10:00:00+00:00", "area": "VBDA", "volume": 1},
            {"bucket": "2026-11-20T11:00:00+00:00", "area": "HATE", "volume": 1},
        ]

    async def test_replayed_batch_changes_nothing(self, pool: Pool) -> None:
        batch = escalations()
        await consumer.handle_batch(pool, records=batch)
        before = await volume_rows(pool, "area", "region")
        assert await consumer.handle_batch(pool, records=batch) == 0
        assert await volume_rows(pool, "area", "region") == before
        total = await pool.fetchval("SELECT sum(volume) FROM insights.rollup_hour")
        assert total == 5

    async def test_second_escalation_event_for_same_escalation_counts_once(
        self, pool: Pool
    ) -> None:
        again = tagged(
            escalation(
                event_id="other-event", escalation_id="esc-1", occurred_at="2026-11-20T10:05:00Z"
            ),
            "HATE.SLURS",
        )
        await consumer.handle_batch(pool, records=[*escalations(), again])
        assert await pool.fetchval("SELECT sum(volume) FROM insights.rollup_hour") == 5
        assert await pool.fetchval("SELECT count(*) FROM insights.event_log") == 6

    async def test_decisions_are_logged_but_not_counted_as_volume(self, pool: Pool) -> None:
        await consumer.handle_batch(pool, records=[tagged(decision())])
        assert await pool.fetchval("SELECT count(*) FROM insights.event_log") == 1
        assert await volume_rows(pool) == []


class TestVolumeApi:
    async def test_rejects_unknown_dimension_with_problem(self, settings: InsightsSettings) -> None:
        async with running_app(create_app(settings)) as client:
            bad = await client.get("/v1/insights/volume", params={"group_by": "moderator"})
            naive = await client.get("/v1/insights/volume", params={"from": "2026-11-20T00:00:00"})
            ok = await client.get("/v1/insights/volume", params={"interval": "day"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["pointer"] == "/query/group_by/0"
        assert naive.status_code == 422
        assert naive.json()["errors"][0]["pointer"] == "/query/from"
        assert ok.status_code == 200
        assert ok.json() == {
            "metric": "volume",
            "interval": "day",
            "group_by": [],
            "from": None,
            "to": None,
            "rows": [],
        }
