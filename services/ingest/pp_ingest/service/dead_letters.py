"""Dead letters: find and inspect them, and replay them to the raw topic once their cause is
fixed (a replayed message that still fails is dead-lettered again, as a new row)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from pp_ingest import publishing, repository
from pp_ingest.metrics import DEAD_LETTER_REPLAYS
from pp_ingest.schemas import DeadLetter, DeadLetterPage, Header, ReplayItem, ReplayResult
from pp_ingest.settings import IngestSettings
from pp_shared.problems import InvalidInput, NotFound, Unavailable
from pp_shared.topics import Topic, topic_name
from pp_shared.types import INT64_MAX

REPLAYED_FROM = "pp-replayed-from"
_CURSOR_PREFIX = "dl:"


def encode_bytes(value: bytes | None) -> dict[str, Any]:
    """``{value, encoding}``: UTF-8 text when the bytes decode, else base64 (lossless)."""
    if value is None:
        return {"value": None, "encoding": "utf-8"}
    try:
        return {"value": value.decode("utf-8"), "encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"value": base64.b64encode(value).decode("ascii"), "encoding": "base64"}


def decode_bytes(value: str | None, encoding: str) -> bytes | None:
    """The bytes that ``encode_bytes`` was given."""
    if value is None:
        return None
    return base64.b64decode(value) if encoding == "base64" else value.encode("utf-8")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor of ``encode_cursor`` names; InvalidInput for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ours = text.startswith(_CURSOR_PREFIX)
        last_id = int(text.removeprefix(_CURSOR_PREFIX)) if ours else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        last_id = None
    if last_id is None or not 1 <= last_id <= INT64_MAX:
        raise InvalidInput(
            "the cursor is not one this API returned",
            errors=[
                {"pointer": "/query/cursor", "detail": "pass next_cursor from the previous page"}
            ],
        )
    return last_id


async def list_dead_letters(
    pool: asyncpg.Pool,
    *,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    replayed: bool | None,
    cursor: str | None,
    limit: int,
) -> DeadLetterPage:
    """One page of dead letters in the order they arrived, with the cursor of the next."""
    rows = await repository.dead_letters(
        pool,
        reason=reason,
        since=since,
        until=until,
        replayed=replayed,
        after_id=decode_cursor(cursor) if cursor is not None else None,
        limit=limit + 1,
    )
    page = rows[:limit]
    return DeadLetterPage(
        items=[_dead_letter(r) for r in page],
        next_cursor=encode_cursor(page[-1]["id"]) if len(rows) > limit else None,
    )


async def get_dead_letter(pool: asyncpg.Pool, *, dead_letter_id: int) -> DeadLetter:
    """One dead letter; NotFound when there is no such id."""
    rows = await repository.dead_letters_by_id(pool, [dead_letter_id])
    if not rows:
        raise NotFound(f"no dead letter with id {dead_letter_id}")
    return _dead_letter(rows[0])


async def replay(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    ids: Sequence[int],
) -> ReplayResult:
    """Write each dead letter's original key, value and headers back to the raw topic, marked
    with the dead letter's id; ``replayed_at`` is set once the broker acknowledged them all."""
    wanted = list(dict.fromkeys(ids))
    found = {r["id"]: r for r in await repository.dead_letters_by_id(pool, wanted)}
    # In arrival order, so one escalation's events go back in the order they first came.
    messages: list[publishing.Message] = [
        (found[i]["raw_key"], found[i]["raw_value"], _replay_headers(found[i]))
        for i in sorted(found)
    ]
    try:
        await publishing.publish(
            producer,
            {topic_name(Topic.EVENTS_RAW, settings.topic_prefix): messages},
            timeout=settings.batch_produce_timeout_seconds,
        )
    except publishing.BrokerFailed as exc:
        DEAD_LETTER_REPLAYS.labels("unavailable").inc(len(found))
        raise Unavailable(
            "the event broker did not acknowledge every replayed message; retrying is safe, "
            "since events are stored once by event_id",
            headers={"Retry-After": str(settings.retry_after_seconds)},
            extra={"reason": str(exc)},
        ) from exc
    if found:
        await repository.mark_replayed(pool, list(found))
    items = [ReplayItem(id=i, status="replayed" if i in found else "not_found") for i in wanted]
    DEAD_LETTER_REPLAYS.labels("replayed").inc(len(found))
    DEAD_LETTER_REPLAYS.labels("not_found").inc(len(wanted) - len(found))
    return ReplayResult(items=items, replayed=len(found), not_found=len(wanted) - len(found))


def _replay_headers(row: asyncpg.Record) -> publishing.Headers:
    # A message replayed before carries an older marker; keep only the newest, so the header
    # always names the one dead letter this copy came from.
    original = [
        (h["key"], decode_bytes(h["value"], h["encoding"]))
        for h in row["headers"]
        if h["key"] != REPLAYED_FROM
    ]
    return [*original, (REPLAYED_FROM, str(row["id"]).encode())]


def _dead_letter(row: asyncpg.Record) -> DeadLetter:
    key = encode_bytes(row["raw_key"])
    value = encode_bytes(row["raw_value"])
    return DeadLetter(
        id=row["id"],
        topic=row["topic"],
        partition=row["kafka_partition"],
        offset=row["kafka_offset"],
        reason=row["reason"],
        errors=row["errors"],
        received_at=row["received_at"],
        replayed_at=row["replayed_at"],
        headers=[Header(**h) for h in row["headers"]],
        key=key["value"],
        key_encoding=key["encoding"] if row["raw_key"] is not None else None,
        value=value["value"],
        encoding=value["encoding"] if row["raw_value"] is not None else None,
    )
