"""Insights benchmark: generated escalations over 90 days folded into a private embedded
Postgres, then the query API timed in-process.

Events come from ``pp_shared.devstack.loadgen`` (skewed areas, clauses and regions, 400-character
texts, decisions, appeals and QA reviews), in creation order, and are folded through the
service's own consumer handler (``consumer.handle_batch``: the event log, facts and hourly
and daily rollups in one transaction per batch) without Kafka in between: the load rate is the
rollup maintenance rate of one consumer. Escalations are tagged with their declared clause,
else the clause their decision applied. Queries go through the insights app over ASGI
(validation, SQL, JSON), not over TCP.

    make bench-insights BENCH_ARGS="--escalations 1000000"
    python tests/bench/bench_insights.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import REGISTRY

from pp_insights import consumer
from pp_insights_testing.harness import declared_tag, migrated_pool, query_app, tagged_record
from pp_shared.contracts.events import UNCLASSIFIED
from pp_shared.db import Pool
from pp_shared.devstack.loadgen import CLAUSES, REGIONS, Generator, Profile
from pp_shared.kafka import Record
from pp_shared.serve import tune_gc
from pp_shared.testing.bench import private_postgres, write_report

END = datetime(2026, 11, 30, tzinfo=UTC)  # the default end of the load: fixed, so loads compare


def say(msg: str) -> None:
    print(f"bench-insights: {msg}", flush=True)


def escalations(
    n: int, days: int, seed: int, end: datetime = END
) -> Iterator[list[dict[str, Any]]]:
    """``n`` escalations with their events, created in time order over the ``days`` days to
    ``end``."""
    start = end - timedelta(days=days)
    gen = Generator(Profile(seed=seed, start=start, span=timedelta(days=days)))
    step = timedelta(days=days) / n
    rng = random.Random(seed)
    for i in range(n):
        yield gen.escalation_events(at=start + step * (i + rng.random()))


def tagged(events: list[dict[str, Any]], offset: int) -> list[Record]:
    """An escalation's events as the tagged topic holds them: the escalation tagged with its
    declared clause, else the clause its decision applied."""
    created = events[0]
    decided = next((e for e in events if e["event_type"] == "decision.made"), {})
    clause = created.get("suggested_clause_id") or decided.get("clause_id") or UNCLASSIFIED
    top = (declared_tag(clause),)
    return [tagged_record(e, offset + i, tags=top if i == 0 else ()) for i, e in enumerate(events)]


async def load(pool: Pool, args: argparse.Namespace) -> dict[str, Any]:
    batch: list[Record] = []
    events = folded_s = 0.0
    started = time.perf_counter()
    last_report = started
    for n, esc in enumerate(escalations(args.escalations, args.days, args.seed, args.end), 1):
        batch += tagged(esc, int(events) + len(batch))
        if len(batch) >= args.batch_events or n == args.escalations:
            t = time.perf_counter()
            await consumer.handle_batch(pool, records=batch)
            folded_s += time.perf_counter() - t
            events += len(batch)
            batch = []
            if time.perf_counter() - last_report > 30:
                last_report = time.perf_counter()
                say(f"  {n:,} escalations, {events / folded_s:,.0f} events/s folded")
    wall = time.perf_counter() - started
    phases = {
        phase: round(
            REGISTRY.get_sample_value("pp_insights_refresh_seconds_sum", {"phase": phase}) or 0.0, 1
        )
        for phase in ("facts", "rollup_hour", "rollup_day", "rollup_day_clause_region")
    }
    return {
        "escalations": args.escalations,
        "events": int(events),
        "batch_events": args.batch_events,
        "fold_seconds": round(folded_s, 1),
        "fold_events_per_s": round(events / folded_s),
        "fold_escalations_per_s": round(args.escalations / folded_s),
        "wall_seconds_with_generation": round(wall, 1),
        "refresh_seconds_by_phase": phases,
    }


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


async def time_queries(pool: Pool, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """p50/p95 per query shape; each repetition picks another clause or region (the
    skewed generator makes some far larger than others)."""
    rng = random.Random(args.seed)
    clauses = [c for area in CLAUSES.values() for c in area]
    areas = list(CLAUSES)
    to = args.end.isoformat()
    ninety = (args.end - timedelta(days=args.days)).isoformat()
    thirty = (args.end - timedelta(days=30)).isoformat()
    week = (args.end - timedelta(days=7)).isoformat()

    def shapes() -> dict[str, tuple[str, list[tuple[str, str | int | float | bool | None]]]]:
        clause, region, area = rng.choice(clauses), rng.choice(REGIONS), rng.choice(areas)
        return {
            "trend_90d_by_clause_and_region": (
                "/v1/insights/trends",
                [("metric", "overturn_rate"), ("interval", "day"), ("group_by", "clause_id"),
                 ("group_by", "region"), ("area", area), ("from", ninety), ("to", to)],
            ),
            "trend_90d_one_clause_one_region": (
                "/v1/insights/trends",
                [("metric", "policy_unclear_share"), ("interval", "day"),
                 ("clause_id", clause), ("region", region), ("from", ninety), ("to", to)],
            ),
            "trend_90d_latency_by_region": (
                "/v1/insights/trends",
                [("metric", "decision_latency"), ("interval", "week"), ("group_by", "region"),
                 ("clause_id", clause), ("from", ninety), ("to", to)],
            ),
            "card_clause_30d": (
                "/v1/insights/cards", [("clause_id", clause), ("from", thirty), ("to", to)]
            ),
            "card_area_30d": ("/v1/insights/cards", [("area", area), ("from", thirty), ("to", to)]),
            "movers_clause_7d": (
                "/v1/insights/movers",
                [("metric", "policy_unclear_share"), ("dimension", "clause_id"),
                 ("from", week), ("to", to)],
            ),
            "drilldown_area_30d": (
                "/v1/insights/drilldown",
                [("metric", "overturn_rate"), ("area", area), ("from", thirty), ("to", to)],
            ),
            "drilldown_clause_7d": (
                "/v1/insights/drilldown",
                [("metric", "volume"), ("clause_id", clause), ("from", week), ("to", to)],
            ),
        }  # fmt: skip

    samples: dict[str, list[float]] = {}
    app = query_app(pool, db_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        clause_launches, area_launches = await record_launches(client, rng, args)

        def impacts() -> dict[str, tuple[str, list[tuple[str, str | int | float | bool | None]]]]:
            # A launch halfway through the load: 45 days before it and 45 after, 90 in all.
            half = f"{args.days // 2}d"
            return {
                "impact_90d_clause_region": (
                    f"/v1/launches/{rng.choice(clause_launches)}/impact",
                    [("metric", "policy_unclear_share"), ("before", half), ("after", half)],
                ),
                "impact_90d_area": (
                    f"/v1/launches/{rng.choice(area_launches)}/impact",
                    [("metric", "overturn_rate"), ("before", half), ("after", half)],
                ),
            }

        for rep in range(args.repeat + 1):
            for name, (path, params) in {**shapes(), **impacts()}.items():
                t = time.perf_counter()
                r = await client.get(path, params=params)
                elapsed = time.perf_counter() - t
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: {r.status_code} {r.text[:300]}")
                if rep:  # the first round warms caches and plans
                    samples.setdefault(name, []).append(elapsed)
    if app.state.runtime.records is not None:
        await app.state.runtime.records.close()
    return {name: _quantiles(values) for name, values in samples.items()}


async def record_launches(
    client: httpx.AsyncClient, rng: random.Random, args: argparse.Namespace
) -> tuple[list[int], list[int]]:
    """Launches halfway through the load: 20 of one clause in one region, 4 of an area."""
    at = (args.end - timedelta(days=args.days // 2)).isoformat()
    clauses = [(area, c) for area, cs in CLAUSES.items() for c in cs]
    ids: tuple[list[int], list[int]] = ([], [])
    scopes = [
        (0, {"clause_ids": [c], "regions": [rng.choice(REGIONS)]})
        for _, c in rng.sample(clauses, 20)
    ] + [(1, {"area": area}) for area in CLAUSES]
    for kind, scope in scopes:
        r = await client.post(
            "/v1/launches", json={"title": "bench", "launched_at": at, "scope": scope}
        )
        if r.status_code != 201:
            raise RuntimeError(f"recording a launch: {r.status_code} {r.text[:300]}")
        ids[kind].append(r.json()["id"])
    return ids


async def sizes(pool: Pool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in ("event_log", "escalation_facts", "rollup_hour", "rollup_day"):
        rows = await pool.fetchval(f"SELECT count(*) FROM insights.{table}")  # noqa: S608
        size = await pool.fetchval(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'insights' AND (c.relname = $1 OR c.relname LIKE $1 || '\\_2%')"
            " AND c.relkind IN ('r', 'p')",
            table,
        )
        out[table] = {"rows": rows, "mb": round((size or 0) / 2**20)}
    return out


def _load_key(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in ("escalations", "days", "batch_events", "seed")} | {
        "end": args.end.isoformat()
    }


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    marker = args.data_dir / "loaded.json" if args.data_dir else None
    async with migrated_pool(db_url) as pool:
        results: dict[str, Any] = {}
        if marker is not None and marker.exists():
            kept = json.loads(marker.read_text(encoding="utf-8"))
            if kept["parameters"] != _load_key(args):
                raise SystemExit(
                    f"{args.data_dir} holds a load with {kept['parameters']}; pass the same "
                    "parameters, or another --data-dir"
                )
            say(f"reusing the load in {args.data_dir} (its figures are from when it was made)")
            results["load"] = kept["load"]
        else:
            say(f"folding {args.escalations:,} escalations over {args.days} days")
            results["load"] = await load(pool, args)
            if marker is not None:
                marker.write_text(
                    json.dumps({"parameters": _load_key(args), "load": results["load"]}),
                    encoding="utf-8",
                )
        say(f"  {results['load']}")
        await pool.execute("ANALYZE")
        results["tables"] = await sizes(pool)
        say(f"  {results['tables']}")
        say(f"timing queries ({args.repeat} each)")
        results["queries"] = await time_queries(pool, db_url, args)
        for name, q in results["queries"].items():
            say(f"  {name}: {q}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--escalations", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--batch-events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per query shape")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--end",
        type=lambda day: datetime.fromisoformat(day).replace(tzinfo=UTC),
        default=END,
        help="the day the load ends (YYYY-MM-DD; default %(default)s): today's date for a load "
        "the console's periods, which end now, will see",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results/insights.json"))
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the database here and, on the next run with the same load parameters, "
        "time the queries again without reloading",
    )
    args = parser.parse_args()
    tune_gc()  # as the service process does (pp_shared.serve)
    with private_postgres("insights", args.data_dir) as db_url:
        results = asyncio.run(run(args, db_url))
    write_report(args.out, "insights", args, results)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
