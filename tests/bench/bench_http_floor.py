"""The HTTP floor: what a POST costs before a service does any work.

Runs an ASGI app that reads the body and answers 202 with nothing else, under uvicorn as the
services run (httptools, uvloop, no access log), and drives it with the two clients the
pipeline benchmark can use: wrk (C) and aiohttp (the Python client, as the gateway's relay
uses it). Prints requests/s and the CPU per request of the server and of the client.

A single POST through the gateway pays this twice (the gateway's server, then ingest's)
plus one aiohttp client request (the relay) before any validation or produce, so these
figures bound the single-POST target from below.

    make bench-floor
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from pp_shared.devstack.embedded import free_port
from pp_shared.testing.bench import cpu_seconds, wait_listening

BODY = b'{"text": "' + b"a" * 900 + b'"}'
JSON = {"content-type": "application/json"}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the body, answer 202: the least an intake endpoint does."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status":"accepted"}'})


def with_wrk(url: str, server: int, concurrency: int, seconds: int) -> dict[str, Any]:
    script = Path(__file__).with_name("floor_post.lua")
    before = cpu_seconds(server)
    started = os.times()
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ended = os.times()
    summary = json.loads(out.strip().splitlines()[-1])
    n = summary["requests"]
    client = (ended.children_user + ended.children_system) - (
        started.children_user + started.children_system
    )
    return {
        "client": "wrk",
        "requests": n,
        "requests_per_s": round(n / summary["seconds"], 1),
        "p99_ms": summary["p99_ms"],
        "server_cpu_us_per_request": round((cpu_seconds(server) - before) / n * 1e6, 1),
        "client_cpu_us_per_request": round(client / n * 1e6, 1),
    }


async def with_aiohttp(url: str, server: int, concurrency: int, requests: int) -> dict[str, Any]:
    left = requests
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with client.post(url, data=BODY, headers=JSON) as r:
                    await r.read()
                    if r.status != 202:
                        raise RuntimeError(f"the floor app answered {r.status}")

        before, mine, start = cpu_seconds(server), time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "client": "aiohttp",
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "server_cpu_us_per_request": round((cpu_seconds(server) - before) / requests * 1e6, 1),
        "client_cpu_us_per_request": round((time.process_time() - mine) / requests * 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10, help="of the wrk run")
    parser.add_argument("--requests", type=int, default=20_000, help="of the aiohttp run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import uvicorn

        uvicorn.run(app, port=args.port, log_level="warning", access_log=False)
        return 0
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/events"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(port)], stdout=subprocess.DEVNULL
    )
    try:
        wait_listening(port, server, "the floor app", timeout=30)
        results = []
        if shutil.which("wrk"):
            results.append(with_wrk(url, server.pid, args.concurrency, args.seconds))
        else:
            print("bench-floor: wrk not installed; aiohttp only", flush=True)
        results.append(asyncio.run(with_aiohttp(url, server.pid, args.concurrency, args.requests)))
    finally:
        server.terminate()
        server.wait(10)
    for r in results:
        print(f"bench-floor: {r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
