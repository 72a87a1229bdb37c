"""Insights' dead letters: tagged events it could not fold, set aside by the consumer loop,
listed and replayed under ``/v1/insights/dead-letters``."""

from __future__ import annotations

from pp_insights import consumer
from pp_shared.dead_letters import DeadLetterStore
from pp_shared.dead_letters.api import dead_letter_router, runtime_sender

DEAD_LETTERS = DeadLetterStore("insights")
router = dead_letter_router(
    DEAD_LETTERS,
    prefix="/v1/insights/dead-letters",
    what="insights' dead letters (tagged events it could not fold into its facts)",
    reasons="invalid or processing_failed",
    sender=runtime_sender(consumer.TOPIC),
    operation_prefix="insights",
)
