"""The record statements of delivery: claiming the next due outbox row, the progress of an
earlier delivery, the deliveries of a breach, the count still pending, and the health of
each rule's channels as the sender finds it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlmodel import col, select

from pp_insights.alerts.documents import DeliveryProgress
from pp_insights.alerts.tables import ChannelStatus, DeliveryAttempt, OutboxRow, table_of
from pp_shared.records import AsyncSession, entities

_CLAIM_DUE = text(
    """
    SELECT o.* FROM insights.alert_outbox o
    WHERE o.state = 'pending' AND o.next_attempt_at <= :now AND o.outbox_id > :after_id
      AND NOT EXISTS (
          SELECT 1 FROM insights.alert_outbox e
          WHERE e.breach_id = o.breach_id AND e.channel = o.channel
            AND e.state = 'pending' AND e.outbox_id < o.outbox_id)
    ORDER BY o.outbox_id
    LIMIT 1
    FOR UPDATE OF o SKIP LOCKED
    """
)
_DELIVERED_PROGRESS = (
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
_DELIVERIES = (
    select(OutboxRow, DeliveryAttempt)
    .outerjoin(DeliveryAttempt, col(DeliveryAttempt.outbox_id) == col(OutboxRow.outbox_id))
    .where(col(OutboxRow.breach_id) == bindparam("breach_id"))
    .order_by(col(OutboxRow.outbox_id), col(DeliveryAttempt.attempt_id))
)
_PENDING = select(func.count()).select_from(OutboxRow).where(col(OutboxRow.state) == "pending")


async def claim_due(session: AsyncSession, *, now: datetime, after_id: int) -> OutboxRow | None:
    """The oldest due row whose breach and channel have no older undelivered row, locked for
    the session's transaction; other replicas skip it. ``after_id`` lets one pass move on past
    rows it already tried."""
    rows = await entities(session, OutboxRow, _CLAIM_DUE, {"now": now, "after_id": after_id})
    return rows[0] if rows else None


async def delivered_progress(
    session: AsyncSession, *, breach_id: int, channel: str, transition: str
) -> DeliveryProgress | None:
    params = {"breach_id": breach_id, "channel": channel, "transition": transition}
    return (await session.exec(_DELIVERED_PROGRESS, params=params)).first()


async def deliveries_of_breach(
    session: AsyncSession, breach_id: int
) -> list[tuple[OutboxRow, list[DeliveryAttempt]]]:
    """Every outbox row of a breach with its attempts, both in the order they were made."""
    rows = (await session.exec(_DELIVERIES, params={"breach_id": breach_id})).all()
    out: dict[int, tuple[OutboxRow, list[DeliveryAttempt]]] = {}
    for row, attempt in rows:
        _, attempts = out.setdefault(row.id, (row, []))
        if attempt is not None:
            attempts.append(attempt)
    return list(out.values())


async def pending_outbox(session: AsyncSession) -> int:
    return (await session.exec(_PENDING)).one()


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


_CHANNEL_OK = _channel_upsert(failed=False)
_CHANNEL_FAILED = _channel_upsert(failed=True)


async def record_channel_result(
    session: AsyncSession, *, rule_id: str, channel: str, at: datetime, error: str | None
) -> None:
    params = {"rule_id": rule_id, "channel": channel, "at": at, "error": error}
    statement = _CHANNEL_OK if error is None else _CHANNEL_FAILED
    await session.exec(statement, params=params)
