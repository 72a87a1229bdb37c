"""Fixtures of the insights tests: the service's settings on this test's servers, a migrated
pool on this test's database, and a client on the query API over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from pp_insights.settings import InsightsSettings
from pp_insights_testing.harness import migrated_pool, query_app
from pp_shared.db import Pool
from pp_shared.testing.servers import Servers


@pytest.fixture
def settings(servers: Servers, database_url: str, topic_prefix: str) -> InsightsSettings:
    """The service's settings on this test's database, broker and topics."""
    return InsightsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=topic_prefix,
        kafka_session_timeout_ms=servers.session_timeout_ms,
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    async with migrated_pool(database_url) as p:
        yield p


@pytest.fixture
async def app(pool: Pool, database_url: str) -> AsyncIterator[FastAPI]:
    """The insights app on the test's pool (a test may put a clock in its state)."""
    app = query_app(pool, database_url)
    yield app
    # The alert routes open the records engine on first use; the pool is the fixture's.
    records = app.state.runtime.records
    if records is not None:
        await records.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
