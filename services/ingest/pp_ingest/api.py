"""HTTP adapter of ingest: parse, call the service, map errors."""

from __future__ import annotations

from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from pp_ingest import service
from pp_ingest.settings import IngestSettings
from pp_shared.events import EVENT_ADAPTER, Event, parse_event
from pp_shared.problems import InvalidInput, field_errors

router = APIRouter(prefix="/v1", tags=["events"])


def _producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.runtime.producer
    return producer


def _settings(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.runtime.settings
    return settings


ProducerDep = Annotated[AIOKafkaProducer, Depends(_producer)]
SettingsDep = Annotated[IngestSettings, Depends(_settings)]

_EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
            }
        },
    }
}


async def parse_body(request: Request) -> Event:
    raw = await request.body()
    try:
        return parse_event(raw)
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        raise InvalidInput(
            f"the event failed validation ({len(errors)} error(s))", errors=errors
        ) from exc


@router.post("/events", status_code=202, openapi_extra=_EVENT_BODY)
async def submit_event(
    producer: ProducerDep, settings: SettingsDep, event: Annotated[Event, Depends(parse_body)]
) -> service.Accepted:
    """Accept one moderation event; 202 once the broker has it."""
    return await service.submit(producer, settings, event=event)
