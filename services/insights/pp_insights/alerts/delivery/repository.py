"""The record statements of delivery: claiming the next due outbox row, the progress of an
earlier delivery, the deliveries of a breach, the count still pending, the outcome of an
attempt, and the health of each rule's channels as the sender finds it.

Statements are built over the tables once and compiled for the asyncpg pool
(``pp_shared.records.Statement``); rows are read with ``Columns``.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import asyncpg
from sqlalchemy import bindparam, func, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlmodel import col, select

from pp_insights.alerts.documents import DeliveryProgress
from pp_insights.alerts.tables import ChannelStatus, DeliveryAttempt, OutboxRow, table_of
from pp_shared.records import Columns, Statement

_OUTBOX = Columns(OutboxRow)
_OUTBOX_SHOWN = Columns(OutboxRow, omit={"payload"})
"""An outbox row as a breach's deliveries show it: what was sent is the breach's."""
_ATTEMPT_AFTER_OUTBOX = Columns(DeliveryAttempt, _OUTBOX_SHOWN.end)
_CLAIM_DUE = Statement(
    text(
        f"""
        SELECT {", ".join(f"o.{name}" for name in _OUTBOX.names)}
        FROM insights.alert_outbox o
        WHERE o.state = 'pending' AND o.next_attempt_at <= :now AND o.outbox_id > :after_id
          AND NOT EXISTS (
              SELECT 1 FROM insights.alert_outbox e
              WHERE e.breach_id = o.breach_id AND e.channel = o.channel
                AND e.state = 'pending' AND e.outbox_id < o.outbox_id)
        ORDER BY o.outbox_id
        LIMIT 1
        FOR UPDATE OF o SKIP LOCKED
        """  # noqa: S608 - the column names are the table's
    )
)
_DELIVERED_PROGRESS = Statement(
    select(col(OutboxRow.progress))
    .where(
        col(OutboxRow.breach_id) == bindparam("breach_id"),
        col(OutboxRow.channel) == bindparam("channel"),
        col(OutboxRow.transition) == bindparam("transition"),
        col(OutboxRow.state) == "delivered",
    )
    .order_by(col(OutboxRow.outbox_id))
    .limit(1)
)
_DELIVERIES = Statement(
    sa_select(*_OUTBOX_SHOWN.columns, DeliveryAttempt)
    .select_from(OutboxRow)
    .outerjoin(DeliveryAttempt, col(DeliveryAttempt.outbox_id) == col(OutboxRow.outbox_id))
    .where(col(OutboxRow.breach_id) == bindparam("breach_id"))
    .order_by(col(OutboxRow.outbox_id), col(DeliveryAttempt.attempt_id))
)
_PENDING = Statement(
    select(func.count()).select_from(OutboxRow).where(col(OutboxRow.state) == "pending")
)
_OUTBOX_TABLE = table_of(OutboxRow)
_ATTEMPTED = ["state", "attempts", "next_attempt_at", "delivered_at", "last_error", "progress"]
"""What an attempt changes on its outbox row."""
_UPDATE_ATTEMPTED = Statement(
    update(_OUTBOX_TABLE)
    .where(_OUTBOX_TABLE.c.outbox_id == bindparam("o_outbox_id"))
    .values({name: bindparam(f"o_{name}") for name in _ATTEMPTED})
)
_ATTEMPTS = table_of(DeliveryAttempt)
_INSERT_ATTEMPT = Statement(
    insert(_ATTEMPTS).values(
        {
            c.name: bindparam(c.name, type_=c.type)
            for c in _ATTEMPTS.columns
            if c.name != "attempt_id"
        }
    )
)
_ATTEMPT = Columns(DeliveryAttempt)


async def claim_due(conn: asyncpg.Connection, *, now: datetime, after_id: int) -> OutboxRow | None:
    """The oldest due row whose breach and channel have no older undelivered row, locked for
    the connection's transaction; other replicas skip it. ``after_id`` lets one pass move on
    past rows it already tried."""
    row = await _CLAIM_DUE.fetchrow(conn, {"now": now, "after_id": after_id})
    return _OUTBOX.load(row) if row is not None else None


async def delivered_progress(
    conn: asyncpg.Connection, *, breach_id: int, channel: str, transition: str
) -> DeliveryProgress | None:
    params = {"breach_id": breach_id, "channel": channel, "transition": transition}
    progress = await _DELIVERED_PROGRESS.fetchval(conn, params)
    assert progress is None or isinstance(progress, dict)
    # As the jsonb column stores it: what delivery wrote there.
    return cast(DeliveryProgress | None, progress)


Values = dict[str, object]


async def deliveries_of_breach(
    conn: asyncpg.Connection, breach_id: int
) -> list[tuple[Values, list[Values]]]:
    """Every outbox row of a breach (but its payload) with its attempts, both in the order
    they were made, as the values of their columns (what the answer validates)."""
    out: dict[object, tuple[Values, list[Values]]] = {}
    for row in await _DELIVERIES.fetch(conn, {"breach_id": breach_id}):
        entry = out.get(row[0])
        if entry is None:
            entry = out[row[0]] = (_OUTBOX_SHOWN.values(row), [])
        attempt = _ATTEMPT_AFTER_OUTBOX.values_optional(row)
        if attempt is not None:
            entry[1].append(attempt)
    return list(out.values())


async def pending_outbox(conn: asyncpg.Connection) -> int:
    count = await _PENDING.fetchval(conn)
    assert isinstance(count, int)
    return count


async def record_attempt(
    conn: asyncpg.Connection, row: OutboxRow, attempt: DeliveryAttempt
) -> None:
    """An attempt to deliver the row, and what it changed on the row."""
    values = row.__dict__
    await _UPDATE_ATTEMPTED.execute(
        conn, {"o_outbox_id": row.id, **{f"o_{name}": values[name] for name in _ATTEMPTED}}
    )
    await _INSERT_ATTEMPT.execute(conn, _ATTEMPT.params(attempt))


_CHANNEL_STATUS = table_of(ChannelStatus)


def _channel_upsert(*, failed: bool) -> Insert:
    if failed:
        values = {"last_error_at": bindparam("at"), "last_error": bindparam("error"), "failures": 1}
        update: dict[str, object] = {
            "last_error_at": bindparam("at"),
            "last_error": bindparam("error"),
            "failures": _CHANNEL_STATUS.c.failures + 1,
        }
    else:
        values = {"last_ok_at": bindparam("at"), "failures": 0}
        update = {"last_ok_at": bindparam("at"), "failures": 0}
    table = _CHANNEL_STATUS
    return (
        insert(table)
        .values(rule_id=bindparam("rule_id"), channel=bindparam("channel"), **values)
        .on_conflict_do_update(index_elements=[table.c.rule_id, table.c.channel], set_=update)
    )


_CHANNEL_OK = Statement(_channel_upsert(failed=False))
_CHANNEL_FAILED = Statement(_channel_upsert(failed=True))


async def record_channel_result(
    conn: asyncpg.Connection, *, rule_id: str, channel: str, at: datetime, error: str | None
) -> None:
    params = {"rule_id": rule_id, "channel": channel, "at": at, "error": error}
    statement = _CHANNEL_OK if error is None else _CHANNEL_FAILED
    await statement.execute(conn, params)
