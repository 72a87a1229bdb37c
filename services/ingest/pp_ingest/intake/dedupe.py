"""Answering duplicates and conflicts from the event log, without ever waiting on it for long:
a lookup that fails or times out lets intake go on (the consumer still stores each event once),
and concurrent single-event lookups share their round trips."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import asyncpg

from pp_ingest.errors import EventLogUnavailable
from pp_ingest.event_log import repository
from pp_ingest.metrics import DEDUPE_LOOKUP_FAILURES
from pp_ingest.settings import IngestSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
_DB_ERRORS = (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class HashLookups:
    """Duplicate lookups of concurrent single-event requests, coalesced: while one query is
    out, the ids asked for meanwhile wait and go together in the next. An idle service
    queries at once; a busy one makes one round trip for many requests instead of one each.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._waiting: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def one(self, event_id: str) -> bytes | None:
        """The stored hash of ``event_id``, or None when the log does not hold it."""
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((event_id, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # Ids queued while a query is out go in the next; the task ends (and the next
        # request starts another) once nobody is waiting.
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                hashes = await repository.stored_hashes(self.pool, list({e for e, _ in batch}))
            except Exception as exc:  # noqa: BLE001 - handed to every waiter, which decides
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for event_id, future in batch:
                if not future.done():  # a waiter that timed out has gone
                    future.set_result(hashes.get(event_id))


async def stored_hashes(
    pool: asyncpg.Pool, settings: IngestSettings, event_ids: Sequence[str]
) -> dict[str, bytes]:
    """Hashes of the ids already in the log, or none when the database does not answer in
    time."""
    if not event_ids:
        return {}
    found = await _lookup(
        settings, repository.stored_hashes(pool, event_ids), events=len(event_ids)
    )
    return found or {}


async def stored_hash(
    lookups: HashLookups, settings: IngestSettings, event_id: str
) -> bytes | None:
    """As :func:`stored_hashes`, for one id through the coalesced lookups."""
    return await _lookup(settings, lookups.one(event_id), events=1)


async def _lookup(
    settings: IngestSettings, lookup: Coroutine[Any, Any, T], *, events: int
) -> T | None:
    """The lookup's answer, or None when the database fails or does not answer in time:
    intake stays open, and the consumer still stores each event once."""
    try:
        async with asyncio.timeout(settings.dedupe_timeout_seconds):
            return await lookup
    except _DB_ERRORS as exc:
        DEDUPE_LOOKUP_FAILURES.inc()
        log.warning(
            "duplicate lookup failed; accepting without it",
            extra={"error": type(exc).__name__, "events": events},
        )
        return None


async def record_conflicts(
    pool: asyncpg.Pool, conflicts: Sequence[tuple[str, bytes, bytes]]
) -> None:
    """Keep the bodies that conflict with the log (id, canonical bytes, hash); a conflict is
    recorded before it is answered, so EventLogUnavailable when the database does not take it."""
    try:
        await repository.insert_conflicts(pool, conflicts)
    except _DB_ERRORS as exc:
        raise EventLogUnavailable(
            "a conflicting event could not be recorded; nothing was accepted",
            reason=type(exc).__name__,
        ) from exc
