"""What the gateway costs per request: its process's CPU per single POST, relayed to an
upstream that answers 202 at once (``bench_http_floor``'s no-op app), driven by wrk.

Modes, alternated round by round so that the machine's drift falls on each alike:

- ``required``: every request carries an ``ingest`` key (checked, rate-limited, audited,
  signed to the upstream), as deployed;
- ``off``: ``PP_GATEWAY_AUTH=off``, everything else the same.

The upstream and wrk run in processes of their own; only the gateway's CPU is counted. Run it
from an older checkout (``--modes off``) to compare with a gateway before keys existed.

    make bench-gateway
    make bench-gateway BENCH_ARGS="--rounds 5 --seconds 10"
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pp_shared.devstack.embedded import free_port
from pp_shared.testing.bench import cpu_seconds, private_postgres, wait_listening

HERE = Path(__file__).parent


def gateway(env: dict[str, str], mode: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pp_gateway"],
            env={**env, "PP_PORT": str(port), "PP_GATEWAY_AUTH": mode},
            stdout=out,
            stderr=out,
        )
    wait_listening(port, process, "the gateway")
    return process, port


def run_wrk(port: int, headers: list[str], concurrency: int, seconds: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", str(HERE / "gateway_post.lua"),
         f"http://127.0.0.1:{port}/v1/events", "--", *headers],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="required,off", help="comma-separated: required, off")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="of each wrk run")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    modes = args.modes.split(",")
    with (
        tempfile.TemporaryDirectory(prefix="pp-bench-gateway-") as tmp,
        private_postgres("gateway") as database_url,
    ):
        work = Path(tmp)
        upstream_port = free_port()
        upstream = subprocess.Popen(
            [sys.executable, str(HERE / "bench_http_floor.py"), "--serve", "--port",
             str(upstream_port)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_listening(upstream_port, upstream, "the upstream")
            env = {
                **os.environ,
                "PP_DATABASE_URL": database_url,
                "PP_INGEST_URL": f"http://127.0.0.1:{upstream_port}",
                "PP_GATEWAY_SECRET": secrets.token_urlsafe(32),
                "PP_RATE_LIMIT_SCALE": "1000",
                "PP_LOG_LEVEL": "WARNING",
            }
            key = None
            results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
            for round_ in range(args.rounds):
                for mode in modes:
                    process, port = gateway(env, mode, work / "gateway.log")
                    try:
                        if mode == "required" and key is None:
                            from pp_shared.testing.apps import make_api_key

                            key = make_api_key(env, "ingest")
                        headers = [f"Authorization: Bearer {key}"] if mode == "required" else []
                        run_wrk(port, headers, args.concurrency, 2)  # warm up
                        before = cpu_seconds(process.pid)
                        summary = run_wrk(port, headers, args.concurrency, args.seconds)
                        used = cpu_seconds(process.pid) - before
                    finally:
                        process.terminate()
                        process.wait(10)
                    n = summary["requests"]
                    result = {
                        "requests_per_s": round(n / summary["seconds"], 1),
                        "gateway_cpu_us_per_request": round(used / n * 1e6, 1),
                        "non_2xx": summary["non_2xx"],
                        "p99_ms": summary["p99_ms"],
                    }
                    results[mode].append(result)
                    print(f"bench-gateway: round {round_ + 1} {mode}: {result}", flush=True)
        finally:
            upstream.terminate()
            upstream.wait(10)
    for mode, runs in results.items():
        cpu = statistics.median(r["gateway_cpu_us_per_request"] for r in runs)
        rate = statistics.median(r["requests_per_s"] for r in runs)
        print(f"bench-gateway: {mode}: median {cpu:.1f} us of gateway CPU per request, "
              f"{rate:.0f} requests/s ({len(runs)} runs)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
