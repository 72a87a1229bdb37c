"""Folding gives every metric exactly, whatever the arrival order, replays, late events and
the session's time zone; rebuilds derive everything again from the event log."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Any

import asyncpg
import pytest

from pp_insights.buckets import Interval
from pp_insights.facts import service as facts
from pp_insights.metrics_def import METRICS
from pp_insights.queries.trends import TrendQuery, trends
from pp_insights_testing.harness import Fold, fold_events, migrated_pool
from pp_insights_testing.samples import sample_events
from pp_shared.db import Pool, apply_migrations, create_pool, json_text
from pp_shared.testing.samples import appeal, decision, escalation

SAMPLE = sample_events()
DAY_20 = "2026-11-20T00:00:00Z"
DAY_21 = "2026-11-21T00:00:00Z"

# pp_insights_testing.samples.sample_events(), worked out by hand, per day and clause.
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "volume": [
        {"bucket": DAY_20, "clause_id": "HATE.SLURS", "value": 3},
        {"bucket": DAY_20, "clause_id": "VBDA.THREATS", "value": 1},
        {"bucket": DAY_20, "clause_id": "unclassified", "value": 1},
        {"bucket": DAY_21, "clause_id": "HATE.SLURS", "value": 1},
    ],
    # esc-1 and esc-2 of the three HATE.SLURS escalations on the 20th were policy_unclear.
    "policy_unclear_share": [
        {"bucket": DAY_20, "clause_id": "HATE.SLURS", "value": 0.666667, "numerator": 2,
         "denominator": 3, "ci_low": 0.20766, "ci_high": 0.938508},
        {"bucket": DAY_20, "clause_id": "VBDA.THREATS", "value": 0.0, "numerator": 0,
         "denominator": 1, "ci_low": 0.0, "ci_high": 0.793451},
        {"bucket": DAY_20, "clause_id": "unclassified", "value": 0.0, "numerator": 0,
         "denominator": 1, "ci_low": 0.0, "ci_high": 0.793451},
        {"bucket": DAY_21, "clause_id": "HATE.SLURS", "value": 1.0, "numerator": 1,
         "denominator": 1, "ci_low": 0.206549, "ci_high": 1.0},
    ],
    # ap-1 overturned, ap-2 upheld, ap-3 partially overturned; ap-4's latest outcome is upheld.
    "overturn_rate": [
        {"bucket": DAY_20, "clause_id": "HATE.SLURS", "value": 0.666667, "numerator": 2,
         "denominator": 3, "ci_low": 0.20766, "ci_high": 0.938508},
        {"bucket": DAY_20, "clause_id": "VBDA.THREATS", "value": 0.0, "numerator": 0,
         "denominator": 1, "ci_low": 0.0, "ci_high": 0.793451},
    ],
    # esc-1: one of two reviews disagrees, esc-2: one agrees; esc-4: its one review disagrees.
    "qa_disagreement_rate": [
        {"bucket": DAY_20, "clause_id": "HATE.SLURS", "value": 0.333333, "numerator": 1,
         "denominator": 3, "ci_low": 0.061492, "ci_high": 0.79234},
        {"bucket": DAY_20, "clause_id": "VBDA.THREATS", "value": 1.0, "numerator": 1,
         "denominator": 1, "ci_low": 0.206549, "ci_high": 1.0},
    ],
    # 100 s lies in bin [1.25^20, 1.25^21), 1800 s in [1.25^33, 1.25^34): with two values the
    # median rank 1 ends the first bin (1.25^21 = 108.4) and the p90 rank 1.8 is 80% into the
    # second, geometrically: 1.25^33.8 = 1886.1. A lone value answers its bin's geometric
    # midpoint (p50) and 1.25^0.9 above the bin's start (p90): 3600 s -> 1.25^36.5 = 3445.2.
    "decision_latency": [
        {"bucket": DAY_20, "clause_id": "HATE.SLURS", "count": 2, "p50": 108.4, "p90": 1886.1},
        {"bucket": DAY_20, "clause_id": "VBDA.THREATS", "count": 1, "p50": 3445.2,
         "p90": 3766.9},
        {"bucket": DAY_20, "clause_id": "unclassified", "count": 1, "p50": 5.3, "p90": 5.8},
        {"bucket": DAY_21, "clause_id": "HATE.SLURS", "count": 1, "p50": 10.4, "p90": 11.4},
    ],
    # esc-1 was finally relabelled, esc-4 found no violation, esc-6 had no tag: disagreements.
    "tagging_agreement": [
        {"bucket": DAY_20, "clause_id": "HATE.SLURS", "value": 0.5, "numerator": 1,
         "denominator": 2, "ci_low": 0.094531, "ci_high": 0.905469},
        {"bucket": DAY_20, "clause_id": "VBDA.THREATS", "value": 0.0, "numerator": 0,
         "denominator": 1, "ci_low": 0.0, "ci_high": 0.793451},
        {"bucket": DAY_20, "clause_id": "unclassified", "value": 0.0, "numerator": 0,
         "denominator": 1, "ci_low": 0.0, "ci_high": 0.793451},
        {"bucket": DAY_21, "clause_id": "HATE.SLURS", "value": 1.0, "numerator": 1,
         "denominator": 1, "ci_low": 0.206549, "ci_high": 1.0},
    ],
}  # fmt: skip


@pytest.fixture
def fold(pool: Pool) -> Fold:
    return partial(fold_events, pool)


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        for k, v in row.items()
    }


async def answers(
    pool: Pool, *, interval: Interval = Interval.DAY, group_by: tuple[str, ...] = ("clause_id",)
) -> dict[str, list[dict[str, Any]]]:
    """Every metric's answer rows, timestamps as in the JSON answers."""
    out = {}
    for name in METRICS:
        query = TrendQuery(metric=name, interval=interval, group_by=group_by)
        out[name] = [_iso(r) for r in (await trends(pool, query=query)).rows]
    return out


