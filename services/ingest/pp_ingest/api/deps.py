"""What a route takes from the app: the pool, the producer, the settings and the body."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from pp_ingest.settings import IngestSettings
from pp_shared.asgi import read_body


# Dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread,
# and two thread hops per request cost more than the rest of an accepted event.
async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


async def _producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.runtime.producer
    return producer


def settings_of(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.runtime.settings
    return settings


async def _settings(request: Request) -> IngestSettings:
    return settings_of(request)


async def body_of(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes the limit."""
    return await read_body(request.scope, request.receive, settings_of(request).max_body_bytes)


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
ProducerDep = Annotated[AIOKafkaProducer, Depends(_producer)]
SettingsDep = Annotated[IngestSettings, Depends(_settings)]
BodyDep = Annotated[bytes, Depends(body_of)]
