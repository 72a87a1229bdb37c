"""pytest plugin (loaded with ``-p pp_shared.testing.plugin``): session servers, and per test
a fresh database and a fresh topic namespace so tests never see each other's data."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

from pp_shared.testing.servers import (
    Servers,
    create_database,
    drop_database,
    provide_servers,
    with_database,
)

if TYPE_CHECKING:
    from pp_shared.devstack.stack import ServiceGroup

T = TypeVar("T")


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """Postgres and Kafka for the whole test session."""
    with provide_servers() as s:
        yield s


@pytest.fixture
async def database_url(servers: Servers) -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    name = await create_database(servers.database_url)
    yield with_database(servers.database_url, name)
    await drop_database(servers.database_url, name)


@pytest.fixture
def topic_prefix() -> str:
    """A fresh topic namespace for one test."""
    return f"t{uuid.uuid4().hex[:10]}."


def _env(servers: Servers, database_url: str, topic_prefix: str) -> dict[str, str]:
    return {
        "PP_DATABASE_URL": database_url,
        "PP_KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
        "PP_TOPIC_PREFIX": topic_prefix,
        "PP_KAFKA_SESSION_TIMEOUT_MS": str(servers.session_timeout_ms),
    }


@pytest.fixture
def service_env(servers: Servers, database_url: str, topic_prefix: str) -> dict[str, str]:
    """``PP_*`` variables that point a service at this test's database and topics."""
    return _env(servers, database_url, topic_prefix)


@pytest.fixture(scope="module")
async def module_service_env(servers: Servers) -> AsyncIterator[dict[str, str]]:
    """``PP_*`` variables of one database and topic namespace for a whole module: for the
    end-to-end tests of a module that share one running stack (each test then keeps to data
    of its own, by ids, areas or ranges)."""
    name = await create_database(servers.database_url)
    yield _env(servers, with_database(servers.database_url, name), f"t{uuid.uuid4().hex[:10]}.")
    await drop_database(servers.database_url, name)


@pytest.fixture(scope="module")
def module_stack(
    module_service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceGroup]:
    """The four services running for a whole module (``module_service_env``), with an admin
    key (``api_key``): each test of the module keeps to data of its own."""
    from pp_shared.testing.apps import running_stack

    with running_stack(module_service_env, tmp_path_factory.mktemp("logs")) as group:
        yield group


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
) -> T:
    """Call ``probe`` until ``until(result)`` holds; return the last result or fail with it."""
    deadline = time.monotonic() + timeout
    result = await probe()
    while not until(result):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {result!r}")
        await asyncio.sleep(interval)
        result = await probe()
    return result
