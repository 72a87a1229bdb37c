"""Console pages' server time: the four services as processes on a private Postgres and
broker, a demo load of generated events (``policypulse demo``'s), then each page asked for
``--requests`` times by a signed-in browser session, one at a time. The time is the page's own
``Server-Timing`` (from its handler's start to its rendered HTML, every API call it makes
through the gateway's relay included); wall time as the client saw it beside it, and the
median time of each API call the page made (``--calls``), slowest first.

    make bench-console
    make bench-console BENCH_ARGS="--per-day 20000 --days 28 --requests 40"

On the large load of the insights benchmark instead of a demo load: make that load once, its
database kept in a directory and ending today (the console's periods end now), then point this
bench at the directory. The four services run on that database; the demo's rules, launch and
exercise are added to it.

    make bench-insights BENCH_ARGS="--escalations 10000000 --end $(date -u +%F) --data-dir DIR"
    make bench-console BENCH_ARGS="--data-dir DIR"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from pp_gateway.console import demo, formats
from pp_shared.testing.apps import running_stack
from pp_shared.testing.bench import private_postgres
from pp_shared.testing.servers import create_database, provide_servers, with_database

PAGES = (
    "/areas/HATE",
    "/areas/HATE?period=7d",
    "/areas/HATE?period=28d",
    "/clauses/HATE.PROTECTED_ATTR.RACE",
    "/clauses/HATE.PROTECTED_ATTR.RACE?period=28d&metric=overturn_rate&group_by=region",
    "/breaches",
    "/breaches/{breach}",
    "{drill}",
    "/rules",
    "/rules/demo-hate-volume",
    "/taxonomy",
    "/launches",
    "/launches/1",
    "/calibration",
    "/calibration/1",
    "/calibration/agreement",
    "/calibration/agreement?period=28d&group_by=region",
    "/calibration/agreement/moderators",
)
TIMING = re.compile(r"page;dur=([0-9.]+)")
CALL = re.compile(r'call;desc="([^"]*)";dur=([0-9.]+)')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def first_breach(api: httpx.Client, timeout: float = 120.0) -> int:
    """The first breach the demo rules open (the evaluator runs every 2 s here)."""
    deadline = time.monotonic() + timeout
    while True:
        found = api.get("/v1/breaches", params={"state": "firing"}).json()["breaches"]
        if found:
            return int(min(b["id"] for b in found))
        if time.monotonic() > deadline:
            raise SystemExit(f"no breach fired within {timeout:.0f} s")
        time.sleep(0.5)


def drill_page(api: httpx.Client, breach: int) -> str:
    """The drill-down page the breach's link opens (the "Drill down" button of its alert)."""
    found = api.get(f"/v1/breaches/{breach}").json()
    return formats.drill_link(found["evidence"]["drilldown"])


