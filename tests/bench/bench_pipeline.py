"""End-to-end benchmark: starts the embedded stack and all four services, drives the public
gateway with realistic events, and prints (and writes as JSON) what it measured.

    make bench                       # defaults sized for a 2-core machine
    python tests/bench/bench_pipeline.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from pp_shared.devstack.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from pp_shared.devstack.loadgen import Generator, Profile
from pp_shared.devstack.stack import ServiceGroup
from pp_shared.identity import Identity, identity_headers
from pp_shared.testing.apps import make_api_key
from pp_shared.testing.bench import write_report


def say(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def _proc_cpu(pid: int) -> tuple[float, int]:
    """(CPU seconds of the process and its reaped children, parent pid) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK"), int(fields[1])


class CpuProbe:
    """CPU seconds each part of the stack has used, descendants included (PostgreSQL's
    backends are children of its postmaster). CPU time, unlike throughput, says where the
    time goes even when other work shares the machine."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots

    def read(self) -> dict[str, float]:
        usage: dict[int, tuple[float, int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    usage[int(entry.name)] = _proc_cpu(int(entry.name))
                except (OSError, ValueError, IndexError):
                    continue  # the process ended while /proc was read
        totals = dict.fromkeys(self.roots, 0.0)
        owner = {pid: name for name, pid in self.roots.items()}
        for pid, (seconds, _parent) in usage.items():
            cursor: int | None = pid
            while cursor is not None and cursor not in owner:
                parent = usage.get(cursor, (0.0, 0))[1]
                cursor = parent if parent > 1 else None
            if cursor is not None:
                totals[owner[cursor]] += seconds
        return totals

    @staticmethod
    def per_event(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, Any]:
        """Microseconds of CPU per event for each part, and the total."""
        used = {name: after[name] - before[name] for name in before}
        micros = {name: round(sec / events * 1e6, 1) for name, sec in used.items()}
        micros["total"] = round(sum(used.values()) / events * 1e6, 1)
        return micros


@dataclass(frozen=True)
class Stack:
    gateway: str
    ingest: str
    insights: str
    db_url: str
    cpu: CpuProbe
    bootstrap: str
    workdir: Path
    key: str | None
    """The load generator's ``ingest`` key (None when the gateway's authentication is off)."""
    secret: str

    def headers(self, url: str) -> dict[str, str]:
        """What a request to ``url`` carries besides its body's type: the key for the
        gateway; straight to ingest, the identity the gateway would have signed."""
        if url.startswith(self.ingest):
            identity = Identity("bench", "ingest", "ppk_benchxxx", None)
            signed = identity_headers(self.secret.encode(), identity, "POST", b"/v1/events")
            return {k.decode(): v.decode() for k, v in signed}
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


@contextmanager
def running_stack(workdir: Path, *, retraining: bool, auth: str) -> Iterator[Stack]:
    """A fresh stack on free ports. Unless ``retraining``, the classifier does not retrain its
    model during the run: retraining is a periodic job over every stored text (measured by
    ``make bench-classifier``), and with its default of every 100 new decision labels it
    would run every 30 s here and take a core for a varying share of each phase."""
    pg = EmbeddedPostgres(workdir / "pg", database="policypulse")
    broker = EmbeddedBroker(port=free_port(), log_file=workdir / "broker.log")
    db_url = pg.start()
    try:
        bootstrap = broker.start()
        env = {
            **os.environ,
            "PP_DATABASE_URL": db_url,
            "PP_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "PP_KAFKA_SESSION_TIMEOUT_MS": "3000",
            "PP_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "PP_GATEWAY_SECRET": secrets.token_urlsafe(32),
            "PP_GATEWAY_AUTH": auth,
            # The benchmark measures what a request costs, not the keys' rate limits.
            "PP_RATE_LIMIT_SCALE": "1000",
        }
        if not retraining:
            env |= {"PP_RETRAIN_MIN_NEW_LABELS": str(10**12), "PP_RETRAIN_INTERVAL_SECONDS": "0"}
        names = ("ingest", "classifier", "insights", "api-gateway")
        group = ServiceGroup(
            env, log_dir=workdir / "logs", ports={n: free_port() for n in names}, out=say
        )
        try:
            t0 = time.monotonic()
            group.start(timeout=90)
            say(f"stack ready in {time.monotonic() - t0:.1f} s (logs: {workdir / 'logs'})")
            key = make_api_key(env, "ingest") if auth == "required" else None
            say(f"gateway authentication: {auth}" + (", with an ingest key" if key else ""))
            roots = {
                name: proc.pid for name in names if (proc := group.child(name).process) is not None
            }
            pg_pid = int((workdir / "pg" / "postmaster.pid").read_text().split()[0])
            assert broker.process is not None
            roots |= {"postgres": pg_pid, "broker": broker.process.pid, "load": os.getpid()}
            yield Stack(
                gateway=group.child("api-gateway").url,
                ingest=group.child("ingest").url,
                insights=group.child("insights").url,
                db_url=db_url,
                cpu=CpuProbe(roots),
                bootstrap=bootstrap,
                workdir=workdir,
                key=key,
                secret=env["PP_GATEWAY_SECRET"],
            )
        finally:
            group.stop()
            broker.stop()
    finally:
        pg.stop()


JSON = {"content-type": "application/json"}


def client_session(concurrency: int) -> aiohttp.ClientSession:
    """The load generator's client. aiohttp, because httpx's pool costs more CPU per request
    than the services under test at this concurrency, which would measure the client."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=120),
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


