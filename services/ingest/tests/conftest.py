"""Fixtures of the ingest tests: the app on this test's database and topics, and a client
with its consumer running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from pp_ingest.main import create_app
from pp_ingest.settings import IngestSettings
from pp_shared.testing.apps import running_app
from pp_shared.testing.servers import Servers


@pytest.fixture
def settings(servers: Servers, database_url: str, topic_prefix: str) -> IngestSettings:
    return IngestSettings(
        database_url=database_url,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=topic_prefix,
        kafka_session_timeout_ms=servers.session_timeout_ms,
    )


@pytest.fixture
def app(settings: IngestSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app, with its consumer running (the lifespan applies migrations)."""
    async with running_app(app) as c:
        yield c


Unavailable = Callable[[httpx.Response, str, str], None]
"""Checks a response against the 503 problem for its path (``instance``) and ``detail``."""


@pytest.fixture
def unavailable(settings: IngestSettings) -> Unavailable:
    """Checks the answer when the broker or the database did not answer in time: the same 503
    problem, with Retry-After, on every route."""

    def check(response: httpx.Response, instance: str, detail: str) -> None:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == str(settings.retry_after_seconds) == "5"
        problem = response.json()
        assert problem == {
            "type": "https://policypulse.dev/problems/unavailable",
            "title": "A dependency is unavailable; retry later",
            "status": 503,
            "detail": detail,
            "instance": instance,
            "reason": problem["reason"],
        }
        assert problem["reason"].isidentifier()  # the type of the failure

    return check


@pytest.fixture
def log_counts(database_url: str) -> Callable[[], Awaitable[tuple[int, int, int]]]:
    """Rows in ingest.events, ingest.conflicts and ingest.dead_letters, read afresh each call."""

    async def counts() -> tuple[int, int, int]:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM ingest.events) AS e,"
                " (SELECT count(*) FROM ingest.conflicts) AS c,"
                " (SELECT count(*) FROM ingest.dead_letters) AS d"
            )
        finally:
            await conn.close()
        assert row is not None
        return (row["e"], row["c"], row["d"])

    return counts