def signed_in(url: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = client.post("/sign-in", data={"csrf_token": token[1], "key": key, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def kept_load(data_dir: Path) -> int:
    """The escalations of the insights benchmark's load kept in ``data_dir``."""
    marker = data_dir / "loaded.json"
    if not marker.exists():
        raise SystemExit(
            f"{data_dir} holds no load of the insights benchmark: make one with make "
            'bench-insights BENCH_ARGS="--escalations N --end YYYY-MM-DD --data-dir DIR"'
        )
    parameters = json.loads(marker.read_text(encoding="utf-8"))["parameters"]
    print(f"on the insights benchmark's load in {data_dir}: {parameters}", flush=True)
    return int(parameters["escalations"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--per-day", type=int, default=3000, help="escalations a day")
    parser.add_argument("--requests", type=int, default=20, help="of each page")
    parser.add_argument("--out", type=Path, default=Path("bench-results/console.json"))
    parser.add_argument("--calls", action="store_true", help="print each page's API calls")
    parser.add_argument("--pages", nargs="*", default=list(PAGES), help="the pages to ask for")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="run on the load 'make bench-insights' kept in this directory, not a demo load",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        kept = kept_load(args.data_dir) if args.data_dir is not None else None
        servers = stack.enter_context(provide_servers())
        tmp = stack.enter_context(TemporaryDirectory(prefix="pp-bench-console-"))
        if args.data_dir is not None:
            database_url = stack.enter_context(private_postgres("console", args.data_dir))
        else:
            name = asyncio.run(create_database(servers.database_url))
            database_url = with_database(servers.database_url, name)
        env = {
            "PP_DATABASE_URL": database_url,
            "PP_KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
            "PP_TOPIC_PREFIX": f"bench{secrets.token_hex(4)}.",
            "PP_KAFKA_SESSION_TIMEOUT_MS": str(servers.session_timeout_ms),
            # The bench is one client asking as fast as it can; the limits are not measured.
            "PP_RATE_LIMIT_SCALE": "100",
            "PP_ALERT_EVALUATION_INTERVAL_SECONDS": "2",
        }
        with running_stack(env, Path(tmp) / "logs") as group:
            url = group.child("api-gateway").url
            assert group.api_key is not None
            plan = demo.DemoPlan(days=args.days, escalations_per_day=args.per_day, seed=5)
            headers = {"Authorization": f"Bearer {group.api_key}"}
            started = time.monotonic()
            with httpx.Client(base_url=url, headers=headers, timeout=300) as api:
                if kept is None:
                    loaded = demo.load(api, plan, now=datetime.now(UTC), timeout=3600)
                else:
                    loaded = kept
                demo.make_rules(api)
                demo.make_launch(api, now=datetime.now(UTC), days=min(plan.days, 5))
                demo.make_exercise(api)
                breach = first_breach(api)
                drill = drill_page(api, breach)
            if kept is None:
                print(
                    f"loaded {loaded:,} escalations over {plan.days} days in "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
            report: dict[str, dict[str, Any]] = {}
            everything: list[float] = []
            browser = signed_in(url, group.api_key)
            try:
                for page in (p.format(breach=breach, drill=drill) for p in args.pages):
                    server: list[float] = []
                    wall: list[float] = []
                    calls: dict[str, list[float]] = {}
                    for _ in range(args.requests):
                        began = time.perf_counter()
                        answer = browser.get(page)
                        wall.append((time.perf_counter() - began) * 1000)
                        assert answer.status_code == 200, (page, answer.status_code)
                        found = TIMING.search(answer.headers.get("server-timing", ""))
                        assert found is not None, page
                        server.append(float(found[1]))
                        for what, ms in CALL.findall(answer.headers["server-timing"]):
                            calls.setdefault(what, []).append(float(ms))
                    everything += server
                    report[page] = {
                        "server_p50_ms": statistics.median(server),
                        "server_p95_ms": percentile(server, 0.95),
                        "wall_p95_ms": percentile(wall, 0.95),
                        "calls_p50_ms": {
                            what: statistics.median(ms)
                            for what, ms in sorted(calls.items(), key=lambda c: -max(c[1]))
                        },
                    }
                    print(
                        f"{page:80} server p50 {report[page]['server_p50_ms']:6.1f} ms  "
                        f"p95 {report[page]['server_p95_ms']:6.1f} ms  wall p95 "
                        f"{report[page]['wall_p95_ms']:6.1f} ms",
                        flush=True,
                    )
                    if args.calls:
                        for what, ms in report[page]["calls_p50_ms"].items():
                            print(f"    {what:76} p50 {ms:6.1f} ms", flush=True)
            finally:
                browser.close()
            overall = percentile(everything, 0.95)
            print(f"every page: server p95 {overall:.1f} ms over {len(everything)} requests")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(
                json.dumps(
                    {
                        "escalations": loaded,
                        "days": plan.days if kept is None else None,
                        "data_dir": None if args.data_dir is None else str(args.data_dir),
                        "requests": args.requests,
                        "pages": report,
                        "server_p95_ms": overall,
                    },
                    indent=2,
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
