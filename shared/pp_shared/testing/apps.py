"""Run an ASGI app's lifespan (its real consumers and producers) around an HTTP client, or the
four services as real processes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from fastapi import FastAPI

from pp_shared.embedded import free_port
from pp_shared.stack import ServiceGroup

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


@contextlib.contextmanager
def running_stack(env: dict[str, str], log_dir: Path) -> Iterator[ServiceGroup]:
    """The four services as processes on free ports, with ``env`` over this process's
    environment, ready when this yields and stopped after."""
    group = ServiceGroup(
        {**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        log_dir=log_dir,
        ports={n: free_port() for n in STACK},
        out=lambda _msg: None,
    )
    try:
        group.start(timeout=60)
        yield group
    finally:
        group.stop()
