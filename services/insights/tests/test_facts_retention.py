"""Retention by monthly partitions, and the service's Prometheus metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from pp_insights.buckets import Interval
from pp_insights.facts import service as facts
from pp_insights.queries.trends import TrendQuery, trends
from pp_insights_testing.harness import fold_events
from pp_insights_testing.samples import sample_events
from pp_shared.db import Pool
from pp_shared.testing.samples import decision, escalation

NOW = datetime(2026, 12, 15, tzinfo=UTC)
KEEP = timedelta(days=30)  # horizon 2026-11-15: October ends before it, November does not


def sample(value: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(value, labels) or 0.0


async def volumes(pool: Pool, interval: Interval) -> list[tuple[datetime, int]]:
    query = TrendQuery(metric="volume", interval=interval)
    return [(r["bucket"], r["value"]) for r in (await trends(pool, query=query)).rows]


class TestRetention:
    async def _fold_two_months(self, pool: Pool) -> None:
        events = [
            escalation(event_id=m, escalation_id=f"esc-{m}", occurred_at=f"2026-{n}T08:00:00Z")
            for m, n in (("oct", "10-10"), ("nov", "11-20"))
        ]
        await fold_events(pool, events)

    async def test_drops_whole_months_and_keeps_daily_rollups(self, pool: Pool) -> None:
        await self._fold_two_months(pool)
        dropped = await facts.apply_retention(pool, now=NOW, keep=KEEP)
        assert dropped == [
            "escalation_facts:escalation_facts_2026_10",
            "event_log:event_log_2026_10",
            "qa_review_facts:qa_review_facts_2026_10",
            "rollup_hour:rollup_hour_2026_10",
        ]
        assert await pool.fetchval("SELECT count(*) FROM insights.event_log") == 1
        assert await pool.fetchval("SELECT count(*) FROM insights.escalation_facts") == 1
        assert await volumes(pool, Interval.HOUR) == [(datetime(2026, 11, 20, 8, tzinfo=UTC), 1)]
        assert await volumes(pool, Interval.DAY) == [
            (datetime(2026, 10, 10, tzinfo=UTC), 1),
            (datetime(2026, 11, 20, tzinfo=UTC), 1),
        ]
        assert await facts.apply_retention(pool, now=NOW, keep=KEEP) == []

    async def test_events_of_dropped_months_change_nothing(self, pool: Pool) -> None:
        await self._fold_two_months(pool)
        await facts.apply_retention(pool, now=NOW, keep=KEEP)
        before = sample("pp_insights_events_total", outcome="beyond_retention")
        late = escalation(
            event_id="oct-2", escalation_id="esc-oct-2", occurred_at="2026-10-10T09:00:00Z"
        )
        # A decision today for the dropped escalation is stored, but has no escalation to
        # join: the kept daily rollup stays as it was.
        today = decision(
            event_id="oct-d", escalation_id="esc-oct", occurred_at="2026-12-15T08:00:00Z"
        )
        assert await fold_events(pool, [late, today]) == 0
        assert sample("pp_insights_events_total", outcome="beyond_retention") - before == 1
        assert await pool.fetchval("SELECT count(*) FROM insights.event_log") == 2
        day = await pool.fetchrow(
            "SELECT volume, decided FROM insights.rollup_day WHERE bucket < '2026-11-01'"
        )
        assert day is not None
        assert (day["volume"], day["decided"]) == (1, 0)

    async def test_rebuild_keeps_the_daily_rollups_of_dropped_months(self, pool: Pool) -> None:
        await self._fold_two_months(pool)
        await facts.apply_retention(pool, now=NOW, keep=KEEP)
        await pool.execute("INSERT INTO insights.pending_rebuilds (name) VALUES ('test')")
        assert await facts.finish_pending_rebuilds(pool) == ["test"]
        assert await volumes(pool, Interval.DAY) == [
            (datetime(2026, 10, 10, tzinfo=UTC), 1),
            (datetime(2026, 11, 20, tzinfo=UTC), 1),
        ]


class TestMetrics:
    async def test_refresh_counts_rows_and_batch_sizes(self, pool: Pool) -> None:
        names = ("escalation_facts", "rollup_hour", "rollup_day")
        rows = [sample("pp_insights_rows_recomputed_total", table=t) for t in names]
        new = sample("pp_insights_events_total", outcome="new")
        duplicate = sample("pp_insights_events_total", outcome="duplicate")
        refreshes = sample("pp_insights_refresh_seconds_count", phase="facts")
        batches = sample("pp_insights_batch_events_sum", kind="received")
        events = sample_events()
        await fold_events(pool, events)
        await fold_events(pool, events)
        # Six escalations; esc-1 and esc-2 share their hour and day keys, the other four
        # have one each. The replay recomputes nothing.
        assert [
            sample("pp_insights_rows_recomputed_total", table=t) - r
            for t, r in zip(names, rows, strict=True)
        ] == [6, 5, 5]
        assert sample("pp_insights_events_total", outcome="new") - new == len(events)
        assert sample("pp_insights_events_total", outcome="duplicate") - duplicate == len(events)
        assert sample("pp_insights_refresh_seconds_count", phase="facts") - refreshes == 1
        assert sample("pp_insights_batch_events_sum", kind="received") - batches == 2 * len(events)


class TestEventLog:
    async def test_keeps_no_content_text(self, pool: Pool) -> None:
        events = sample_events()
        assert all("text_excerpt" in e for e in events if e["event_type"] == "escalation.created")
        await fold_events(pool, events)
        stored = await pool.fetchval(
            "SELECT count(*) FROM insights.event_log WHERE body ? 'text_excerpt'"
        )
        assert stored == 0
        assert await pool.fetchval("SELECT count(*) FROM insights.event_log") == len(events)
