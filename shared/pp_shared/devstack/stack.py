"""Run the four services as separate processes: start, wait until ready, restart on crash,
and stop everything in order on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pp_shared.contracts.topics import Topic
from pp_shared.devstack.embedded import die_with_parent, terminate_group

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port: int
    consumes: tuple[str, Topic] | None
    """Consumer group and the topic it reads, for draining at shutdown."""


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ingest", "pp_ingest", 8081, ("pp-ingest", Topic.EVENTS_RAW)),
    ServiceSpec("classifier", "pp_classifier", 8082, ("pp-classifier", Topic.EVENTS_VALIDATED)),
    ServiceSpec("insights", "pp_insights", 8083, ("pp-insights", Topic.EVENTS_TAGGED)),
    ServiceSpec("api-gateway", "pp_gateway", 8080, None),
)


@dataclass
class Child:
    spec: ServiceSpec
    port: int
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class ServiceGroup:
    """The four service processes. ``env`` is passed to each, with ``PP_PORT`` set per child."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        log_dir: Path,
        ports: dict[str, int] | None = None,
        out: object = None,
    ) -> None:
        ports = ports or {}
        self.env = env
        self.log_dir = log_dir
        self.children = [Child(s, ports.get(s.name, s.port)) for s in SERVICES]
        self.say = out if callable(out) else (lambda msg: print(msg, flush=True))
        self.api_key: str | None = None
        """An API key for the gateway, where whoever started the group made one."""

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.spec.name == name)

    def env_for(self, child: Child) -> dict[str, str]:
        env = dict(self.env)
        env["PP_PORT"] = str(child.port)
        env.setdefault("PP_INGEST_URL", self.child("ingest").url)
        env.setdefault("PP_INSIGHTS_URL", self.child("insights").url)
        env.setdefault("PP_CLASSIFIER_URL", self.child("classifier").url)
        return env

    def spawn(self, child: Child) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{child.spec.name}.log").open("ab") as logf:
            child.process = subprocess.Popen(
                [sys.executable, "-m", child.spec.module],
                env=self.env_for(child),
                stdout=logf,
                stderr=logf,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )
        child.started_at = time.monotonic()

    def start(self, timeout: float = 60.0) -> None:
        for child in self.children:
            self.spawn(child)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.children)
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for child in list(pending):
                    assert child.process is not None
                    if child.process.poll() is not None:
                        raise RuntimeError(
                            f"{child.spec.name} exited with code {child.process.returncode} "
                            f"during start-up; see {self.log_dir / (child.spec.name + '.log')}"
                        )
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{child.url}/readyz").status_code == 200:
                            pending.remove(child)
                if pending and time.monotonic() > deadline:
                    names = ", ".join(c.spec.name for c in pending)
                    raise TimeoutError(f"not ready after {timeout:.0f} s: {names}")
                if pending:
                    time.sleep(0.1)

    def check_and_restart(self) -> None:
        """Report crashed children and restart them with exponential backoff (1 s .. 30 s)."""
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if proc is None:
                if now >= child.next_start:
                    self.spawn(child)
                    self.say(f"restarted {child.spec.name} (restart #{child.restarts})")
                continue
            code = proc.poll()
            if code is None:
                if now - child.started_at > 60:
                    child.restarts = 0
                continue
            child.restarts += 1
            delay = min(30.0, 2.0 ** (child.restarts - 1))
            self.say(
                f"{child.spec.name} exited with code {code}; restarting in {delay:.0f} s "
                f"(log: {self.log_dir / (child.spec.name + '.log')})"
            )
            child.process = None
            child.next_start = now + delay

    def stop(self, names: list[str] | None = None) -> None:
        for child in reversed(self.children):
            if names is not None and child.spec.name not in names:
                continue
            if child.process is not None:
                terminate_group(child.process)
                child.process = None


async def consumer_lag(bootstrap: str, groups: dict[str, str]) -> int:
    """Records that the consumer groups (group -> topic) have not committed yet."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    lag = 0
    for group, topic in groups.items():
        probe = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await probe.start()
        try:
            await probe.topics()  # refreshes metadata
            partitions = probe.partitions_for_topic(topic)
            tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
            if not tps:
                continue
            ends = await probe.end_offsets(tps)
            for tp in tps:
                committed = await probe.committed(tp)
                lag += max(0, ends[tp] - (committed or 0))
        finally:
            await probe.stop()
    return lag


def drain(bootstrap: str, groups: dict[str, str], timeout: float, say: object) -> bool:
    """Wait until the consumer groups have committed everything (memory brokers lose
    what is still in flight when they stop). Returns whether the pipeline drained."""
    assert callable(say)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lag = asyncio.run(asyncio.wait_for(consumer_lag(bootstrap, groups), 5))
        except Exception as exc:  # noqa: BLE001 - best effort; report and stop waiting
            say(f"could not read consumer lag ({type(exc).__name__}); not waiting to drain")
            return False
        if lag == 0:
            return True
        time.sleep(0.2)
    say(f"pipeline did not drain within {timeout:.0f} s")
    return False


def python_env() -> dict[str, str]:
    """The environment for children: ours, minus nothing; unbuffered for live logs."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env
