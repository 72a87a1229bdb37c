"""The audit log's writer: entries gathered in memory and copied to ``gateway.audit_log`` in
batches, so that auditing costs a list append per request, not a statement.

Event submissions that were let through (``POST /v1/events``, ``/v1/events:batch``,
``/v1/imports/dsa``) are counted, not written one by one: one row per key, route, answer status
and minute, with the number of requests. They are data, which ingest's event log keeps whole
with their ids; at an upstream tool's thousands of requests a second a row each would make the
audit log mostly events. Every other change, and every refused request, is a row of its own.

Entries are written at least every :data:`FLUSH_SECONDS` and when the gateway stops; a
gateway killed without warning loses at most that much of the log. A failed write is retried
with the next batch (the entries stay queued, up to :data:`MAX_QUEUED`; beyond that the
oldest are dropped, counted in ``pp_gateway_audit_dropped_total`` and logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Counter

from pp_shared.failures import is_transient

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
MAX_QUEUED = 100_000
COLUMNS = (
    "at",
    "actor",
    "key_prefix",
    "role",
    "method",
    "path",
    "route",
    "target",
    "status",
    "outcome",
    "reason",
    "requests",
)
SUBMISSIONS = frozenset({"/v1/events", "/v1/events:batch", "/v1/imports/dsa"})
WRITTEN = Counter("pp_gateway_audit_entries_total", "Audit entries written to the audit log.")
DROPPED = Counter(
    "pp_gateway_audit_dropped_total",
    "Audit entries dropped because the database could not take them for too long.",
)


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    actor: str | None
    key_prefix: str | None
    role: str | None
    method: str
    path: str
    route: str | None
    target: str | None
    status: int
    outcome: str
    """``allowed``, ``denied`` or ``failed`` (the upstream answered 5xx or not at all)."""
    reason: str | None
    requests: int = 1


_Minute = tuple[int, str | None, str | None, str | None, str, str, int, str]
"""A minute's submissions of one key: (minute, actor, prefix, role, method, route, status,
outcome)."""


class AuditWriter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._queue: list[Entry] = []
        self._counted: dict[_Minute, int] = {}

    def count(self, minute: _Minute) -> None:
        """One more submission in ``minute``'s row."""
        self._counted[minute] = self._counted.get(minute, 0) + 1

    def add(self, entry: Entry) -> None:
        self._queue.append(entry)
        if len(self._queue) > MAX_QUEUED:
            excess = len(self._queue) - MAX_QUEUED
            del self._queue[:excess]
            DROPPED.inc(excess)
            log.error("audit entries dropped", extra={"dropped": excess})

    def _fold_counted(self) -> None:
        """Turn the minutes counted so far into entries. A minute still under way becomes a
        row too, and its later submissions another: the rows of a minute add up."""
        counted, self._counted = self._counted, {}
        for (minute, actor, prefix, role, method, route, status, outcome), n in counted.items():
            at = datetime.fromtimestamp(minute * 60, UTC)
            entry = Entry(
                at, actor, prefix, role, method, route, route, None, status, outcome, None, n
            )
            self._queue.append(entry)

    async def flush(self) -> int:
        """Write what is queued; returns the number written."""
        self._fold_counted()
        batch, self._queue = self._queue, []
        if not batch:
            return 0
        try:
            await self.pool.copy_records_to_table(
                "audit_log",
                schema_name="gateway",
                columns=COLUMNS,
                records=[astuple(e) for e in batch],
            )
        except Exception as exc:
            self._queue[:0] = batch
            if not is_transient(exc):
                raise
            log.warning(
                "audit entries not written yet; retrying",
                extra={"queued": len(self._queue), "error_type": type(exc).__name__},
            )
            return 0
        WRITTEN.inc(len(batch))
        return len(batch)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:
                # Not transient (a schema the writer does not match): the entries stay
                # queued, bounded, and every attempt says so.
                log.exception("audit entries could not be written")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[AuditWriter]:
        task = asyncio.create_task(self._run(), name="audit-writer")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.flush()
