"""Fuzz every service's HTTP API with schemathesis, against real Postgres and Kafka.

Each test serves one service (the gateway's: the gateway and the three services it relays
to) with uvicorn on a free port of the test's event loop, on this test's database and topic
namespace, lifespan and consumers included, and runs ``tests/fuzz_api.py`` against it in a
process of its own: that script reads the ``/openapi.json`` the service publishes, runs
schemathesis on it and reports the operations, the test cases sent and the failures by check
and operation, each with a reproducer. The test fails when the script does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from pp_classifier.main import create_app as create_classifier
from pp_classifier.settings import ClassifierSettings
from pp_gateway.main import create_app as create_gateway
from pp_gateway.settings import GatewaySettings
from pp_ingest.main import create_app as create_ingest
from pp_ingest.settings import IngestSettings
from pp_insights.main import create_app as create_insights
from pp_insights.settings import InsightsSettings
from pp_shared.testing.apps import make_api_key
from pp_shared.testing.servers import Servers

pytestmark = pytest.mark.fuzz

FUZZ_API = Path(__file__).with_name("fuzz_api.py")
RUN_TIMEOUT = 300.0
"""Longest one service's fuzzing may take; past it the script is killed and the test fails."""
SERVER_TIMEOUT = 30.0
"""Longest a service may take to start (its lifespan) or to stop serving."""
LOG_LEVEL = "CRITICAL"
"""The services log each 500 with its traceback; the report has a reproducer for each."""


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` over HTTP from this event loop: its lifespan first (pool, migrations,
    producer, consumers), then uvicorn on a free port. The socket listens before uvicorn
    starts, so the first requests wait in its backlog instead of being refused."""
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off only on sockets
    # that say they are TCP, and with it on every answer waited 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=5
        )
    )
    with sock:
        async with app.router.lifespan_context(app):
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
                await asyncio.wait_for(task, SERVER_TIMEOUT)


def upstream_app(name: str, settings: dict[str, Any]) -> FastAPI:
    if name == "ingest":
        return create_ingest(IngestSettings(**settings))
    if name == "classifier":
        return create_classifier(ClassifierSettings(**settings))
    return create_insights(InsightsSettings(**settings))


@contextlib.asynccontextmanager
async def service_under_test(
    name: str, servers: Servers, database_url: str, topic_prefix: str
) -> AsyncIterator[tuple[str, str | None]]:
    """The base URL of service ``name``, running with the services it relays to, and for the
    gateway an admin key."""
    settings: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": servers.kafka_bootstrap,
        "topic_prefix": topic_prefix,
        "kafka_session_timeout_ms": servers.session_timeout_ms,
        "log_level": LOG_LEVEL,
    }
    upstreams = ("ingest", "classifier", "insights") if name == "api-gateway" else (name,)
    async with contextlib.AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        for upstream in upstreams:
            async with asyncio.timeout(SERVER_TIMEOUT):
                app = upstream_app(upstream, settings)
                urls[upstream] = await stack.enter_async_context(serving(app))
        key = None
        if name == "api-gateway":
            gateway = create_gateway(
                GatewaySettings(
                    ingest_url=urls["ingest"],
                    classifier_url=urls["classifier"],
                    insights_url=urls["insights"],
                    database_url=database_url,
                    gateway_secret=SecretStr("fuzz"),
                    # The fuzzer's pace is not a person's: no 429 for it.
                    rate_limit_scale=1000,
                    log_level=LOG_LEVEL,
                )
            )
            urls[name] = await stack.enter_async_context(serving(gateway))
            key = make_api_key({"PP_DATABASE_URL": database_url})
        yield urls[name], key


async def fuzz(service: str, base_url: str, key: str | None) -> dict[str, Any]:
    """Run ``fuzz_api.py`` against the service at ``base_url``; its report, as JSON."""
    script = await asyncio.create_subprocess_exec(
        sys.executable,
        str(FUZZ_API),
        "--service",
        service,
        "--base-url",
        base_url,
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONHASHSEED": "0", **({"PP_API_KEY": key} if key else {})},
    )
    try:
        out, err = await asyncio.wait_for(script.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        script.kill()
        await script.wait()
        pytest.fail(f"{service}: fuzzing did not end within {RUN_TIMEOUT:.0f} s", pytrace=False)
    try:
        report: dict[str, Any] = json.loads(out)
    except ValueError:
        pytest.fail(
            f"{service}: {FUZZ_API.name} exited {script.returncode}:\n{err.decode()}", pytrace=False
        )
    return report


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """The services configure the root logger; give it back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("quiet_logs")
@pytest.mark.parametrize("service", ["ingest", "classifier", "insights", "api-gateway"])
async def test_api_conforms_to_its_openapi(
    service: str, servers: Servers, database_url: str, topic_prefix: str
) -> None:
    async with service_under_test(service, servers, database_url, topic_prefix) as (url, key):
        report = await fuzz(service, url, key)
    if not report["passed"]:
        pytest.fail(report["text"], pytrace=False)
    print(report["text"])
