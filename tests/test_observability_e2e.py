"""Every PromQL expression of the dashboards and rules, evaluated by a real Prometheus (Debian's
package) that scrapes the four services as real processes, after traffic: each returns data,
or is listed below as one that has data only when something fails, with the reason. Alerts
that a test can bring about cheaply are brought about: a message ingest cannot read (dead
letters), a stopped service (down, and the gateway's 503s for its paths)."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.devstack.embedded import free_port, terminate_group
from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing import grafana
from pp_shared.testing.apps import STACK, bearer, produce, running_stack
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers
from pp_shared.testing.tools import debian_tool

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
RULE_FILES = sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
NAMES = STACK

ONLY_UNDER_FAILURE = {
    "alert PostgresUnreachable": "a readiness check of the database fails",
    "alert BrokerUnreachable": "a readiness check of the broker fails",
    "alert ConsumerLagGrowing": "lag over 1000 records has grown for 10 minutes",
    "alert AlertDeliveriesFailing": "a breach notification failed",
    "alert NoEventsIngested": "needs a day of history with events, then an hour without",
    "alert ModelPromotionFailing": "retraining raised, or three candidates were rejected",
    "record service:pp_consumer_batch_retries:rate5m": (
        "pp_consumer_batch_retries_total has a series once a consumer retried a batch"
    ),
    "pipeline: Batch retries": "as service:pp_consumer_batch_retries:rate5m",
    "pipeline: Batch retries by service": "as service:pp_consumer_batch_retries:rate5m",
}
"""Expressions without data while everything works, and why."""
BROUGHT_ABOUT = {
    "alert ServiceDown": "the classifier is stopped",
    "alert HttpServerErrors": "the gateway answers 503 for the stopped classifier's paths",
}
"""Expressions without data while everything works that this test makes fail."""
SERIES_ONLY_UNDER_FAILURE = {
    "pp_consumer_poison_records_total": "a series appears with a consumer's first dead letter",
    "pp_consumer_batch_retries_total": "a series appears with a consumer's first retry",
    "service:pp_consumer_batch_retries:rate5m": "recorded from pp_consumer_batch_retries_total",
}
"""Series that an expression reads but that exist only after a failure."""

_SELECTOR = re.compile(r"\b(pp_[a-z0-9_]+|up|[a-z_]+:[a-z0-9_:]+)\s*(\{[^}]*\})?")
_RANGE = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class Expression:
    name: str
    """``alert <name>``, ``record <name>`` or ``<dashboard>: <panel>`` (``[refId]`` when the
    panel has more than one query)."""
    promql: str


def expressions() -> list[Expression]:
    found: list[Expression] = []
    for path in RULE_FILES:
        with path.open(encoding="utf-8") as f:
            groups = yaml.safe_load(f)["groups"]
        for rule in (rule for group in groups for rule in group["rules"]):
            kind = "alert" if "alert" in rule else "record"
            found.append(Expression(f"{kind} {rule[kind]}", rule["expr"]))
    for path in DASHBOARDS:
        for panel in grafana.panels(grafana.load(path)):
            targets = [t for t in panel["targets"] if t["datasource"]["type"] == "prometheus"]
            for target in targets:
                suffix = f" [{target['refId']}]" if len(targets) > 1 else ""
                found.append(Expression(f"{path.stem}: {panel['title']}{suffix}", target["expr"]))
    return found


def selectors(promql: str) -> set[str]:
    """The series selectors an expression reads (name and label matchers)."""
    return {name + (labels or "") for name, labels in _SELECTOR.findall(_RANGE.sub("", promql))}


@contextlib.contextmanager
def running_prometheus(binary: str, group: ServiceGroup, workdir: Path) -> Iterator[str]:
    """Prometheus scraping every service each second and evaluating the repository's rules
    each second; yields its URL."""
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in RULE_FILES],
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{group.child(name).port}"]}],
            }
            for name in NAMES
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        terminate_group(process)


@pytest.fixture
def stack(service_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceGroup]:
    with running_stack(service_env, tmp_path / "logs") as group:
        yield group


@pytest.fixture
async def prometheus(stack: ServiceGroup, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    binary = debian_tool("prometheus", "prometheus")
    with running_prometheus(binary, stack, tmp_path) as url:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/-/ready")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, lambda ok: ok, timeout=20, interval=0.1)

            # Targets reach the scrapers some seconds after start: the services' state
            # before the traffic must be in the database too.
            async def scraped() -> list[Any]:
                return await query(client, "up == 1")

            await eventually(scraped, lambda up: len(up) == len(NAMES), timeout=20, interval=0.2)
            yield client


async def query(prometheus: httpx.AsyncClient, promql: str) -> list[Any]:
    response = await prometheus.get("/api/v1/query", params={"query": promql})
    assert response.status_code == 200, (promql, response.text)
    result: list[Any] = response.json()["data"]["result"]
    return result


async def send_traffic(stack: ServiceGroup, servers: Servers, topic_prefix: str) -> None:
    """Events through the gateway (single, batch, rejected, duplicate), queries of every
    service, a path nobody serves, and a raw message ingest cannot read."""
    gateway = stack.child("api-gateway").url
    async with httpx.AsyncClient(base_url=gateway, timeout=10, headers=bearer(stack)) as client:
        for i in range(5):
            sent = await client.post(
                "/v1/events",
                json=escalation(event_id=f"e{i}", escalation_id=f"esc-{i}"),
            )
            assert sent.status_code == 202, sent.text
        batch = [escalation(event_id=f"b{i}", escalation_id=f"esc-b{i}") for i in range(5)]
        sent = await client.post("/v1/events:batch", json=[*batch, batch[0]])
        assert sent.json()["counts"]["accepted"] == 5, sent.text
        assert (await client.post("/v1/events", json={"event_id": "x"})).status_code == 422
        for path in ("/v1/taxonomy", "/v1/insights/metrics", "/v1/rules", "/v1/dead-letters"):
            assert (await client.get(path)).status_code == 200, path
        assert (await client.get("/v1/nothing-here")).status_code == 404

        async def stored() -> int:
            r = await client.get("/v1/insights/volume", params={"interval": "day"})
            return sum(row["volume"] for row in r.json()["rows"])

        await eventually(stored, lambda n: n == 10, timeout=30)
    raw = topic_name(Topic.EVENTS_RAW, topic_prefix)
    await produce(servers.kafka_bootstrap, raw, [(b"esc-x", b"not json at all")])


class TestPrometheusOnTheServices:
    async def test_every_expression_of_dashboards_and_rules_has_data(
        self,
        stack: ServiceGroup,
        prometheus: httpx.AsyncClient,
        servers: Servers,
        topic_prefix: str,
    ) -> None:
        found = expressions()
        promql = {e.name: e.promql for e in found}
        assert len(promql) == len(found)
        assert set(ONLY_UNDER_FAILURE) | set(BROUGHT_ABOUT) <= set(promql)
        await send_traffic(stack, servers, topic_prefix)

        async def without_data() -> list[str]:
            return [
                e.name
                for e in found
                if e.name not in ONLY_UNDER_FAILURE
                and e.name not in BROUGHT_ABOUT
                and not await query(prometheus, e.promql)
            ]

        await eventually(without_data, lambda missing: missing == [], timeout=30, interval=0.5)

        # What the failure-only expressions read exists now, so they can fire when it fails.
        for e in found:
            if e.name in ONLY_UNDER_FAILURE or e.name in BROUGHT_ABOUT:
                for selector in selectors(e.promql):
                    if selector.split("{")[0] in SERIES_ONLY_UNDER_FAILURE:
                        continue
                    assert await query(prometheus, selector), (e.name, selector)
        # And while everything works they have no data indeed (polled: a readiness check
        # that times out once on a busy machine is a blip, not a failure).
        quiet = [e for e in found if e.name in ONLY_UNDER_FAILURE or e.name in BROUGHT_ABOUT]

        async def with_data() -> list[str]:
            return [e.name for e in quiet if await query(prometheus, e.promql)]

        await eventually(with_data, lambda names: names == [], timeout=10, interval=0.5)

        # The undecodable raw message is a dead letter of ingest.
        (letter,) = await query(prometheus, promql["alert DeadLettersRising"])
        assert letter["metric"] == {
            "service": "ingest",
            "stage": "validation",
            "reason": "undecodable",
        }

        # A stopped classifier: down, and the gateway answers 503 for its paths.
        stack.stop(["classifier"])
        async with httpx.AsyncClient(
            base_url=stack.child("api-gateway").url, timeout=5, headers=bearer(stack)
        ) as client:

            async def failing() -> dict[str, list[Any]]:
                for _ in range(5):
                    assert (await client.get("/v1/taxonomy")).status_code == 503
                return {name: await query(prometheus, promql[name]) for name in BROUGHT_ABOUT}

            results = await eventually(failing, lambda r: all(r.values()), timeout=30, interval=0.5)
        assert [r["metric"]["job"] for r in results["alert ServiceDown"]] == ["classifier"]
        assert [r["metric"]["service"] for r in results["alert HttpServerErrors"]] == [
            "api-gateway"
        ]
