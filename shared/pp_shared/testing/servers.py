"""Where the test servers come from, in order: environment, Docker, embedded."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from pp_shared.devstack.embedded import (
    EMBEDDED_SESSION_TIMEOUT_MS,
    EmbeddedBroker,
    EmbeddedPostgres,
    free_port,
)


@dataclass(frozen=True)
class Servers:
    database_url: str
    """Admin URL: tests create their own database next to it."""
    kafka_bootstrap: str
    origin: str
    session_timeout_ms: int = 10_000


def docker_answers() -> bool:
    """True when a Docker daemon responds (not just a client on PATH)."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # noqa: BLE001 - any failure means "no usable daemon"
        return False
    return True


@contextlib.contextmanager
def provide_servers() -> Iterator[Servers]:
    db_url = os.environ.get("PP_DATABASE_URL")
    bootstrap = os.environ.get("PP_KAFKA_BOOTSTRAP_SERVERS")
    with contextlib.ExitStack() as stack:
        origin = []
        if db_url is None or bootstrap is None:
            if docker_answers():
                from testcontainers.kafka import KafkaContainer
                from testcontainers.postgres import PostgresContainer

                if db_url is None:
                    pg = stack.enter_context(PostgresContainer("postgres:16", driver=None))
                    db_url = pg.get_connection_url()
                if bootstrap is None:
                    kafka = stack.enter_context(KafkaContainer().with_kraft())
                    bootstrap = kafka.get_bootstrap_server()
                origin.append("testcontainers")
            else:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pp-test-")))
                if db_url is None:
                    pg_embedded = EmbeddedPostgres(tmp / "pg", database="postgres")
                    db_url = pg_embedded.start()
                    stack.callback(pg_embedded.stop)
                if bootstrap is None:
                    broker = EmbeddedBroker(port=free_port(), log_file=tmp / "broker.log")
                    bootstrap = broker.start()
                    stack.callback(broker.stop)
                origin.append("embedded")
        else:
            origin.append("environment")
        embedded = origin == ["embedded"]
        yield Servers(
            database_url=db_url,
            kafka_bootstrap=bootstrap,
            origin=origin[0],
            session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS if embedded else 10_000,
        )


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (handles ``/db?host=`` socket URLs)."""
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}{sep}{query}"


async def create_database(admin_url: str) -> str:
    name = f"pp_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
