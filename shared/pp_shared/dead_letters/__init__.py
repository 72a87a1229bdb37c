"""Dead letters: records a service could not process, kept byte for byte with the reason, to
be listed, inspected and replayed once their cause is fixed. Every consuming service keeps
them in a ``dead_letters`` table of its own schema (the same shape in each) and writes them
to a dead-letter topic of its own."""

from pp_shared.dead_letters.models import (
    DeadLetter,
    DeadLetterPage,
    Header,
    ReplayItem,
    ReplayRequest,
    ReplayResult,
)
from pp_shared.dead_letters.store import (
    REPLAYED_FROM,
    DeadLetterRow,
    DeadLetterStore,
    decode_bytes,
    decode_cursor,
    encode_bytes,
    encode_cursor,
    row_of,
)

__all__ = [
    "REPLAYED_FROM",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterRow",
    "DeadLetterStore",
    "Header",
    "ReplayItem",
    "ReplayRequest",
    "ReplayResult",
    "decode_bytes",
    "decode_cursor",
    "encode_bytes",
    "encode_cursor",
    "row_of",
]
