"""Ingest's dead letters: raw messages that could not be decoded or validated, or that failed
processing on their own. Listed and replayed to the raw topic through the shared dead-letter
store (a replayed message that still fails is dead-lettered again, as a new row)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from pp_ingest import publishing
from pp_ingest.errors import BrokerUnavailable
from pp_ingest.metrics import DEAD_LETTER_REPLAYS
from pp_ingest.settings import IngestSettings
from pp_shared.dead_letters import DeadLetterStore, ReplayResult
from pp_shared.dead_letters.store import Message, Send


class _Store(DeadLetterStore):
    """The shared store, counting the outcome of every replay by id."""

    async def replay(self, pool: asyncpg.Pool, send: Send, *, ids: Sequence[int]) -> ReplayResult:
        result = await super().replay(pool, send, ids=ids)
        DEAD_LETTER_REPLAYS.labels("replayed").inc(result.replayed)
        DEAD_LETTER_REPLAYS.labels("not_found").inc(result.not_found)
        return result


STORE = _Store("ingest")
REASONS = "undecodable, invalid, or processing_failed"


def sender(producer: AIOKafkaProducer, settings: IngestSettings) -> Send:
    """Writes replayed messages back to the raw topic; BrokerUnavailable when the broker does
    not take them all in time."""

    async def send(messages: list[Message]) -> None:
        try:
            await publishing.to_raw_topic(
                producer,
                settings,
                messages,
                unavailable="the event broker did not acknowledge every replayed message; "
                "retrying is safe, since events are stored once by event_id",
            )
        except BrokerUnavailable:
            DEAD_LETTER_REPLAYS.labels("unavailable").inc(len(messages))
            raise

    return send
