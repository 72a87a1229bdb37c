"""Request and response bodies of the ingest API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, Field

# pydantic documents a TypedDict only from typing_extensions before Python 3.12.
from typing_extensions import TypedDict

ItemStatus = Literal["accepted", "duplicate", "rejected"]
Encoding = Literal["utf-8", "base64"]


class Receipt(BaseModel):
    """The answer to one submitted event."""

    event_id: str
    status: Literal["accepted", "duplicate"] = "accepted"


# The batch answer is built as plain dicts: at 10,000 items, model instances cost more than the
# rest of the request. These types document it and check it statically.
class BatchItem(TypedDict):
    """The outcome of one item of a batch, in request order."""

    index: int
    status: ItemStatus
    event_id: NotRequired[str]
    reason: NotRequired[Literal["invalid", "conflict"]]
    errors: NotRequired[list[dict[str, Any]]]


class BatchCounts(TypedDict):
    received: int
    accepted: int
    duplicate: int
    rejected: int


class BatchResult(TypedDict):
    """Per-item outcomes of a batch; ``accepted`` items are acknowledged by the broker.

    At most 100 errors are listed in all, in item order; when more were found,
    ``errors_total`` counts them all, ``errors_truncated`` is true, and the rejected items
    past the 100th error carry their status and reason without ``errors``."""

    counts: BatchCounts
    items: list[BatchItem]
    errors_total: NotRequired[int]
    errors_truncated: NotRequired[bool]


class Header(BaseModel):
    key: str
    value: str | None
    encoding: Encoding = "utf-8"


class DeadLetter(BaseModel):
    """A raw message that could not be decoded or validated, as it was received."""

    id: int
    topic: str
    partition: int
    offset: int
    reason: str = Field(description="undecodable or invalid")
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
    ids: list[int] = Field(min_length=1, max_length=1000)


class ReplayItem(BaseModel):
    id: int
    status: Literal["replayed", "not_found"]


class ReplayResult(BaseModel):
    items: list[ReplayItem]
    replayed: int
    not_found: int