async def derived_tables(pool: Pool) -> dict[str, list[dict[str, Any]]]:
    """Facts and rollups as they are, apart from when they were refreshed."""
    out = {}
    for table in ("escalation_facts", "rollup_hour", "rollup_day"):
        rows = await pool.fetch(f"SELECT * FROM insights.{table} ORDER BY 1, 2, 3, 4, 5, 6, 7, 8")  # noqa: S608
        out[table] = [{k: v for k, v in r.items() if k != "refreshed_at"} for r in rows]
    return out


class TestHandComputedMetrics:
    async def test_every_metric_is_exact(self, pool: Pool, fold: Fold) -> None:
        assert await fold(SAMPLE) == 6
        assert await answers(pool) == EXPECTED

    async def test_weekly_totals_without_grouping(self, pool: Pool, fold: Fold) -> None:
        await fold(SAMPLE)
        got = await answers(pool, interval=Interval.WEEK, group_by=())
        week = "2026-11-16T00:00:00Z"
        assert got["volume"] == [{"bucket": week, "value": 6}]
        assert got["overturn_rate"] == [
            {"bucket": week, "value": 0.5, "numerator": 2, "denominator": 4,
             "ci_low": 0.150039, "ci_high": 0.849961},
        ]  # fmt: skip
        # Latencies 5, 10, 100, 1800, 3600 s: rank 2.5 (p50) is halfway through 100's bin,
        # 1.25^20.5 = 97.0; rank 4.5 (p90) halfway through 3600's, 1.25^36.5 = 3445.2.
        assert got["decision_latency"] == [{"bucket": week, "count": 5, "p50": 97.0, "p90": 3445.2}]

    async def test_filters_and_hourly_buckets(self, pool: Pool, fold: Fold) -> None:
        await fold(SAMPLE)
        query = TrendQuery(
            metric="volume",
            interval=Interval.HOUR,
            group_by=("region",),
            filters={"area": ("HATE", "VBDA"), "queue": ("", "vbda-tier2")},
            start=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
            end=datetime(2026, 11, 21, 0, 0, tzinfo=UTC),
        )
        answer = await trends(pool, query=query)
        # 10:30 lies in the 10:00 bucket, which is answered whole: esc-3 (no queue, FR) and
        # esc-4 (vbda-tier2, DE); esc-6 is unclassified.
        assert [_iso(r) for r in answer.rows] == [
            {"bucket": "2026-11-20T10:00:00Z", "region": "DE", "value": 1},
            {"bucket": "2026-11-20T10:00:00Z", "region": "FR", "value": 1},
        ]
        assert answer.start == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class TestArrivalOrder:
    @pytest.mark.parametrize("order", ["escalations_last", "reversed", "shuffled_batches"])
    async def test_any_order_gives_the_same_numbers(
        self, pool: Pool, fold: Fold, order: str
    ) -> None:
        if order == "escalations_last":
            escalations = [e for e in SAMPLE if e["event_type"] == "escalation.created"]
            others = [e for e in SAMPLE if e["event_type"] != "escalation.created"]
            assert await fold(others) == 0
            assert await answers(pool) == {name: [] for name in METRICS}
            await fold(escalations)
        elif order == "reversed":
            await fold(SAMPLE[::-1])
        else:
            shuffled = SAMPLE[:]
            random.Random(7).shuffle(shuffled)
            for i in range(0, len(shuffled), 3):
                await fold(shuffled[i : i + 3])
        assert await answers(pool) == EXPECTED

    async def test_decision_before_its_escalation_is_joined_on_arrival(
        self, pool: Pool, fold: Fold
    ) -> None:
        await fold([decision(event_id="d", occurred_at="2026-11-20T10:16:40Z")])
        assert await pool.fetchval("SELECT count(*) FROM insights.escalation_facts") == 0
        await fold([escalation(event_id="e")])
        fact = await pool.fetchrow(
            "SELECT decisions, first_decision_id, decision_latency_s, tag_agrees"
            " FROM insights.escalation_facts WHERE escalation_id = 'esc-000123'"
        )
        assert fact is not None
        assert dict(fact) == {
            "decisions": 1,
            "first_decision_id": "dec-555",
            "decision_latency_s": 100.0,
            "tag_agrees": True,
        }


