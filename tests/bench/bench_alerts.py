"""Alerts benchmark: rule evaluations and rules and breaches API calls, in-process, against a
private embedded Postgres.

Generated escalations (``pp_shared.devstack.loadgen``: skewed areas, clauses and regions, with
decisions, appeals and QA reviews) over eight days are folded into the rollups through the
insights consumer's handler; ``--rules`` rules of every condition kind (threshold, change,
binomial and Poisson tests, latency quantiles, a Bonferroni correction) are created through the
API. Then it times ``--evaluations`` passes of the evaluator over every enabled rule, as the
scheduler runs them (the first pass, which opens the breaches, is not timed: the timed ones
find the breaches firing and update them), and ``--requests`` calls of each rules and breaches
endpoint over ASGI, with the alert router, problem handlers and HTTP guards of the service.

It reports the CPU time of this process (``time.process_time``: the service's share of the
work; Postgres runs in its own processes) and the wall time, per pass, per rule and per
request. The machine's speed varies between days and with other load: compare two versions
of the code in the same hour, alternating runs.

    make bench-alerts BENCH_ARGS="--evaluations 40 --requests 200"
    python tests/bench/bench_alerts.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from pp_insights import consumer
from pp_insights.alerts.api import router
from pp_insights.alerts.runner import Alerts, alerts_running
from pp_insights.alerts.settings import AlertSettings
from pp_insights.facts import service as facts
from pp_insights_testing.harness import tagged_record
from pp_shared.db import apply_migrations
from pp_shared.devstack.loadgen import AREA_WEIGHTS, Generator, Profile
from pp_shared.http_guards import install_http_guards
from pp_shared.problems import install_problem_handlers
from pp_shared.serve import tune_gc
from pp_shared.service import Runtime
from pp_shared.settings import ServiceSettings
from pp_shared.testing.bench import private_postgres, write_report

END = datetime(2026, 11, 30, tzinfo=UTC)
DAYS = 8
PASS_STEP = timedelta(seconds=10)
"""The clock moves this much between evaluation passes, within one hour: the windows stay
the same, the evidence (its ``evaluated_at``) changes, so every firing breach is written, as
it is at every real evaluation."""
CLOSED_PORT = 9
"""The discard port: nothing listens there, so deliveries fail at once and retry later."""


class BenchSettings(ServiceSettings, AlertSettings):
    """The insights settings as far as alerting reads them."""


def say(msg: str) -> None:
    print(f"bench-alerts: {msg}", flush=True)


def records(escalations: int, seed: int) -> Iterator[list[Any]]:
    """Tagged-topic batches of ``escalations`` escalations over ``DAYS`` days before ``END``."""
    start = END - timedelta(days=DAYS)
    gen = Generator(Profile(seed=seed, start=start, span=timedelta(days=DAYS)))
    rng = random.Random(seed)
    batch: list[Any] = []
    for n in range(escalations):
        events = gen.escalation_events(
            at=start + timedelta(days=DAYS) * ((n + rng.random()) / escalations)
        )
        # Escalations tagged with their declared clause, or unclassified, as the classifier
        # tags them.
        batch += [tagged_record(event) for event in events]
        if len(batch) >= 2000:
            yield batch
            batch = []
    if batch:
        yield batch


def rule_bodies(count: int) -> list[dict[str, Any]]:
    """``count`` rules: each condition kind in turn, scoped to one area after another."""
    hook = f"http://127.0.0.1:{CLOSED_PORT}/hook"
    kinds: list[dict[str, Any]] = [
        {"metric": "policy_unclear_share", "group_by": ["clause_id"], "window": "24h",
         "condition": {"kind": "threshold", "threshold": 0.2}, "min_sample": 20},
        {"metric": "policy_unclear_share", "group_by": ["clause_id", "region"], "window": "24h",
         "condition": {"kind": "statistical", "baseline": "72h", "confidence": 0.95},
         "min_sample": 10},
        {"metric": "volume", "group_by": ["region"], "window": "24h",
         "condition": {"kind": "change", "factor": 0.9, "offset": "7d"}, "min_sample": 5},
        {"metric": "volume", "group_by": ["clause_id"], "window": "24h",
         "condition": {"kind": "statistical", "season": "1d", "seasons": 4, "confidence": 0.9},
         "min_sample": 5},
        {"metric": "decision_latency", "group_by": ["region"], "window": "24h", "quantile": 0.9,
         "condition": {"kind": "threshold", "threshold": 3600}, "min_sample": 10},
        {"metric": "overturn_rate", "group_by": ["clause_id"], "window": "72h",
         "condition": {"kind": "threshold", "threshold": 0.15}, "min_sample": 5},
        {"metric": "policy_unclear_share", "group_by": ["region"], "window": "24h",
         "condition": {"kind": "statistical", "baseline_rate": 0.2, "correction": "bonferroni"},
         "min_sample": 10},
    ]  # fmt: skip
    areas = list(AREA_WEIGHTS)
    out = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        area = areas[(i // len(kinds)) % len(areas)]
        channels = [{"name": "ops", "type": "webhook", "url": hook}] if i % 2 else []
        out.append(
            {"id": f"bench-{i:03d}", "name": f"Bench rule {i} ({area})", "scope": {"area": area},
             "severity": "high", "channels": channels, **kind}
        )  # fmt: skip
    return out


class Clock:
    """The alert tasks' clock, moved by the benchmark."""

    def __init__(self) -> None:
        # Windows end at the last complete hour: just after END, they end at END.
        self.now = END + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def alerting(
    runtime: Runtime, settings: BenchSettings, clock: Clock
) -> AsyncIterator[Alerts]:
    """The alert tasks as the insights lifespan starts them. The same file times the code
    before the typed alerts (796142a), whose ``alerts_running`` takes the pool alone."""
    start: Any = alerts_running
    if "records" in inspect.signature(alerts_running).parameters:
        opened = start(runtime.pool, runtime.open_records(), None, settings, clock=clock)
    else:
        opened = start(runtime.pool, None, settings, clock=clock)
    async with opened as alerts:
        yield alerts