async def single_posts(
    gateway: str,
    events: list[dict[str, Any]],
    concurrency: int,
    on_progress: Callable[[int], None],
    headers: dict[str, str],
) -> dict[str, Any]:
    headers = {**JSON, **headers}
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for e in events:
        queue.put_nowait(orjson.dumps(e))
    async with client_session(concurrency) as client:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                body = queue.get_nowait()
                t = time.perf_counter()
                async with client.post(f"{gateway}/v1/events", data=body, headers=headers) as r:
                    await r.read()
                    status = r.status
                latencies.append(time.perf_counter() - t)
                if status != 202:
                    failures += 1
                if len(latencies) % 2000 == 0:
                    on_progress(len(latencies))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "failures": failures,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(latencies, 0.50) * 1000, 2),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 2),
        "concurrency": concurrency,
    }


WRK_SCRIPT = Path(__file__).with_name("single_posts.lua")


async def wrk_posts(
    url: str,
    events_file: Path,
    events: int,
    concurrency: int,
    seconds: int,
    headers: dict[str, str],
) -> dict[str, Any]:
    """Single POSTs from wrk for ``seconds``, each the next event of ``events_file``. wrk is
    written in C: it spends about 50 us of CPU per request where aiohttp spends about 170, on
    the same two cores as the stack it measures."""
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(events_file),
        "/v1/events",
        *(f"{name}: {value}" for name, value in headers.items()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode(errors='replace')}")
    summary = json.loads(out.decode().strip().splitlines()[-1])
    if summary["requests"] >= events:
        raise RuntimeError(
            f"wrk sent all {events} events before its {seconds} s were up, so its rate would "
            "count idle time: raise --single-max-rate"
        )
    return {
        "requests": summary["requests"],
        "failures": summary["non_2xx"] + summary["socket_errors"],
        "seconds": round(summary["seconds"], 2),
        "requests_per_s": round(summary["requests"] / summary["seconds"], 1),
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "concurrency": concurrency,
        "load_generator": "wrk",
    }


async def ingest_accepted(ingest: str) -> int:
    """Events ingest has accepted over HTTP, from its own counter. wrk stops at its deadline
    with requests in flight that ingest may still accept; this counts those too."""
    async with aiohttp.ClientSession() as client:
        return await counter_total(
            client, ingest, "pp_ingest_events_total", path="http", outcome="accepted"
        )


