"""The outbox sender: delivers each row once, in id order per breach and channel, with
exponential backoff and jitter, ``Retry-After`` honoured, and every attempt recorded.

A row is claimed with ``FOR UPDATE SKIP LOCKED`` inside the transaction that records its
attempt: a sender killed mid-delivery leaves the row pending and it is sent again (at least
once; webhook receivers deduplicate by ``X-PolicyPulse-Delivery``), and two replicas never
send the same row at the same time.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

import asyncpg

from pp_insights.alerts import metrics as m
from pp_insights.alerts.clock import Clock
from pp_insights.alerts.delivery import repository as repo
from pp_insights.alerts.delivery.notifiers import Notifiers
from pp_insights.alerts.delivery.outcomes import Outcome
from pp_insights.alerts.documents import DeliveryProgress
from pp_insights.alerts.rules.repository import latest_rule_spec
from pp_insights.alerts.rules.spec import TOPIC_CHANNEL_TYPE, Channel, ChannelType
from pp_insights.alerts.settings import AlertSettings
from pp_insights.alerts.tables import DeliveryAttempt, OutboxRow

log = logging.getLogger(__name__)


def backoff(attempt: int, settings: AlertSettings, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: base x 2^(attempt-1), capped, plus jitter so
    that many rows failing together do not retry together."""
    delay: float = min(
        settings.alert_retry_max_seconds, settings.alert_retry_base_seconds * 2.0 ** (attempt - 1)
    )
    return min(
        settings.alert_retry_max_seconds, delay * (1 + settings.alert_retry_jitter * rng.random())
    )


class OutboxSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        notifiers: Notifiers,
        settings: AlertSettings,
        *,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security

    async def deliver_due(self) -> int:
        """One pass over the rows due now; returns how many were delivered."""
        now = self.clock()
        delivered = 0
        after = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                row = await repo.claim_due(conn, now=now, after_id=after)
                if row is None:
                    break
                after = row.id
                if await self._attempt(conn, row):
                    delivered += 1
        async with self.pool.acquire() as conn:
            m.OUTBOX_PENDING.set(await repo.pending_outbox(conn))
        return delivered

    async def _attempt(self, conn: asyncpg.Connection, row: OutboxRow) -> bool:
        kind = row.channel_type
        channel: Channel | None = None
        if kind != TOPIC_CHANNEL_TYPE:
            spec = await latest_rule_spec(conn, row.rule_id)
            # The rule's current channel: fixing a bad URL on the rule lets pending rows through.
            channels = spec.channels if spec is not None else []
            channel = next((c for c in channels if c.name == row.channel), None)
        now = self.clock()
        if kind != TOPIC_CHANNEL_TYPE and channel is None:
            outcome = Outcome(False, permanent=True, error="channel removed from the rule")
            state = "cancelled"
        else:
            outcome = await self._send(conn, row, channel, now)
            state = (
                "delivered" if outcome.delivered else "failed" if outcome.permanent else "pending"
            )
        await self._record(conn, row, outcome, state=state, now=now)
        m.DELIVERIES.labels(kind, "retry" if state == "pending" else state).inc()
        if kind != TOPIC_CHANNEL_TYPE and state != "cancelled":
            await repo.record_channel_result(
                conn, rule_id=row.rule_id, channel=row.channel, at=now, error=outcome.error
            )
        if not outcome.delivered:
            m.CHANNEL_ERRORS.labels(kind, outcome.reason or "config").inc()
            log.warning(
                "alert delivery failed",
                extra={
                    "outbox_id": row.id,
                    "breach_id": row.breach_id,
                    "rule_id": row.rule_id,
                    "channel": row.channel,
                    "channel_type": kind,
                    "attempt": row.attempts,
                    "error": outcome.error,
                    "state": state,
                },
            )
        return outcome.delivered

    async def _send(
        self, conn: asyncpg.Connection, row: OutboxRow, channel: Channel | None, now: datetime
    ) -> Outcome:
        firing: DeliveryProgress | None = None
        if (
            row.transition in ("resolved", "acknowledged")
            and row.channel_type == ChannelType.SLACK_API
        ):
            firing = await repo.delivered_progress(
                conn, breach_id=row.breach_id, channel=row.channel, transition="firing"
            )
        started = time.perf_counter()
        outcome = await self.notifiers.send(
            outbox_id=row.id,
            channel_type=row.channel_type,
            channel=channel,
            message=row.payload,
            key=f"{row.rule_id}:{row.payload.fingerprint}",
            now=now,
            firing_progress=firing,
        )
        m.DELIVERY_SECONDS.labels(row.channel_type).observe(time.perf_counter() - started)
        return outcome

    async def _record(
        self,
        conn: asyncpg.Connection,
        row: OutboxRow,
        outcome: Outcome,
        *,
        state: str,
        now: datetime,
    ) -> None:
        """The attempt, and the row's new state: retried after the backoff (or the
        ``Retry-After``) while pending."""
        row.attempts += 1
        if state == "pending":
            delay = outcome.retry_after
            if delay is None:
                delay = backoff(row.attempts, self.settings, self.rng)
            row.next_attempt_at = now + timedelta(seconds=delay)
        attempt = DeliveryAttempt(
            outbox_id=row.id,
            at=now,
            outcome="retry" if state == "pending" else state,
            status_code=outcome.status_code,
            error=outcome.error,
            retry_after_s=outcome.retry_after,
        )
        row.state = state
        row.last_error = outcome.error
        if state == "delivered":
            row.delivered_at = now
        row.progress = {**row.progress, **outcome.progress}
        await repo.record_attempt(conn, row, attempt)