def _timing(cpu: list[float], wall: list[float], per: int = 1) -> dict[str, float]:
    return {
        "cpu_ms_median": round(statistics.median(cpu) * 1000 / per, 3),
        "cpu_ms_mean": round(statistics.fmean(cpu) * 1000 / per, 3),
        "wall_ms_median": round(statistics.median(wall) * 1000 / per, 3),
        "n": len(cpu),
    }


async def timed(
    n: int, job: Callable[[int], Awaitable[object]], *, warm: int = 5, per: int = 1
) -> dict[str, float]:
    for i in range(warm):
        await job(i)
    cpu, wall = [], []
    for i in range(n):
        c, w = time.process_time(), time.perf_counter()
        await job(warm + i)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return _timing(cpu, wall, per)


async def time_api(
    client: httpx.AsyncClient, rules: list[dict[str, Any]], n: int
) -> dict[str, dict[str, float]]:
    breaches = (await client.get("/v1/breaches", params={"limit": 1000})).json()["breaches"]
    if not breaches:
        raise RuntimeError("no breach opened: the rules do not fit the data")
    rule_ids = [r["id"] for r in rules]
    breach_ids = [b["id"] for b in breaches]
    json_type = {"content-type": "application/json"}

    async def ok(response: Awaitable[httpx.Response]) -> httpx.Response:
        r = await response
        if r.status_code >= 300:
            raise RuntimeError(
                f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
            )
        return r

    async def put_rule(i: int) -> None:
        rule_id = rule_ids[i % len(rule_ids)]
        spec = (await ok(client.get(f"/v1/rules/{rule_id}"))).json()["spec"]
        await ok(client.put(f"/v1/rules/{rule_id}", json=spec))

    async def create_and_delete(i: int) -> None:
        body = {**rules[i % len(rules)], "id": f"extra-{i}"}
        await ok(client.post("/v1/rules", json=body))
        await ok(client.delete(f"/v1/rules/extra-{i}"))

    calls: dict[str, Callable[[int], Awaitable[object]]] = {
        "GET /v1/rules": lambda i: ok(client.get("/v1/rules")),
        "GET /v1/rules/{id}": lambda i: ok(client.get(f"/v1/rules/{rule_ids[i % len(rule_ids)]}")),
        "GET /v1/rules/{id}/versions": lambda i: ok(
            client.get(f"/v1/rules/{rule_ids[i % len(rule_ids)]}/versions")
        ),
        "GET + PUT /v1/rules/{id}": put_rule,
        "POST + DELETE /v1/rules": create_and_delete,
        "POST /v1/rules/preview": lambda i: ok(
            client.post("/v1/rules/preview", json=rules[i % len(rules)])
        ),
        "GET /v1/breaches": lambda i: ok(client.get("/v1/breaches", params={"limit": 100})),
        "GET /v1/breaches?state&rule_id": lambda i: ok(
            client.get(
                "/v1/breaches",
                params={"state": "firing", "rule_id": rule_ids[i % len(rule_ids)]},
            )
        ),
        "GET /v1/breaches/{id}": lambda i: ok(
            client.get(f"/v1/breaches/{breach_ids[i % len(breach_ids)]}")
        ),
        "POST /v1/breaches/{id}/ack": lambda i: ok(
            client.post(
                f"/v1/breaches/{breach_ids[i % len(breach_ids)]}/ack",
                json={"note": "bench"},
                headers=json_type,
            )
        ),
    }
    out: dict[str, dict[str, float]] = {}
    for name, call in calls.items():
        out[name] = await timed(n, call)
        say(f"  {name}: {out[name]}")
    return out