async def batch_posts(
    gateway: str,
    events: list[dict[str, Any]],
    batch: int,
    concurrency: int,
    headers: dict[str, str],
) -> dict[str, Any] | None:
    headers = {**JSON, **headers}
    bodies = [orjson.dumps(events[i : i + batch]) for i in range(0, len(events), batch)]
    async with client_session(concurrency) as client:
        async with client.post(f"{gateway}/v1/events:batch", data=b"[]", headers=headers) as probe:
            await probe.read()
            if probe.status in (404, 405):
                return None
        latencies: list[float] = []
        accepted = 0
        refused: Counter[int] = Counter()
        refusals: dict[int, str] = {}
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for b in bodies:
            queue.put_nowait(b)

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                body = queue.get_nowait()
                t = time.perf_counter()
                async with client.post(
                    f"{gateway}/v1/events:batch", data=body, headers=headers
                ) as r:
                    answer = await r.json(content_type=None)
                    if r.status != 200:
                        refused[r.status] += 1
                        why = f"{answer.get('detail')} ({answer.get('reason')})"
                        refusals.setdefault(r.status, why)
                latencies.append(time.perf_counter() - t)
                accepted += int(answer.get("counts", {}).get("accepted", 0))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "events": len(events),
        "accepted": accepted,
        "batch_size": batch,
        "concurrency": concurrency,
        "refused_requests": {str(status): n for status, n in sorted(refused.items())},
        "refusal_details": {str(status): detail for status, detail in refusals.items()},
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(events) / elapsed, 1),
        "batch_p50_ms": round(pct(latencies, 0.5) * 1000, 1),
        "batch_p99_ms": round(pct(latencies, 0.99) * 1000, 1),
    }


async def counter_total(client: aiohttp.ClientSession, url: str, name: str, **labels: str) -> int:
    """The sum of a counter's samples with ``labels`` on a service's /metrics page."""
    async with client.get(f"{url}/metrics") as r:
        text = await r.text()
    return round(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )
    )


