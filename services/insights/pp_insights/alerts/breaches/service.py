"""What the ``/v1/breaches`` routes do: pages of breaches, a breach with its timeline and
deliveries, acknowledgements and silences (changes of the breach, told to the topic and, for
an acknowledgement of an announced firing, to the channels that can show it). A caller
restricted to policy areas sees and changes only the breaches within them
(``alerts.areas``): another one is 404, as if it did not exist."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from pp_insights.alerts.areas import areas_param, sees_breach
from pp_insights.alerts.breaches import repository as repo
from pp_insights.alerts.breaches.lifecycle import Changes, announce
from pp_insights.alerts.clock import iso
from pp_insights.alerts.delivery.repository import deliveries_of_breach
from pp_insights.alerts.documents import TimelineDetail
from pp_insights.alerts.errors import Conflict
from pp_insights.alerts.rules.repository import latest_rule_spec
from pp_insights.alerts.rules.spec import ChannelType, RuleSpec
from pp_insights.alerts.schemas import BreachDetail, BreachPage, BreachView
from pp_insights.alerts.tables import Breach
from pp_shared.identity import Identity
from pp_shared.problems import NotFound

ACK_CHANNEL_TYPES = frozenset({ChannelType.SLACK_API, ChannelType.WEBHOOK})
"""Incoming webhooks cannot edit a message, so an acknowledgement would only add noise."""


async def list_breaches(
    pool: asyncpg.Pool,
    *,
    states: list[str],
    rule_id: str | None,
    before: int | None,
    limit: int,
    caller: Identity,
) -> BreachPage:
    """Breaches newest first; ``next_before`` pages on when the page is full."""
    async with pool.acquire() as conn:
        found = await repo.list_breaches(
            conn, states=states, rule_id=rule_id, before=before, limit=limit,
            areas=areas_param(caller),
        )  # fmt: skip
    page = [BreachView.model_validate(values) for values in found]
    return BreachPage(breaches=page, next_before=page[-1].id if len(page) == limit else None)


async def breach_detail(pool: asyncpg.Pool, *, breach_id: int, caller: Identity) -> BreachDetail:
    """A breach with its timeline and the delivery state of every notification."""
    async with pool.acquire() as conn:
        return await _detail(conn, breach_id, caller)


async def _detail(conn: asyncpg.Connection, breach_id: int, caller: Identity) -> BreachDetail:
    found = await repo.breach_with_timeline(conn, breach_id)
    if found is None:
        raise NotFound(f"no breach {breach_id}")
    breach = BreachView.model_validate(found[0])
    if caller.scoped and not sees_breach(
        caller, breach.scope, await latest_rule_spec(conn, breach.rule_id)
    ):
        raise NotFound(f"no breach {breach_id}")
    return BreachDetail.of_breach(breach, found[1], await deliveries_of_breach(conn, breach_id))


async def _open_breach(
    conn: asyncpg.Connection, breach_id: int, caller: Identity
) -> tuple[Breach, RuleSpec | None]:
    """The breach, locked for the connection's transaction, for change, and its rule's latest
    spec; 404 when the caller does not see it, 409 when it is not open."""
    found = await repo.lock_breach(conn, breach_id)
    if found is None or not sees_breach(caller, found[0].scope, found[1]):
        raise NotFound(f"no breach {breach_id}")
    if found[0].state == "resolved":
        raise Conflict(f"breach {breach_id} is resolved")
    return found


async def _write(conn: asyncpg.Connection, changes: Changes) -> None:
    await repo.write_changes(
        conn, breaches=changes.breaches.values(), events=changes.events, outbox=changes.outbox
    )


async def acknowledge(
    pool: asyncpg.Pool, *, breach_id: int, caller: Identity, now: datetime, note: str | None
) -> BreachDetail:
    actor = caller.actor
    async with pool.acquire() as conn, conn.transaction():
        breach, spec = await _open_breach(conn, breach_id, caller)
        changes = Changes()
        breach.acknowledged_at = now
        breach.acknowledged_by = actor
        changes.changed(breach)
        changes.record(
            breach, kind="acknowledged", at=now, actor=actor,
            detail={"note": note} if note else {},
        )  # fmt: skip
        # Acknowledgements and silences are breach changes too: the topic hears of them; of
        # an announced firing, Slack bot messages show it in place and JSON webhooks hear it.
        announce(
            changes, spec=spec, breach=breach, transition="acknowledged", at=now,
            notify=breach.state == "firing" and breach.firing_notified, types=ACK_CHANNEL_TYPES,
        )  # fmt: skip
        await _write(conn, changes)
        return await _detail(conn, breach_id, caller)


async def silence(
    pool: asyncpg.Pool,
    *,
    breach_id: int,
    caller: Identity,
    now: datetime,
    until: datetime | None,
    reason: str,
) -> BreachDetail:
    """Silence (``until`` later than now) or lift the silence (``until`` None) of a breach;
    transitions are still recorded and published, channels hear nothing while it lasts."""
    actor = caller.actor
    async with pool.acquire() as conn, conn.transaction():
        breach, spec = await _open_breach(conn, breach_id, caller)
        changes = Changes()
        breach.silenced_until = until
        if until is not None:
            breach.silence_reason, breach.silenced_by = reason, actor
            detail: TimelineDetail = {"until": iso(until), "reason": reason}
        else:
            breach.silence_reason, breach.silenced_by = None, None
            detail = {"reason": reason} if reason else {}
        changes.changed(breach)
        kind = "silenced" if until is not None else "unsilenced"
        changes.record(breach, kind=kind, at=now, actor=actor, detail=detail)
        announce(changes, spec=spec, breach=breach, transition=kind, at=now, notify=False)
        await _write(conn, changes)
        return await _detail(conn, breach_id, caller)