def api_app(runtime: Runtime, clock: Clock) -> FastAPI:
    app = FastAPI()
    install_http_guards(app, max_body_bytes=1024 * 1024)
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = runtime
    app.state.alerts_clock = clock
    return app


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    settings = BenchSettings(
        database_url=db_url,
        alert_evaluation_interval_seconds=3600,
        alert_sender_interval_seconds=3600,
        alert_webhook_allowed_hosts=["127.0.0.1"],
        alert_webhook_allow_http=True,
        alert_http_timeout_seconds=1,
        # A failed delivery waits a day: the sender, woken after each pass, finds nothing due.
        alert_retry_base_seconds=86400,
        alert_retry_max_seconds=86400,
    )
    runtime = Runtime("insights", settings)
    pool = await runtime.open_pool()
    try:
        await apply_migrations(pool, schema="insights", package="pp_insights")
        await facts.finish_pending_rebuilds(pool)
        say(f"folding {args.escalations:,} escalations over {DAYS} days")
        started = time.perf_counter()
        for batch in records(args.escalations, args.seed):
            await consumer.handle_batch(pool, records=batch)
        say(f"  folded in {time.perf_counter() - started:.1f} s")
        await pool.execute("ANALYZE")
        rules = rule_bodies(args.rules)
        results: dict[str, Any] = {}
        clock = Clock()
        async with alerting(runtime, settings, clock) as alerts:
            transport = httpx.ASGITransport(app=api_app(runtime, clock))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for body in rules:
                    r = await client.post("/v1/rules", json=body)
                    if r.status_code != 201:
                        raise RuntimeError(f"rule {body['id']}: {r.status_code} {r.text[:300]}")
                say(f"evaluating {len(rules)} rules ({args.evaluations} timed passes)")
                await alerts.evaluate()  # opens the breaches
                await alerts.sender.deliver_due()  # tries their notifications once
                results["breaches"] = await pool.fetchval(
                    "SELECT count(*) FROM insights.breaches WHERE state = 'firing'"
                )
                results["groups_per_pass"] = await pool.fetchval(
                    "SELECT sum(v::int)::int FROM insights.alert_rule_status,"
                    " jsonb_each_text(outcomes) AS e(k, v)"
                )

                async def evaluate(i: int) -> int:
                    clock.now += PASS_STEP
                    return await alerts.evaluate()

                passes = await timed(args.evaluations, evaluate, warm=2)
                results["evaluation_pass"] = passes
                results["evaluation_per_rule"] = {
                    k: round(v / len(rules), 3) if k != "n" else v for k, v in passes.items()
                }
                say(f"  {results['breaches']} firing breaches")
                say(f"  {results['groups_per_pass']} groups judged per pass")
                say(f"  per pass: {passes}")
                say(f"  per rule: {results['evaluation_per_rule']}")
                say(f"timing the API ({args.requests} calls each)")
                results["api"] = await time_api(client, rules, args.requests)
                cpu = [v["cpu_ms_median"] for v in results["api"].values()]
                mean = results["api_cpu_ms_median_mean_over_endpoints"] = round(
                    statistics.fmean(cpu), 3
                )
                say(f"  mean over the endpoints of the median CPU per call: {mean} ms")
    finally:
        await runtime.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--escalations", type=int, default=40_000)
    parser.add_argument("--rules", type=int, default=28)
    parser.add_argument("--evaluations", type=int, default=30, help="timed evaluation passes")
    parser.add_argument("--requests", type=int, default=200, help="timed calls per endpoint")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench-results/alerts.json"))
    args = parser.parse_args()
    tune_gc()  # as the service process does (pp_shared.serve)
    logging.disable(logging.WARNING)  # failed deliveries to the closed port are expected
    with private_postgres("alerts") as db_url:
        results = asyncio.run(run(args, db_url))
    write_report(args.out, "alerts", args, results)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