class TestReplay:
    async def test_replayed_batch_changes_nothing(self, pool: Pool, fold: Fold) -> None:
        await fold(SAMPLE[:10])
        await fold(SAMPLE[10:])
        before = await derived_tables(pool)
        assert await fold(SAMPLE[:10]) == 0
        assert await fold(SAMPLE) == 0
        assert await derived_tables(pool) == before
        assert await answers(pool) == EXPECTED

    async def test_duplicates_inside_one_batch_count_once(self, pool: Pool, fold: Fold) -> None:
        assert await fold(SAMPLE + SAMPLE) == 6
        assert await answers(pool) == EXPECTED


class TestLateEvents:
    async def test_escalation_three_days_late_lands_in_its_own_bucket(
        self, pool: Pool, fold: Fold
    ) -> None:
        await fold(
            [escalation(event_id="e-now", escalation_id="now", occurred_at="2026-11-23T10:00:00Z")]
        )
        before = await answers(pool, interval=Interval.HOUR, group_by=())
        late = {"escalation_id": "late"}
        await fold(
            [
                escalation(event_id="e-late", occurred_at="2026-11-20T10:15:00Z", **late),
                decision(event_id="d-late", occurred_at="2026-11-23T10:15:00Z", **late),
            ]
        )
        after = await answers(pool, interval=Interval.HOUR, group_by=())
        assert after["volume"] == [
            {"bucket": "2026-11-20T10:00:00Z", "value": 1},
            {"bucket": "2026-11-23T10:00:00Z", "value": 1},
        ]
        # Three days to decide: 259200 s, in bin [1.25^55, 1.25^56); p50 is 1.25^55.5.
        assert after["decision_latency"] == [
            {"bucket": "2026-11-20T10:00:00Z", "count": 1, "p50": 239059.3, "p90": 261378.4}
        ]
        assert [r for r in after["volume"] if r["bucket"].startswith("2026-11-23")] == before[
            "volume"
        ]

    async def test_appeal_counts_in_the_escalations_bucket(self, pool: Pool, fold: Fold) -> None:
        await fold(
            [escalation(event_id="e"), appeal(event_id="a", occurred_at="2026-12-01T00:00:00Z")]
        )
        got = await answers(pool, interval=Interval.DAY, group_by=())
        assert got["overturn_rate"] == [
            {"bucket": "2026-11-20T00:00:00Z", "value": 1.0, "numerator": 1, "denominator": 1,
             "ci_low": 0.206549, "ci_high": 1.0}
        ]  # fmt: skip

    async def test_escalation_sent_twice_counts_once_from_its_earliest_event(
        self, pool: Pool, fold: Fold
    ) -> None:
        await fold([escalation(event_id="first-sent", occurred_at="2026-11-20T10:15:00Z")])
        await fold(
            [escalation(event_id="earlier", occurred_at="2026-11-20T09:59:00Z", region="FR")]
        )
        got = await answers(pool, interval=Interval.HOUR, group_by=("region",))
        assert got["volume"] == [{"bucket": "2026-11-20T09:00:00Z", "region": "FR", "value": 1}]
        hour_rows = await pool.fetch("SELECT bucket, region, volume FROM insights.rollup_hour")
        assert [tuple(r) for r in hour_rows] == [(datetime(2026, 11, 20, 9, tzinfo=UTC), "FR", 1)]


