"""Dead letters in Postgres: one ``<schema>.dead_letters`` table per service, made by the
shared migration ``pp_shared/migrations/dead_letters.sql`` (ingest's own migrations made the
same table first)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pp_shared.db import conditions
from pp_shared.dead_letters.models import (
    DeadLetter,
    DeadLetterPage,
    Header,
    ReplayItem,
    ReplayResult,
)
from pp_shared.kafka import Poison, Record
from pp_shared.problems import InvalidInput, NotFound, Unavailable
from pp_shared.types import INT64_MAX

REPLAYED_FROM = "pp-replayed-from"
_CURSOR_PREFIX = "dl:"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

DeadLetterRow = tuple[
    str, int, int, str, list[dict[str, Any]], bytes | None, bytes | None, list[dict[str, Any]]
]
"""topic, partition, offset, reason, errors, raw value, raw key, headers."""

Headers = list[tuple[str, bytes | None]]
Message = tuple[bytes | None, bytes | None, Headers]
"""key, value, headers of a message to write back to a topic."""
Send = Callable[[list[Message]], Awaitable[None]]

_COLUMNS = """
    id, topic, kafka_partition, kafka_offset, reason, errors, raw_value, raw_key, headers,
    received_at, replayed_at
"""


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
    """The id a cursor of ``encode_cursor`` names; InvalidInput for anything else (including
    a forged cursor whose id the database could not hold)."""
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


def row_of(record: Record, reason: str, errors: Sequence[dict[str, Any]]) -> DeadLetterRow:
    """The table row of a consumed record set aside for ``reason``."""
    headers = [{"key": k, **encode_bytes(v)} for k, v in (record.headers or ())]
    return (
        record.topic,
        record.partition,
        record.offset,
        reason,
        # JSON-safe details; the raw bytes are stored beside them.
        orjson.loads(orjson.dumps(list(errors), default=str)),
        record.value,
        record.key,
        headers,
    )


def dead_letter_headers(record: Record, reason: str) -> Headers:
    """The record's headers, and where it came from and why it was set aside."""
    return [
        *(record.headers or ()),
        ("pp-dead-letter-reason", reason.encode()),
        ("pp-source-topic", record.topic.encode()),
        ("pp-source-offset", f"{record.partition}:{record.offset}".encode()),
    ]


@dataclass(frozen=True)
class DeadLetterStore:
    """The dead letters of one service, in ``<schema>.dead_letters``."""

    schema: str

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.schema):
            raise ValueError(f"not a plain SQL identifier: {self.schema!r}")

    @property
    def table(self) -> str:
        return f"{self.schema}.dead_letters"

    async def insert(
        self, conn: asyncpg.Connection | asyncpg.Pool, rows: Sequence[DeadLetterRow]
    ) -> None:
        """Store rows; a record stored before (same topic, partition, offset) is kept once."""
        if not rows:
            return
        await conn.executemany(
            f"""
            INSERT INTO {self.table}
                (topic, kafka_partition, kafka_offset, reason, errors, raw_value, raw_key, headers)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
            """,  # noqa: S608 (the schema is a checked identifier)
            rows,
        )

    async def rows(
        self,
        conn: asyncpg.Connection | asyncpg.Pool,
        *,
        reason: str | None,
        since: datetime | None,
        until: datetime | None,
        replayed: bool | None,
        after_id: int | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """Dead letters in id order after ``after_id``, filtered; ``since`` inclusive,
        ``until`` exclusive (on ``received_at``)."""
        args: list[object] = []
        where = conditions(
            [
                ("reason = ${}", reason),
                ("received_at >= ${}", since),
                ("received_at < ${}", until),
                ("id > ${}", after_id),
            ],
            args,
        )
        if replayed is not None:
            where.append("replayed_at IS NOT NULL" if replayed else "replayed_at IS NULL")
        args.append(limit)
        sql = (
            f"SELECT {_COLUMNS} FROM {self.table}"  # noqa: S608
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY id LIMIT ${len(args)}"
        )
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows

    async def rows_by_id(
        self, conn: asyncpg.Connection | asyncpg.Pool, ids: Sequence[int]
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(
            f"SELECT {_COLUMNS} FROM {self.table} WHERE id = ANY($1::bigint[]) ORDER BY id",  # noqa: S608
            list(ids),
        )
        return rows

    async def mark_replayed(
        self, conn: asyncpg.Connection | asyncpg.Pool, ids: Sequence[int]
    ) -> None:
        await conn.execute(
            f"UPDATE {self.table} SET replayed_at = now() WHERE id = ANY($1::bigint[])",  # noqa: S608
            list(ids),
        )

    async def page(
        self,
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
        rows = await self.rows(
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

    async def get(self, pool: asyncpg.Pool, dead_letter_id: int) -> DeadLetter:
        """One dead letter; NotFound when there is no such id."""
        rows = await self.rows_by_id(pool, [dead_letter_id])
        if not rows:
            raise NotFound(f"no dead letter with id {dead_letter_id}")
        return _dead_letter(rows[0])

    async def replay(self, pool: asyncpg.Pool, send: Send, *, ids: Sequence[int]) -> ReplayResult:
        """Write each dead letter's original key, value and headers back (``send`` raises
        when the broker did not take them all), marked with the dead letter's id;
        ``replayed_at`` is set once they were all written. A replayed record that still fails
        is set aside again, as a new dead letter."""
        wanted = list(dict.fromkeys(ids))
        found = {r["id"]: r for r in await self.rows_by_id(pool, wanted)}
        # In arrival order, so one escalation's events go back in the order they first came.
        await send(
            [
                (found[i]["raw_key"], found[i]["raw_value"], _replay_headers(found[i]))
                for i in sorted(found)
            ]
        )
        if found:
            await self.mark_replayed(pool, list(found))
        items = [ReplayItem(id=i, status="replayed" if i in found else "not_found") for i in wanted]
        return ReplayResult(items=items, replayed=len(found), not_found=len(wanted) - len(found))

    def sink(
        self, pool: asyncpg.Pool, producer: AIOKafkaProducer, topic: str
    ) -> Callable[[Sequence[Poison]], Awaitable[None]]:
        """A consumer loop's dead-letter sink: store the records, then write them to
        ``topic`` with the reason in their headers (both idempotent under a replay)."""

        async def store(poisons: Sequence[Poison]) -> None:
            await self.insert(pool, [row_of(p.record, p.reason, p.errors) for p in poisons])
            futures = [
                await producer.send(
                    topic,
                    p.record.value,
                    key=p.record.key,
                    headers=dead_letter_headers(p.record, p.reason),
                )
                for p in poisons
            ]
            await asyncio.gather(*futures)

        return store


def _replay_headers(row: asyncpg.Record) -> Headers:
    # A record replayed before carries an older marker; keep only the newest, so the header
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


def producer_sender(producer: AIOKafkaProducer, topic: str, *, timeout: float = 10.0) -> Send:
    """Writes replayed records to ``topic``; 503 when the broker does not take them all within
    ``timeout`` seconds (some may have been written: replaying again is safe, since every
    consumer stores each event once)."""

    async def send(messages: list[Message]) -> None:
        try:
            async with asyncio.timeout(timeout):
                futures = [
                    await producer.send(topic, value, key=key, headers=list(headers))
                    for key, value, headers in messages
                ]
                await asyncio.gather(*futures)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(
                "the event broker did not acknowledge every replayed record; retrying is safe",
                headers={"Retry-After": "5"},
                extra={"reason": type(exc).__name__},
            ) from exc

    return send
