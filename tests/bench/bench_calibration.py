"""Calibration benchmark: the results of an exercise of ``--cases`` cases answered by
``--moderators`` moderators (200 x 50 by default), bootstrap intervals included, in-process
against a private embedded Postgres.

A golden set of ``--clauses`` clauses plus ``none`` and its answers (each moderator right
with a probability of their own, wrong answers spread over the other clauses, one answer in
twenty missing) are posted through the calibration API. Then it times ``--requests`` calls
of ``GET .../results`` (load, statistics, answer) and ``GET .../comparison`` against a
second exercise, and, separately, the statistics alone (no database, no HTTP).

It reports the wall time (the target: results under 2 s) and the CPU time of this process
(``time.process_time``; Postgres runs in its own processes), median and maximum. The
machine's speed varies between days and with other load: compare two versions of the code
in the same hour.

    make bench-calibration BENCH_ARGS="--cases 200 --moderators 50 --requests 5"
    python tests/bench/bench_calibration.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from pp_insights.calibration import reports, repository
from pp_insights.calibration.api import router
from pp_insights.facts import service as facts
from pp_shared.db import apply_migrations
from pp_shared.http_guards import install_http_guards
from pp_shared.problems import install_problem_handlers
from pp_shared.serve import tune_gc
from pp_shared.service import Runtime
from pp_shared.settings import ServiceSettings
from pp_shared.testing.bench import private_postgres, write_report

BASE = "/v1/calibration"
CSV = {"content-type": "text/csv"}


def say(msg: str) -> None:
    print(f"bench-calibration: {msg}", flush=True)


def csv_body(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def design(args: argparse.Namespace, seed: int) -> tuple[list[list[object]], list[list[object]]]:
    """The golden cases and one exercise's answers."""
    rng = random.Random(seed)
    clauses = [f"HATE.CLAUSE_{i}" for i in range(args.clauses)] + ["none"]
    cases: list[list[object]] = [
        [f"case-{u}", f"text of case {u}", rng.choice(clauses)] for u in range(args.cases)
    ]
    answers: list[list[object]] = []
    for m in range(args.moderators):
        skill = rng.uniform(0.55, 0.95)
        for case_id, _, expected in cases:
            if rng.random() < 0.05:
                continue
            right = rng.random() < skill
            answers.append([f"m-{m}", case_id, expected if right else rng.choice(clauses)])
    return cases, answers


def api_app(runtime: Runtime) -> FastAPI:
    app = FastAPI()
    install_http_guards(app, max_body_bytes=64 * 1024 * 1024)
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = runtime
    return app


async def timed(count: int, call: Callable[[], Awaitable[object]]) -> dict[str, float]:
    """Wall and CPU milliseconds of ``count`` calls after one untimed warm-up."""
    await call()
    wall, cpu = [], []
    for _ in range(count):
        w, c = time.perf_counter(), time.process_time()
        await call()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {
        "n": count,
        "wall_ms_median": round(statistics.median(wall), 1),
        "wall_ms_max": round(max(wall), 1),
        "cpu_ms_median": round(statistics.median(cpu), 1),
    }


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    runtime = Runtime("insights", ServiceSettings(database_url=db_url))
    pool = await runtime.open_pool()
    results: dict[str, Any] = {}
    try:
        await apply_migrations(pool, schema="insights", package="pp_insights")
        await facts.finish_pending_rebuilds(pool)
        records = runtime.open_records()
        transport = httpx.ASGITransport(app=api_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            cases, answers = design(args, args.seed)
            r = await client.post(
                f"{BASE}/golden-sets", params={"name": "bench"}, headers=CSV,
                content=csv_body(["case_id", "text", "expected_clause_id"], cases),
            )  # fmt: skip
            golden = r.raise_for_status().json()["id"]
            exercises = []
            for k in range(2):
                r = await client.post(
                    f"{BASE}/exercises", json={"name": f"round {k}", "golden_set_id": golden}
                )
                exercise = r.raise_for_status().json()["id"]
                _, answers = design(args, args.seed + k)
                started = time.perf_counter()
                r = await client.post(
                    f"{BASE}/exercises/{exercise}/responses", headers=CSV,
                    content=csv_body(["moderator_id", "case_id", "clause_id"], answers),
                )  # fmt: skip
                counts = r.raise_for_status().json()["counts"]
                took = time.perf_counter() - started
                say(f"posted {counts['accepted']:,} answers in {took:.2f} s")
                exercises.append(exercise)
            before, after = exercises
            results["answers"] = counts["accepted"]

            async def get_results() -> None:
                (await client.get(f"{BASE}/exercises/{after}/results")).raise_for_status()

            async def get_comparison() -> None:
                r = await client.get(
                    f"{BASE}/exercises/{after}/comparison", params={"baseline": before}
                )
                r.raise_for_status()

            async with records.reading() as session:
                exercise = await repository.exercise(session, after)
                assert exercise is not None
                loaded = await reports.load_design(session, exercise)

            async def statistics_only() -> None:
                reports.compute_results(exercise, loaded, 10, BASE)

            say(f"timing {args.requests} calls each")
            for name, call in [
                ("results_request", get_results),
                ("comparison_request", get_comparison),
                ("results_statistics_only", statistics_only),
            ]:
                results[name] = await timed(args.requests, call)
                say(f"  {name}: {results[name]}")
        results["under_2_s"] = results["results_request"]["wall_ms_max"] < 2000
    finally:
        await runtime.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--moderators", type=int, default=50)
    parser.add_argument("--clauses", type=int, default=12, help="clauses besides none")
    parser.add_argument("--requests", type=int, default=5, help="timed calls of each")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("bench-results/calibration.json"))
    args = parser.parse_args()
    tune_gc()  # as the service process does (pp_shared.serve)
    logging.disable(logging.INFO)
    say(f"{args.cases} cases x {args.moderators} moderators, {args.clauses} clauses + none")
    with private_postgres("calibration") as db_url:
        results = asyncio.run(run(args, db_url))
    results["at"] = datetime.now(UTC).isoformat()
    write_report(args.out, "calibration", args, results)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
