"""Rollups against a brute-force computation over event_log, on a random data set with
duplicates, corrections, orphans, escalations sent twice and events in any order."""

from __future__ import annotations

import asyncio
import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from pp_insights.buckets import Interval
from pp_insights.metrics_def import DIMENSIONS, LATENCY_HISTOGRAM, METRICS, RateMetric
from pp_insights.queries import cards, drilldown, movers
from pp_insights.queries.stats import poisson_z, two_proportion_z
from pp_insights.queries.trends import TrendQuery, trends
from pp_insights_testing.harness import Fold, fold_events
from pp_shared.db import Pool
from pp_shared.testing.samples import appeal, decision, escalation, qa_review

CLAUSES = ("HATE.SLURS", "HATE.DEHUMANISATION", "VBDA.THREATS", "INA.SPAM", None)
ACTIONS = ("remove", "restrict", "label", "no_violation", "account_ban")
COUNTERS = (
    "volume",
    "policy_unclear",
    "decided",
    "appeals_resolved",
    "appeals_overturned",
    "qa_reviews",
    "qa_disagreements",
    "tag_agreed",
)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def random_events(seed: int, escalations: int = 300) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 16, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    for i in range(escalations):
        esc = f"esc-{i}"
        created = start + timedelta(seconds=rng.randrange(10 * 86400))
        clause = rng.choice(CLAUSES)
        region = rng.choice(("DE", "FR", "US"))
        dims = {
            "escalation_id": esc,
            "suggested_clause_id": clause,
            "region": region,
            "language": region.lower(),
            "product_feature": rng.choice(("comments", "video")),
            "queue": rng.choice(("q1", "q2", None)),
            "escalation_reason": rng.choice(("policy_unclear", "high_severity", "other")),
        }
        if rng.random() < 0.9:  # the rest are orphans: their escalation never arrives
            events.append(escalation(event_id=f"{esc}-c", occurred_at=_iso(created), **dims))
        if rng.random() < 0.05:  # sent again under another event id, maybe earlier, elsewhere
            again = created - timedelta(seconds=rng.randrange(-7200, 7200))
            events.append(
                escalation(
                    event_id=f"{esc}-c2", occurred_at=_iso(again), **{**dims, "region": "GB"}
                )
            )
        delay = 0.0
        for d in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
            # A few decisions carry a timestamp before the escalation's (clock skew), and some
            # share one with the decision before (ties break by event id).
            if d == 0 or rng.random() > 0.4:
                delay = rng.lognormvariate(7, 2) if rng.random() > 0.03 else -rng.random() * 600
            action = rng.choice(ACTIONS)
            events.append(
                decision(
                    event_id=f"{esc}-d{d}",
                    escalation_id=esc,
                    decision_id=f"{esc}-dec{d}",
                    occurred_at=_iso(created + timedelta(seconds=round(delay))),
                    action=action,
                    clause_id=None if action == "no_violation" else rng.choice(CLAUSES),
                )
            )
        for a in range(rng.choice((0, 0, 0, 1, 2))):
            for version in range(rng.choice((1, 1, 1, 2))):  # corrections of one appeal
                events.append(
                    appeal(
                        event_id=f"{esc}-a{a}-{version}",
                        escalation_id=esc,
                        appeal_id=f"{esc}-ap{a}",
                        occurred_at=_iso(created + timedelta(days=2, hours=version)),
                        outcome=rng.choice(("upheld", "overturned", "partially_overturned")),
                    )
                )
        for q in range(rng.choice((0, 0, 1, 2))):
            events.append(
                qa_review(
                    event_id=f"{esc}-q{q}",
                    escalation_id=esc,
                    occurred_at=_iso(created + timedelta(days=1)),
                    agrees=rng.random() < 0.7,
                )
            )
    events += rng.sample(events, len(events) // 20)  # redelivered duplicates
    rng.shuffle(events)
    return events


def batches(events: list[dict[str, Any]], seed: int) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(events):
        size = rng.randint(1, 60)
        out.append(events[i : i + size])
        i += size
    return out


BRUTE_FORCE = """
    WITH created AS (
        SELECT e.* FROM insights.event_log e
        WHERE e.event_type = 'escalation.created'
          AND NOT EXISTS (
              SELECT 1 FROM insights.event_log o
              WHERE o.escalation_id = e.escalation_id AND o.event_type = 'escalation.created'
                AND (o.occurred_at, o.event_id) < (e.occurred_at, e.event_id))
    )
    SELECT
        c.occurred_at AS created_at,
        coalesce(c.tags -> 0 ->> 'area', 'unclassified') AS area,
        coalesce(c.tags -> 0 ->> 'clause_id', 'unclassified') AS clause_id,
        c.body ->> 'region' AS region,
        c.body ->> 'language' AS language,
        c.body ->> 'product_feature' AS product_feature,
        coalesce(c.body ->> 'queue', '') AS queue,
        c.body ->> 'escalation_reason' AS escalation_reason,
        (SELECT extract(epoch FROM min(d.occurred_at) - c.occurred_at)::float8
           FROM insights.event_log d
          WHERE d.escalation_id = c.escalation_id AND d.event_type = 'decision.made')
          AS latency,
        (SELECT d.body ->> 'clause_id' FROM insights.event_log d
          WHERE d.escalation_id = c.escalation_id AND d.event_type = 'decision.made'
          ORDER BY d.occurred_at DESC, d.event_id DESC LIMIT 1) AS final_clause,
        (SELECT count(DISTINCT a.body ->> 'appeal_id') FROM insights.event_log a
          WHERE a.escalation_id = c.escalation_id AND a.event_type = 'appeal.resolved')
          AS appeals_resolved,
        (SELECT count(*) FROM insights.event_log a
          WHERE a.escalation_id = c.escalation_id AND a.event_type = 'appeal.resolved'
            AND a.body ->> 'outcome' <> 'upheld'
            AND NOT EXISTS (
                SELECT 1 FROM insights.event_log b
                WHERE b.escalation_id = a.escalation_id AND b.event_type = 'appeal.resolved'
                  AND b.body ->> 'appeal_id' = a.body ->> 'appeal_id'
                  AND (b.occurred_at, b.event_id) > (a.occurred_at, a.event_id)))
          AS appeals_overturned,
        (SELECT count(*) FROM insights.event_log q
          WHERE q.escalation_id = c.escalation_id AND q.event_type = 'qa.reviewed')
          AS qa_reviews,
        (SELECT count(*) FROM insights.event_log q
          WHERE q.escalation_id = c.escalation_id AND q.event_type = 'qa.reviewed'
            AND q.body ->> 'agrees' = 'false') AS qa_disagreements
    FROM created c
"""


async def brute_force(pool: Pool, grain: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Per (bucket, dimensions): every counter and the latency values, from event_log alone."""
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {**dict.fromkeys(COUNTERS, 0), "latencies": []}
    )
    for r in await pool.fetch(BRUTE_FORCE):
        bucket = r["created_at"].replace(minute=0, second=0, microsecond=0)
        if grain == "day":
            bucket = bucket.replace(hour=0)
        cell = out[(bucket, *(r[d] for d in DIMENSIONS))]
        decided = r["latency"] is not None
        cell["volume"] += 1
        cell["policy_unclear"] += r["escalation_reason"] == "policy_unclear"
        cell["decided"] += decided
        cell["tag_agreed"] += decided and r["final_clause"] == r["clause_id"]
        for c in ("appeals_resolved", "appeals_overturned", "qa_reviews", "qa_disagreements"):
            cell[c] += r[c]
        if decided:
            cell["latencies"].append(r["latency"])
    return dict(out)


def expected_rows(cells: dict[tuple[Any, ...], dict[str, Any]]) -> dict[tuple[Any, ...], Any]:
    out = {}
    for key, cell in cells.items():
        hist = [0] * LATENCY_HISTOGRAM.bins
        for v in cell["latencies"]:
            hist[LATENCY_HISTOGRAM.bin_of(v)] += 1
        out[key] = {**{c: cell[c] for c in COUNTERS}, "latency_hist": hist}
    return out


# The dense histogram of a rollup row, from its sparse bins, as the readers build it.
DENSE = (
    "insights.dense_histogram(latency_bins, latency_counts, "
    f"{LATENCY_HISTOGRAM.bins}) AS latency_hist"
)


async def rollup_rows(pool: Pool, table: str) -> dict[tuple[Any, ...], Any]:
    rows = await pool.fetch(f"SELECT *, {DENSE} FROM insights.{table}")  # noqa: S608
    return {
        (r["bucket"], *(r[d] for d in DIMENSIONS)): {
            **{c: r[c] for c in COUNTERS},
            "latency_hist": list(r["latency_hist"]),
        }
        for r in rows
    }


@pytest.fixture
def fold(pool: Pool) -> Fold:
    return partial(fold_events, pool)


@pytest.fixture(params=["sequential", "concurrent"])
async def folded(request: pytest.FixtureRequest, pool: Pool, fold: Fold) -> Pool:
    parts = batches(random_events(seed=42), seed=43)
    if request.param == "sequential":
        for part in parts:
            await fold(part)
    else:
        # Batches that share rollup keys commit concurrently; none may lose another's facts.
        for i in range(0, len(parts), 8):
            await asyncio.gather(*(fold(p) for p in parts[i : i + 8]))
    return pool


class TestAgainstBruteForce:
    async def test_hourly_and_daily_rollups_equal_brute_force(self, folded: Pool) -> None:
        cells = await brute_force(folded, "hour")
        assert sum(c["volume"] for c in cells.values()) > 250
        assert await rollup_rows(folded, "rollup_hour") == expected_rows(cells)
        assert await rollup_rows(folded, "rollup_day") == expected_rows(
            await brute_force(folded, "day")
        )
        # The coarse cube is rollup_day summed over the other four dimensions.
        cube: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
            lambda: {**dict.fromkeys(COUNTERS, 0), "latencies": []}
        )
        for key, cell in (await brute_force(folded, "day")).items():
            into = cube[key[:4]]
            for c in COUNTERS:
                into[c] += cell[c]
            into["latencies"] += cell["latencies"]
        rows = await folded.fetch(f"SELECT *, {DENSE} FROM insights.rollup_day_clause_region")  # noqa: S608
        got = {
            (r["bucket"], r["area"], r["clause_id"], r["region"]): {
                **{c: r[c] for c in COUNTERS},
                "latency_hist": list(r["latency_hist"]),
            }
            for r in rows
        }
        assert got == expected_rows(dict(cube))
        for table in ("rollup_hour", "rollup_day", "rollup_day_clause_region"):
            # The sparse form holds only non-empty bins, one count per bin.
            differ = await folded.fetchval(
                f"SELECT count(*) FROM insights.{table}"  # noqa: S608
                " WHERE array_position(latency_counts, 0) IS NOT NULL"
                "  OR cardinality(latency_bins) <> cardinality(latency_counts)"
            )
            assert differ == 0, table

    async def test_rate_answers_equal_brute_force(self, folded: Pool) -> None:
        cells = await brute_force(folded, "day")
        for metric in METRICS.values():
            if not isinstance(metric, RateMetric):
                continue
            sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
            for key, cell in cells.items():
                week = key[0] - timedelta(days=key[0].weekday())
                group = (week, key[3])  # region
                sums[group][0] += cell[metric.numerator]
                sums[group][1] += cell[metric.denominator]
            query = TrendQuery(metric=metric.name, interval=Interval.WEEK, group_by=("region",))
            answer = await trends(folded, query=query)
            got = {
                (r["bucket"], r["region"]): [r["numerator"], r["denominator"]] for r in answer.rows
            }
            assert got == {k: v for k, v in sums.items() if v[1] > 0}, metric.name

    async def test_latency_quantiles_lie_in_the_exact_values_bin(self, folded: Pool) -> None:
        weekly: dict[datetime, list[float]] = defaultdict(list)
        for key, cell in (await brute_force(folded, "day")).items():
            weekly[key[0] - timedelta(days=key[0].weekday())] += cell["latencies"]
        query = TrendQuery(metric="decision_latency", interval=Interval.WEEK)
        rows = (await trends(folded, query=query)).rows
        assert [(r["bucket"], r["count"]) for r in rows] == sorted(
            (week, len(values)) for week, values in weekly.items() if values
        )
        h = LATENCY_HISTOGRAM
        for row in rows:
            values = sorted(weekly[row["bucket"]])
            for q in (0.5, 0.9):
                exact = values[math.ceil(q * len(values)) - 1]  # nearest rank
                b = h.bin_of(exact)
                low = h.edges[b - 1] if b > 0 else 0.0
                high = h.edges[b] if b < len(h.edges) else math.inf
                # Answers carry 0.1 s, so allow that much around the bin.
                assert low - 0.05 <= row[f"p{round(q * 100)}"] <= high + 0.05


# Comparison queries sampled over the random data set: (from, to) pairs whose previous
# periods reach before the data, across it, and in hours that cut days.
RANGES = [
    (datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)),
    (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)),
    (datetime(2026, 11, 19, 5, tzinfo=UTC), datetime(2026, 11, 20, 17, tzinfo=UTC)),
    # Whole days inside both periods, read from the daily rollups, hours at their edges.
    (datetime(2026, 11, 19, 5, tzinfo=UTC), datetime(2026, 11, 23, 17, tzinfo=UTC)),
]
RATES = [m for m in METRICS.values() if isinstance(m, RateMetric)]


def period_sums(
    cells: dict[tuple[Any, ...], dict[str, Any]],
    start: datetime,
    end: datetime,
    dimension: str | None = None,
    scope: Mapping[str, Sequence[str]] | None = None,
) -> dict[Any, dict[bool, dict[str, Any]]]:
    """Brute-force counters of the current (True) and previous (False) period, per value
    of ``dimension`` (or under None), from hourly brute-force cells."""
    previous_start = start - (end - start)
    out: dict[Any, dict[bool, dict[str, Any]]] = defaultdict(
        lambda: defaultdict(lambda: {**dict.fromkeys(COUNTERS, 0), "latencies": []})
    )
    for key, cell in cells.items():
        bucket, dims = key[0], dict(zip(DIMENSIONS, key[1:], strict=True))
        if not previous_start <= bucket < end or any(
            dims[k] not in v for k, v in (scope or {}).items()
        ):
            continue
        sums = out[dims[dimension] if dimension else None][bucket >= start]
        for c in COUNTERS:
            sums[c] += cell[c]
        sums["latencies"] += cell["latencies"]
    return out


def _round(z: float | None) -> float | None:
    return None if z is None else round(z, 6)


class TestComparisonsAgainstBruteForce:
    async def test_cards(self, folded: Pool) -> None:
        cells = await brute_force(folded, "hour")
        for start, end in RANGES:
            for clause in (*(c for c in CLAUSES if c), "unclassified"):
                card = await cards.card(
                    folded, start=start, end=end, filters={"clause_id": (clause,)}
                )
                sums = period_sums(cells, start, end, None, {"clause_id": (clause,)})[None]
                now, before = sums[True], sums[False]
                rows = {(r["metric"], r["statistic"]): r for r in card.rows}
                volume = rows[("volume", "value")]
                assert (volume["current"], volume["previous"]) == (
                    now["volume"],
                    before["volume"],
                )
                assert volume["z"] == _round(poisson_z(now["volume"], before["volume"]))
                for m in RATES:
                    row = rows[(m.name, "value")]
                    got = [row[k] for k in ("current_numerator", "current_sample")]
                    got += [row[k] for k in ("previous_numerator", "previous_sample")]
                    expected = [now[m.numerator], now[m.denominator]]
                    expected += [before[m.numerator], before[m.denominator]]
                    assert got == expected, (m.name, clause, start)
                    assert row["z"] == _round(two_proportion_z(*expected))
                latency = rows[("decision_latency", "p50")]
                assert (latency["current_sample"], latency["previous_sample"]) == (
                    len(now["latencies"]),
                    len(before["latencies"]),
                )

    async def test_movers(self, folded: Pool) -> None:
        cells = await brute_force(folded, "hour")
        for start, end in RANGES:
            for dimension in ("region", "clause_id", "queue"):
                values = period_sums(cells, start, end, dimension)
                for m in RATES:
                    answer = await movers.movers(
                        folded,
                        metric=m,
                        dimension=dimension,
                        start=start,
                        end=end,
                        filters={},
                        min_sample=3,
                        limit=100,
                        direction=movers.Direction.ANY,
                    )
                    expected = []
                    for value, per in values.items():
                        x1, n1 = per[True][m.numerator], per[True][m.denominator]
                        x0, n0 = per[False][m.numerator], per[False][m.denominator]
                        if min(n1, n0) >= 3:
                            z = two_proportion_z(x1, n1, x0, n0)
                            assert z is not None
                            expected.append((value, x1, n1, x0, n0, round(z, 6)))
                    expected.sort(key=lambda e: (-abs(e[-1]), e[0]))
                    got = [
                        (
                            r[dimension],
                            r["current_numerator"],
                            r["current_denominator"],
                            r["previous_numerator"],
                            r["previous_denominator"],
                            r["score"],
                        )
                        for r in answer.rows
                    ]
                    assert got == expected, (m.name, dimension, start)

    async def test_drilldowns(self, folded: Pool) -> None:
        cells = await brute_force(folded, "hour")
        facts = {
            r["escalation_id"]: r
            for r in await folded.fetch("SELECT * FROM insights.escalation_facts")
        }
        scope = {"region": ("DE", "FR")}
        for start, end in RANGES:
            totals = period_sums(cells, start, end, None, scope)[None]
            for m in RATES:
                num, den = m.numerator, m.denominator
                answer = await drilldown.drilldown(
                    folded,
                    metric=m,
                    start=start,
                    end=end,
                    filters=scope,
                    dimensions=DIMENSIONS,
                    limit=100,
                    examples=2,
                )
                x1, n1 = totals[True][num], totals[True][den]
                x0, n0 = totals[False][num], totals[False][den]
                t = answer.total
                sides = [
                    "current_numerator",
                    "current_denominator",
                    "previous_numerator",
                    "previous_denominator",
                ]
                assert [t[k] for k in sides] == [x1, n1, x0, n0]
                if not (n1 and n0):
                    assert answer.rows == []
                    continue
                for dimension in DIMENSIONS:
                    rows = [r for r in answer.rows if r["dimension"] == dimension]
                    expected = {
                        v: (p[True][num], p[True][den], p[False][num], p[False][den])
                        for v, p in period_sums(cells, start, end, dimension, scope).items()
                    }
                    got = {
                        r["value"]: (
                            r["current_numerator"],
                            r["current_denominator"],
                            r["previous_numerator"],
                            r["previous_denominator"],
                        )
                        for r in rows
                    }
                    assert got == expected, (m.name, dimension, start)
                    # Contributions of one dimension add up to the change (6-digit rounding).
                    change = x1 / n1 - x0 / n0
                    assert abs(sum(r["contribution"] for r in rows) - change) < 1e-6 * (
                        len(rows) + 1
                    )
                    for r in rows:
                        for esc in r["examples"]:
                            f = facts[esc]
                            assert start <= f["created_at"] < end
                            assert f["region"] in scope["region"]
                            assert (f[dimension] or "") == r["value"]
                            counted = {
                                "policy_unclear": f["escalation_reason"] == "policy_unclear",
                                "volume": 1,
                                "decided": f["first_decision_at"] is not None,
                                "tag_agreed": bool(f["tag_agrees"]),
                            }
                            # Other counters are fact columns of the same name.
                            n = counted[num] if num in counted else f[num]
                            d = counted[den] if den in counted else f[den]
                            assert (n > 0) if r["contribution"] >= 0 else (d > n)
