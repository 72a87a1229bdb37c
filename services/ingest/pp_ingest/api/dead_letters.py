"""``GET /v1/dead-letters``, ``GET /v1/dead-letters/{dead_letter_id}`` and
``POST /v1/dead-letters:replay``: the shared dead-letter routes over ingest's store."""

from __future__ import annotations

from pp_ingest.api.deps import settings_of
from pp_ingest.dead_letters.service import REASONS, STORE, sender
from pp_shared.dead_letters.api import dead_letter_router

router = dead_letter_router(
    STORE,
    prefix="/v1/dead-letters",
    what="ingest's dead letters (raw messages that could not be decoded, validated or stored)",
    reasons=REASONS,
    sender=lambda request: sender(request.app.state.runtime.producer, settings_of(request)),
    operation_prefix="ingest",
)