async def wait_visible(insights: str, expected: int, timeout: float) -> float:
    """The monotonic time at which insights has stored ``expected`` events in total.

    It reads insights' own counter of new events, which moves after each batch's commit: a
    ``count(*)`` of the event log every 50 ms took a tenth of PostgreSQL's time in the
    end-to-end phase, and more as the log grew."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as client:
        while True:
            n = await counter_total(client, insights, "pp_insights_events_total", outcome="new")
            if n >= expected:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {n} of {expected} events visible after {timeout} s")
            await asyncio.sleep(0.05)


async def fixed_rate(
    stack: Stack, rate: int, seconds: int, gen: Generator, *, stored_before: int, batched: bool
) -> dict[str, Any]:
    """Submit ``rate`` escalations/s (in 20 ms ticks) stamped with the send time, then read
    submission-to-stored latency from insights' own commit timestamps. Each event is a single
    POST, or, ``batched``, each tick's events are one batch request, as an upstream tool that
    buffers for 20 ms would send them."""
    tick = 0.02
    per_tick = max(1, round(rate * tick))
    source = f"bench-latency-{'batched' if batched else 'single'}"
    sent = 0
    refused = 0
    headers = {**JSON, **stack.headers(stack.gateway)}

    async def post(client: aiohttp.ClientSession, events: list[dict[str, Any]]) -> None:
        nonlocal refused
        if batched:
            url, body = f"{stack.gateway}/v1/events:batch", orjson.dumps(events)
        else:
            url, body = f"{stack.gateway}/v1/events", orjson.dumps(events[0])
        async with client.post(url, data=body, headers=headers) as r:
            answer = await r.json(content_type=None)
            if r.status == 202:
                return
            accepted = answer.get("counts", {}).get("accepted", 0) if r.status == 200 else 0
            refused += len(events) - accepted

    # Made before the clock starts (text included), so that making them does not take CPU
    # from the stack while it is measured; each is stamped with its send time.
    ticks = int(seconds / tick)
    prepared = [gen.escalation_events()[0] | {"source": source} for _ in range(ticks * per_tick)]
    cpu_before = stack.cpu.read()
    async with client_session(64) as client:
        start = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()
        for i in range(ticks):
            target = start + i * tick
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            events = prepared[i * per_tick : (i + 1) * per_tick]
            for event in events:
                event["occurred_at"] = now
            groups = [events] if batched else [[e] for e in events]
            pending |= {asyncio.create_task(post(client, group)) for group in groups}
            sent += per_tick
            pending = {t for t in pending if not t.done()}
        await asyncio.gather(*pending)
    if refused:
        raise RuntimeError(f"{refused} of {sent} fixed-rate events were not accepted")
    await wait_visible(stack.insights, stored_before + sent, timeout=60)
    cpu = CpuProbe.per_event(cpu_before, stack.cpu.read(), sent)
    conn = await asyncpg.connect(stack.db_url)
    try:
        row = await conn.fetchrow(
            """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,
                      percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99
               FROM (SELECT extract(epoch FROM stored_at - occurred_at) AS d
                     FROM insights.event_log WHERE body->>'source' = $1) s""",
            source,
        )
    finally:
        await conn.close()
    assert row is not None
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "events": sent,
        "p50_ms": round(row["p50"] * 1000, 1),
        "p99_ms": round(row["p99"] * 1000, 1),
        "submitted_as": "batches of one 20 ms tick" if batched else "single POSTs",
        "cpu_us_per_event": cpu,
    }


async def bare_producer(bootstrap: str, messages: int) -> dict[str, Any]:
    """1 KB messages/s of a bare aiokafka producer with its default settings, against the same
    broker: the reference the ingest targets were set beside (about 36,000/s on the machine
    they were set on). The same machine runs this at a third of that rate on some days, so
    this figure scales the others."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        value = b"x" * 1024
        await producer.send_and_wait("bench.reference", value)
        start = time.perf_counter()
        futures = [await producer.send("bench.reference", value) for _ in range(messages)]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - start
    finally:
        await producer.stop()
    return {"messages": messages, "messages_per_s": round(messages / elapsed, 1)}


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    gateway, cpu, bootstrap = stack.gateway, stack.cpu, stack.bootstrap
    gen = Generator(Profile(seed=args.seed))
    results: dict[str, Any] = {}

    say("reference: a bare aiokafka producer, 1 KB messages, default settings")
    before = await bare_producer(bootstrap, args.reference_messages)
    say(f"  {before} (36,000/s where the targets were set)")

    total = 0

    async def single_phase(url: str, on_progress: Callable[[int], None]) -> dict[str, Any]:
        """Single POSTs to ``url`` until insights stored them, with CPU per event."""
        nonlocal total
        if args.load_generator == "wrk":
            count = args.single_max_rate * args.single_seconds
            events_file = stack.workdir / "single-posts.ndjson"
            events_file.write_bytes(
                b"\n".join(orjson.dumps(e) for e in list(gen.events(count // 2))[:count]) + b"\n"
            )
            accepted_before = await ingest_accepted(stack.ingest)
            cpu_before = cpu.read()
            result = await wrk_posts(
                url, events_file, count, args.concurrency, args.single_seconds, stack.headers(url)
            )
            accepted = await ingest_accepted(stack.ingest) - accepted_before
        else:
            events = list(gen.events(args.single // 2))[: args.single]
            cpu_before = cpu.read()
            result = await single_posts(
                url, events, args.concurrency, on_progress, stack.headers(url)
            )
            result["load_generator"] = "aiohttp"
            accepted = result["requests"] - result["failures"]
        total += accepted
        await wait_visible(stack.insights, total, timeout=600)
        result["cpu_us_per_event"] = CpuProbe.per_event(cpu_before, cpu.read(), accepted)
        say(f"  {result}")
        return result

    if args.load_generator == "wrk":
        single = f"{args.single_seconds} s from wrk"
    else:
        single = f"{args.single} events from aiohttp (install wrk to measure the stack, not it)"
    say(f"single POSTs: {single}, concurrency {args.concurrency}")
    results["single_post"] = await single_phase(gateway, lambda n: say(f"  {n} requests done"))
    # The same, straight to ingest: what upstream tools would see without the gateway's
    # relay hop (behind a load balancer that routes /v1/events to ingest, say).
    say(f"single POSTs straight to ingest: {single}")
    results["single_post_to_ingest"] = await single_phase(stack.ingest, lambda n: None)

    say(f"batch endpoint: {args.batch_events} events in batches of {args.batch_size}")
    batch_events = list(gen.events(args.batch_events // 2))[: args.batch_events]
    cpu_before = cpu.read()
    e2e_start = time.monotonic()
    batch = await batch_posts(
        gateway, batch_events, args.batch_size, args.batch_concurrency, stack.headers(gateway)
    )
    if batch is None:
        say("  /v1/events:batch is not available; end-to-end uses single POSTs")
        results["batch"] = None
        e2e_events = batch_events[: args.single]
        e2e_start = time.monotonic()
        await single_posts(
            gateway, e2e_events, args.concurrency, lambda n: None, stack.headers(gateway)
        )
    else:
        # While batches are accepted the consumers work through them too: this is what each
        # part spent in that time, per accepted event.
        batch["cpu_us_per_event_while_accepting"] = CpuProbe.per_event(
            cpu_before, cpu.read(), len(batch_events)
        )
        results["batch"] = batch
        e2e_events = batch_events
        say(f"  {batch}")
        if batch["refused_requests"]:
            say(f"  refused batch requests by status: {batch['refused_requests']}")
    # Only what intake accepted reaches insights; a refused request's events never do.
    e2e_count = len(e2e_events) if batch is None else batch["accepted"]
    total += e2e_count
    visible_at = await wait_visible(stack.insights, total, timeout=600)
    results["end_to_end"] = {
        "events": e2e_count,
        "seconds": round(visible_at - e2e_start, 2),
        "events_per_s": round(e2e_count / (visible_at - e2e_start), 1),
        "cpu_us_per_event": CpuProbe.per_event(cpu_before, cpu.read(), e2e_count),
    }
    say(f"end-to-end sustained: {results['end_to_end']}")

    for batched, key in ((False, "fixed_rate_latency"), (True, "fixed_rate_latency_batched")):
        how = "in 20 ms batches" if batched else "as single POSTs"
        say(f"fixed rate: {args.rate} events/s for {args.rate_seconds} s, {how}")
        results[key] = await fixed_rate(
            stack, args.rate, args.rate_seconds, gen, stored_before=total, batched=batched
        )
        total += results[key]["events"]
        say(f"  {results[key]}")

    say("reference again, to see whether the machine's speed held during the run")
    after = await bare_producer(bootstrap, args.reference_messages)
    rates = (before["messages_per_s"], after["messages_per_s"])
    results["reference_bare_producer"] = {
        "before": before,
        "after": after,
        "drift": round(max(rates) / min(rates) - 1, 3),
    }
    say(f"  {after}")
    if max(rates) > 1.25 * min(rates):
        say(
            "  warning: the reference moved by more than 25% during the run; other work shares "
            "this machine, so compare CPU per event rather than rates"
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "aiohttp"),
        default="auto",
        help="client of the single-POST phases; auto: wrk when installed (make bench installs it"
        " where it can), else aiohttp, whose own CPU per request is then most of what it measures",
    )
    parser.add_argument(
        "--gateway-auth",
        choices=("required", "off"),
        default="required",
        help="required: every request carries an ingest key (the default); off: the gateway "
        "lets everything through, to measure what authentication costs",
    )
    parser.add_argument("--single-seconds", type=int, default=10, help="single-POST phase (wrk)")
    parser.add_argument(
        "--single-max-rate",
        type=int,
        default=8000,
        help="requests/s the wrk phases have events for (they fail when they run out)",
    )
    parser.add_argument("--single", type=int, default=10_000, help="single-POST requests (aiohttp)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--batch-concurrency", type=int, default=8, help="batch requests in flight at once"
    )
    parser.add_argument("--rate", type=int, default=1000, help="events/s for the latency phase")
    parser.add_argument("--rate-seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--classifier-retraining",
        action="store_true",
        help="let the classifier retrain as it would by default (every 100 decision labels)",
    )
    parser.add_argument(
        "--reference-messages", type=int, default=100_000, help="messages of the bare producer"
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results/pipeline.json"))
    args = parser.parse_args()
    if args.load_generator == "auto":
        args.load_generator = "wrk" if shutil.which("wrk") else "aiohttp"
    elif args.load_generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian and Ubuntu: apt-get install wrk)")
    if args.load_generator == "aiohttp":
        say("warning: wrk not found; single POSTs come from aiohttp, which costs more CPU per")
        say("request than the services it measures (apt-get install wrk)")
    with (
        tempfile.TemporaryDirectory(prefix="pp-bench-") as tmp,
        running_stack(
            Path(tmp), retraining=args.classifier_retraining, auth=args.gateway_auth
        ) as stack,
    ):
        results = asyncio.run(run(args, stack))
    write_report(args.out, "pipeline", args, results)
    say(f"wrote {args.out}")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
