"""What the shared RED middleware (``pp_shared.http_metrics.HttpMetrics``) adds to a request.

Calls a minimal ASGI app (answers 202 with an empty body) in-process, with and without the
middleware in front, and prints the CPU time per request of each and their difference; for
reference, what ingest's single-event POST already spends on its own histogram
(``pp_ingest_http_request_seconds``, one ``labels().observe()``), which the shared
middleware does not touch. No server, no network: only the middleware's own cost.

    .venv/bin/python tests/bench/bench_http_metrics.py [--requests 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from starlette.types import ASGIApp, Message, Scope

from pp_ingest.metrics import HTTP_SECONDS
from pp_shared.http_metrics import HttpMetrics


class _Route:
    path = "/v1/rules/{rule_id}"


async def bare(scope: Scope, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Message) -> None:
    return None


async def run(app: ASGIApp, scope: Scope, n: int) -> float:
    """CPU seconds per request for ``n`` requests."""
    started = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.process_time() - started) / n


def ingest_fast_path_metric(n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        HTTP_SECONDS.labels("POST", "/v1/events", "2xx").observe(time.perf_counter() - t)
    return (time.process_time() - started) / n


async def main(n: int, rounds: int) -> None:
    routed = {"type": "http", "method": "GET", "path": "/v1/rules/r1", "route": _Route()}
    relayed = {"type": "http", "method": "POST", "path": "/v1/events", "raw_path": b"/v1/events"}
    with_route = HttpMetrics(bare, service="bench")
    with_route_of = HttpMetrics(bare, service="bench", route_of=lambda _scope: "/v1/events")
    results: dict[str, list[float]] = {
        "bare": [],
        "routed": [],
        "relayed": [],
        "ingest_metric": [],
    }
    for _ in range(rounds):
        results["bare"].append(await run(bare, routed, n))
        results["routed"].append(await run(with_route, routed, n))
        results["relayed"].append(await run(with_route_of, relayed, n))
        results["ingest_metric"].append(ingest_fast_path_metric(n))
    median = {name: statistics.median(values) * 1e6 for name, values in results.items()}
    print(f"{n} requests x {rounds} rounds, median CPU per request:")
    print(f"  bare ASGI app                          {median['bare']:.2f} us")
    print(
        f"  with HttpMetrics, FastAPI route        {median['routed']:.2f} us "
        f"(+{median['routed'] - median['bare']:.2f} us)"
    )
    print(
        f"  with HttpMetrics, route_of (gateway)   {median['relayed']:.2f} us "
        f"(+{median['relayed'] - median['bare']:.2f} us)"
    )
    print(f"  ingest's own histogram, per single POST {median['ingest_metric']:.2f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
