"""The answers of intake: the receipt of one event and the per-item outcomes of a batch (whose
item statuses and reasons the DSA import answers with too)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import BaseModel

# pydantic documents a TypedDict only from typing_extensions before Python 3.12.
from typing_extensions import TypedDict

ItemStatus = Literal["accepted", "duplicate", "rejected"]
RejectReason = Literal["invalid", "conflict"]


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
    reason: NotRequired[RejectReason]
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
