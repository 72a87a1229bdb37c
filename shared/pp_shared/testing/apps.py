"""Run an ASGI app's lifespan (its real consumers and producers) around an HTTP client, or the
four services as real processes."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from fastapi import FastAPI

from pp_shared.devstack.embedded import free_port
from pp_shared.devstack.stack import ServiceGroup

STACK = ("ingest", "classifier", "insights", "api-gateway")


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def produce(
    bootstrap: str,
    topic: str,
    messages: Sequence[tuple[bytes | None, bytes]],
    headers: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Write ``(key, value)`` messages to a topic, as an upstream producer would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key, headers=list(headers) or None)
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the start until ``expect`` records arrived (or fail after timeout)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        import time

        deadline = time.monotonic() + timeout
        while len(out) < expect:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: {len(out)} of {expect} records after {timeout} s")
            batches = await consumer.getmany(timeout_ms=200)
            for part in batches.values():
                out.extend(part)
    finally:
        await consumer.stop()
    return out


def record(
    topic: str,
    value: bytes,
    *,
    key: bytes | None = None,
    offset: int = 0,
    partition: int = 0,
    headers: Sequence[tuple[str, bytes]] = (),
) -> Any:
    """A consumer record as aiokafka delivers it, for pure handler tests."""
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=tuple(headers),
    )


def make_api_key(
    env: Mapping[str, str], role: str = "admin", areas: Sequence[str] | None = None
) -> str:
    """A new API key in the gateway's database of ``env`` (``PP_DATABASE_URL``), made as an
    operator would, with ``policypulse keys create``."""
    command = [sys.executable, "-m", "pp_gateway.keys", "create", "--role", role]
    command += ["--name", f"{role} for tests", "--owner", "tests"]
    if areas:
        command += ["--areas", ",".join(areas)]
    made = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )
    if made.returncode != 0:
        raise RuntimeError(f"policypulse keys create failed: {made.stderr.strip()}")
    return made.stdout.strip().splitlines()[-1]


def bearer(group: ServiceGroup) -> dict[str, str]:
    """The header that carries the group's API key."""
    if group.api_key is None:
        raise RuntimeError("this group of services has no API key")
    return {"Authorization": f"Bearer {group.api_key}"}


@contextlib.contextmanager
def running_stack(env: dict[str, str], log_dir: Path) -> Iterator[ServiceGroup]:
    """The four services as processes on free ports, with ``env`` over this process's
    environment and a gateway secret of their own, ready when this yields and stopped
    after. ``api_key`` of the group is an admin key."""
    group = ServiceGroup(
        {
            **os.environ,
            "PP_GATEWAY_SECRET": secrets.token_urlsafe(32),
            **env,
            "PYTHONUNBUFFERED": "1",
        },
        log_dir=log_dir,
        ports={n: free_port() for n in STACK},
        out=lambda _msg: None,
    )
    try:
        group.start(timeout=120)
        group.api_key = make_api_key(group.env)
        yield group
    finally:
        group.stop()
