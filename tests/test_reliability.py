"""Faults with real servers: the broker or Postgres goes away, a service dies mid-batch.
Accepted events are never lost and never counted twice."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pp_shared.devstack.embedded import (
    EMBEDDED_SESSION_TIMEOUT_MS,
    EmbeddedBroker,
    EmbeddedPostgres,
    free_port,
)
from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing.apps import bearer, make_api_key
from pp_shared.testing.faults import FaultProxy
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation

pytestmark = pytest.mark.e2e
NAMES = ("ingest", "classifier", "insights", "api-gateway")


@dataclass
class Faulty:
    """A stack whose broker the test may cut off and whose Postgres it may stop and start."""

    group: ServiceGroup
    broker_path: FaultProxy
    postgres: EmbeddedPostgres

    @property
    def gateway(self) -> str:
        return self.group.child("api-gateway").url


@pytest.fixture
def faulty(tmp_path: Path, topic_prefix: str) -> Iterator[Faulty]:
    postgres = EmbeddedPostgres(tmp_path / "pg", database="policypulse")
    # The services reach the broker only through the proxy, which the broker advertises.
    proxy_port = free_port()
    broker = EmbeddedBroker(
        port=free_port(), log_file=tmp_path / "broker.log", advertised=f"127.0.0.1:{proxy_port}"
    )
    broker.start()
    proxy = FaultProxy(broker.host, broker.port, host="127.0.0.1", port=proxy_port).start()
    env = {
        **os.environ,
        "PP_DATABASE_URL": postgres.start(),
        "PP_KAFKA_BOOTSTRAP_SERVERS": proxy.address,
        "PP_KAFKA_SESSION_TIMEOUT_MS": str(EMBEDDED_SESSION_TIMEOUT_MS),
        "PP_TOPIC_PREFIX": topic_prefix,
        "PP_GATEWAY_SECRET": "reliability-tests",
        "PYTHONUNBUFFERED": "1",
    }
    group = ServiceGroup(
        env, log_dir=tmp_path / "logs", ports={n: free_port() for n in NAMES}, out=print
    )
    try:
        group.start(timeout=60)
        group.api_key = make_api_key(env)
        yield Faulty(group, proxy, postgres)
    finally:
        group.stop()
        proxy.stop()
        broker.stop()
        postgres.stop()


@pytest.fixture
async def http(faulty: Faulty) -> AsyncIterator[aiohttp.ClientSession]:
    # A fresh connection per request: the faults below leave idle connections half-closed.
    connector = aiohttp.TCPConnector(force_close=True)
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=bearer(faulty.group)
    ) as session:
        yield session


def escalations(start: int, count: int) -> list[dict[str, Any]]:
    return [
        escalation(event_id=f"e{i}", escalation_id=f"esc-{i}", suggested_clause_id="VBDA.THREATS")
        for i in range(start, start + count)
    ]


async def post(http: aiohttp.ClientSession, url: str, event: dict[str, Any]) -> int:
    async with http.post(f"{url}/v1/events", json=event) as r:
        await r.read()
        return r.status


async def post_until_accepted(
    http: aiohttp.ClientSession, url: str, events: list[dict[str, Any]]
) -> None:
    """Send like a well-behaved upstream tool: retry an event until it is accepted (202) or
    known already (200 duplicate: an event answered 503 may still reach the broker later)."""
    for event in events:
        await eventually(partial(post, http, url, event), lambda s: s in (200, 202), timeout=60)


async def total_volume(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(f"{url}/v1/insights/volume", params={"interval": "day"}) as r:
        if r.status != 200:
            return -1
        body = await r.json()
    return sum(int(row["volume"]) for row in body["rows"])


async def ready_checks(http: aiohttp.ClientSession, url: str) -> dict[str, bool]:
    try:
        async with http.get(f"{url}/readyz") as r:
            checks: dict[str, bool] = (await r.json())["checks"]
            return checks
    except aiohttp.ClientError:
        return {}


class TestBrokerOutage:
    async def test_503_while_unreachable_and_no_loss_when_back(
        self, faulty: Faulty, http: aiohttp.ClientSession
    ) -> None:
        await post_until_accepted(http, faulty.gateway, escalations(0, 10))
        await eventually(lambda: total_volume(http, faulty.gateway), lambda v: v == 10)

        faulty.broker_path.cut()
        async with http.post(f"{faulty.gateway}/v1/events", json=escalations(10, 1)[0]) as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == "5"
            assert (await r.json())["title"] == "A dependency is unavailable; retry later"
        ingest = faulty.group.child("ingest").url
        checks = await eventually(
            lambda: ready_checks(http, ingest), lambda c: c.get("broker") is False
        )
        assert checks["database"] is True

        faulty.broker_path.restore()
        await post_until_accepted(http, faulty.gateway, escalations(10, 10))
        volume = await eventually(
            lambda: total_volume(http, faulty.gateway), lambda v: v == 20, timeout=120
        )
        assert volume == 20


class TestPostgresOutage:
    async def test_consumers_wait_report_not_ready_and_resume(
        self, faulty: Faulty, http: aiohttp.ClientSession
    ) -> None:
        await post_until_accepted(http, faulty.gateway, escalations(0, 5))
        await eventually(lambda: total_volume(http, faulty.gateway), lambda v: v == 5)

        faulty.postgres.stop()
        # The broker still takes events; they wait in Kafka while the database is away.
        await post_until_accepted(http, faulty.gateway, escalations(5, 5))
        ingest = faulty.group.child("ingest").url
        checks = await eventually(
            lambda: ready_checks(http, ingest), lambda c: c.get("database") is False
        )
        assert checks["broker"] is True

        faulty.postgres.start()
        volume = await eventually(
            lambda: total_volume(http, faulty.gateway), lambda v: v == 10, timeout=90
        )
        assert volume == 10
        checks = await eventually(lambda: ready_checks(http, ingest), lambda c: all(c.values()))
        assert checks == {"database": True, "broker": True, "consumer0": True}


class TestKilledMidBatch:
    @pytest.mark.parametrize("victim", ["ingest", "insights"])
    async def test_sigkill_loses_and_duplicates_nothing(
        self, faulty: Faulty, http: aiohttp.ClientSession, victim: str
    ) -> None:
        events = escalations(0, 600)
        sender = asyncio.create_task(post_until_accepted(http, faulty.gateway, events))
        await eventually(lambda: total_volume(http, faulty.gateway), lambda v: v > 0)
        child = faulty.group.child(victim)
        assert child.process is not None
        os.kill(child.process.pid, signal.SIGKILL)

        async def supervised_sender_done() -> bool:
            # What `policypulse up` does in its main loop: notice the crash and restart.
            faulty.group.check_and_restart()
            return sender.done()

        await eventually(supervised_sender_done, lambda done: done, timeout=120, interval=0.2)
        await sender
        volume = await eventually(
            lambda: total_volume(http, faulty.gateway), lambda v: v == 600, timeout=120
        )
        assert volume == 600
        assert child.restarts == 1
