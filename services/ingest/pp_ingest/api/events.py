"""``POST /v1/events`` (served by :mod:`pp_ingest.api.fastpath`, documented here) and
``POST /v1/events:batch``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from pp_ingest.api.deps import BodyDep, PoolDep, ProducerDep, SettingsDep, body_of
from pp_ingest.api.fastpath import accept_one
from pp_ingest.api.problems import PROBLEMS
from pp_ingest.intake.schemas import BatchResult, Receipt
from pp_ingest.intake.service import submit_batch
from pp_shared.contracts.events import EVENT_ADAPTER
from pp_shared.http_guards import media_type

router = APIRouter(prefix="/v1")

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson"})

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


@router.post(
    "/events",
    status_code=202,
    tags=["events"],
    response_model=Receipt,
    openapi_extra=_EVENT_BODY,
    responses={
        200: {"model": Receipt, "description": "The same event was already stored."},
        409: {"description": "The event id was already accepted with a different body."},
        **PROBLEMS,
    },
)
async def submit_event(request: Request) -> Response:
    """Accept one moderation event; 202 once the broker has it, 200 if already stored."""
    # Served by pp_ingest.api.fastpath before routing; this route documents it and answers
    # the same way when the app runs without that middleware.
    runtime = request.app.state.runtime
    state = request.app.state
    status, content = await accept_one(
        state.lookups,
        runtime.producer,
        runtime.settings,
        body=await body_of(request),
        recent=state.recent,
    )
    return Response(content, status_code=status, media_type="application/json")


@router.post(
    "/events:batch",
    tags=["events"],
    response_model=BatchResult,
    openapi_extra=_BATCH_BODY,
    responses=PROBLEMS,
)
async def submit_events(
    body: BodyDep, request: Request, pool: PoolDep, producer: ProducerDep, settings: SettingsDep
) -> Response:
    """Accept up to 10,000 events (JSON array or NDJSON); 200 with an outcome per item."""
    ndjson = media_type(request.headers.get("content-type", "")) in NDJSON_TYPES
    result = await submit_batch(
        pool, producer, settings, body=body, ndjson=ndjson, recent=request.app.state.recent
    )
    return Response(orjson.dumps(result), media_type="application/json")