class TestTimeZones:
    async def test_buckets_are_utc_whatever_the_session_time_zone(self, database_url: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            name = await conn.fetchval("SELECT current_database()")
            await conn.execute(f"ALTER DATABASE \"{name}\" SET timezone = 'Europe/Berlin'")
        finally:
            await conn.close()
        # Berlin's 25 October 2026 has 25 hours; UTC days still have 24.
        async with migrated_pool(database_url) as pool:
            assert await pool.fetchval("SHOW timezone") == "Europe/Berlin"
            await fold_events(
                pool,
                [
                    escalation(event_id="a", escalation_id="a", occurred_at="2026-10-25T23:30:00Z"),
                    escalation(event_id="b", escalation_id="b", occurred_at="2026-10-26T00:30:00Z"),
                ],
            )  # fmt: skip
            got = await answers(pool, group_by=())
        assert got["volume"] == [
            {"bucket": "2026-10-25T00:00:00Z", "value": 1},
            {"bucket": "2026-10-26T00:00:00Z", "value": 1},
        ]


class TestRebuild:
    async def test_pending_rebuild_recomputes_everything_from_the_log(
        self, pool: Pool, fold: Fold
    ) -> None:
        await fold(SAMPLE)
        before = await derived_tables(pool)
        await pool.execute("UPDATE insights.rollup_day SET volume = 99")
        await pool.execute("DELETE FROM insights.escalation_facts WHERE escalation_id = 'esc-1'")
        await pool.execute("INSERT INTO insights.pending_rebuilds (name) VALUES ('again')")
        assert await facts.finish_pending_rebuilds(pool) == ["again"]
        assert await derived_tables(pool) == before
        assert await facts.finish_pending_rebuilds(pool) == []

    async def test_upgrade_from_the_first_schema_derives_facts_from_the_log(
        self, database_url: str
    ) -> None:
        first = resources.files("pp_insights").joinpath("migrations/001_facts_and_rollups.sql")
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("CREATE SCHEMA insights")
            await conn.execute(first.read_text(encoding="utf-8"))
            await conn.execute(
                "CREATE TABLE insights.schema_migrations (name text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now());"
                " INSERT INTO insights.schema_migrations VALUES ('001_facts_and_rollups.sql')"
            )
            body = escalation(event_id="old")
            await conn.execute(
                "INSERT INTO insights.event_log"
                " (event_id, event_type, escalation_id, occurred_at, body, tags)"
                " VALUES ('old', 'escalation.created', 'esc-000123', $1, $2::jsonb, $3::jsonb)",
                datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
                json_text(body),
                json_text([{"clause_id": "HATE.SLURS", "area": "HATE"}]),
            )
        finally:
            await conn.close()
        pool = await create_pool(database_url)
        try:
            applied = await apply_migrations(pool, schema="insights", package="pp_insights")
            assert applied[:2] == [
                "002_escalation_facts_and_rollups.sql",
                "003_monthly_partitions.sql",
            ]
            # 021 asks for a rebuild too (its QA review rows): one rebuild does both.
            assert await facts.finish_pending_rebuilds(pool) == [
                "facts_and_rollups",
                "qa_review_facts",
            ]
            assert (await answers(pool, group_by=("area",)))["volume"] == [
                {"bucket": DAY_20, "area": "HATE", "value": 1}
            ]
        finally:
            await pool.close()
