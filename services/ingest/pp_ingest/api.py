"""HTTP adapter of ingest: read the request, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, Request, Response

from pp_ingest.dead_letters import service as dead_letters
from pp_ingest.dsa.service import import_statements
from pp_ingest.intake import service
from pp_ingest.intake.dedupe import HashLookups
from pp_ingest.intake.schemas import BatchResult, Receipt
from pp_ingest.settings import IngestSettings
from pp_shared.asgi import read_body
from pp_shared.dead_letters.api import dead_letter_router
from pp_shared.events import EVENT_ADAPTER
from pp_shared.http_guards import media_type
from pp_shared.problems import UnsupportedMediaType

router = APIRouter(prefix="/v1")

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson"})


# Dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread,
# and two thread hops per request cost more than the rest of an accepted event.
async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


async def _producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.runtime.producer
    return producer


def _settings_of(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.runtime.settings
    return settings


async def _settings(request: Request) -> IngestSettings:
    return _settings_of(request)


async def _body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes the limit."""
    return await read_body(request.scope, request.receive, _settings_of(request).max_body_bytes)


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
ProducerDep = Annotated[AIOKafkaProducer, Depends(_producer)]
SettingsDep = Annotated[IngestSettings, Depends(_settings)]
BodyDep = Annotated[bytes, Depends(_body)]

_EVENT_SCHEMA = EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
_EVENT_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _EVENT_SCHEMA}}}
}
_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "maxItems": 10_000, "items": _EVENT_SCHEMA}
            },
            **{
                ndjson: {"schema": {"type": "string", "description": "One JSON event per line."}}
                for ndjson in sorted(NDJSON_TYPES)
            },
        },
    }
}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body or batch over the limit (10 MiB, 10,000 events)."},
    422: {"description": "Not JSON / not UTF-8, or (single event) not a valid event."},
    503: {"description": "The broker did not acknowledge in time; retry after Retry-After."},
}


@router.post(
    "/events",
    status_code=202,
    tags=["events"],
    response_model=Receipt,
    openapi_extra=_EVENT_BODY,
    responses={
        200: {"model": Receipt, "description": "The same event was already stored."},
        409: {"description": "The event id was already accepted with a different body."},
        **_PROBLEMS,
    },
)
async def submit_event(request: Request) -> Response:
    """Accept one moderation event; 202 once the broker has it, 200 if already stored."""
    # Served by pp_ingest.fastpath before routing; this route documents it and answers the
    # same way when the app runs without that middleware.
    runtime = request.app.state.runtime
    status, content = await accept_one(
        request.app.state.lookups, runtime.producer, runtime.settings, body=await _body(request)
    )
    return Response(content, status_code=status, media_type="application/json")


async def accept_one(
    lookups: HashLookups,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
) -> tuple[int, bytes]:
    """Status and JSON answer for one submitted event (problems are raised)."""
    receipt = await service.submit(lookups, producer, settings, body=body)
    answer = orjson.dumps({"event_id": receipt.event_id, "status": receipt.status})
    return (200 if receipt.status == "duplicate" else 202), answer


@router.post(
    "/events:batch",
    tags=["events"],
    response_model=BatchResult,
    openapi_extra=_BATCH_BODY,
    responses=_PROBLEMS,
)
async def submit_events(
    body: BodyDep, request: Request, pool: PoolDep, producer: ProducerDep, settings: SettingsDep
) -> Response:
    """Accept up to 10,000 events (JSON array or NDJSON); 200 with an outcome per item."""
    ndjson = media_type(request.headers.get("content-type", "")) in NDJSON_TYPES
    result = await service.submit_batch(pool, producer, settings, body=body, ndjson=ndjson)
    return Response(orjson.dumps(result), media_type="application/json")


_DSA_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "One statement of reasons as the DSA Transparency Database "
                    "API takes it, or a list of them."
                }
            },
            **{
                csv: {
                    "schema": {
                        "type": "string",
                        "description": "A DSA CSV export: the 38-column layout or the earlier "
                        "37-column one (without content_id_ean), with its header row.",
                    }
                }
                for csv in ("text/csv", "application/csv")
            },
        },
    }
}


@router.post(
    "/imports/dsa",
    tags=["imports"],
    openapi_extra=_DSA_BODY,
    responses={415: {"description": "Neither JSON nor CSV."}, **_PROBLEMS},
)
async def import_dsa(
    body: BodyDep, request: Request, pool: PoolDep, producer: ProducerDep, settings: SettingsDep
) -> Response:
    """Import DSA statements of reasons (JSON or CSV export); 200 with an outcome per statement."""
    media_type = _dsa_media_type(request.headers.get("content-type", ""))
    if media_type is None:
        raise UnsupportedMediaType(
            "send DSA statements as application/json or text/csv",
            errors=[
                {
                    "pointer": "/headers/content-type",
                    "detail": "expected application/json or text/csv",
                    "found": request.headers.get("content-type", ""),
                }
            ],
        )
    result = await import_statements(pool, producer, settings, body=body, media_type=media_type)
    return Response(orjson.dumps(result), media_type="application/json")


def _dsa_media_type(content_type: str) -> Literal["json", "csv"] | None:
    kind = media_type(content_type)
    if kind in ("application/json", ""):
        return "json"
    if kind in ("text/csv", "application/csv"):
        return "csv"
    return None


dead_letter_routes = dead_letter_router(
    dead_letters.STORE,
    prefix="/v1/dead-letters",
    what="ingest's dead letters (raw messages that could not be decoded, validated or stored)",
    reasons=dead_letters.REASONS,
    sender=lambda request: dead_letters.sender(
        request.app.state.runtime.producer, _settings_of(request)
    ),
    operation_prefix="ingest",
)
