"""The dead-letter API's bodies, the same for every service."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pp_shared.types import DbId

Encoding = Literal["utf-8", "base64"]


class Header(BaseModel):
    key: str
    value: str | None
    encoding: Encoding = "utf-8"


class DeadLetter(BaseModel):
    """A record that could not be processed, as it was received."""

    id: int
    topic: str
    partition: int
    offset: int
    reason: str = Field(
        description="undecodable or invalid (ingest), processing_failed (any service), or "
        "a service's own code for a record it refused (for example out_of_range)."
    )
    errors: list[dict[str, Any]]
    received_at: datetime
    replayed_at: datetime | None
    headers: list[Header]
    key: str | None
    key_encoding: Encoding | None
    value: str | None = Field(description="UTF-8 text when it decodes, else base64.")
    encoding: Encoding | None


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null at the end."
    )


class ReplayRequest(BaseModel):
    ids: list[DbId] = Field(min_length=1, max_length=1000)


class ReplayItem(BaseModel):
    id: int
    status: Literal["replayed", "not_found"]


class ReplayResult(BaseModel):
    items: list[ReplayItem]
    replayed: int
    not_found: int
