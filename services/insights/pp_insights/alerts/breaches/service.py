"""What the ``/v1/breaches`` routes do: pages of breaches, a breach with its timeline and
deliveries, acknowledgements and silences (changes of the breach, told to the topic and, for
an acknowledgement of an announced firing, to the channels that can show it). A caller
restricted to policy areas sees and changes only the breaches within them
(``alerts.areas``): another one is 404, as if it did not exist."""

from __future__ import annotations

from datetime import datetime

from pp_insights.alerts.areas import areas_param, sees_breach
from pp_insights.alerts.breaches import repository as repo
from pp_insights.alerts.breaches.lifecycle import Changes, announce, announce_channels
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
from pp_shared.records import AsyncSession, Records

ACK_CHANNEL_TYPES = frozenset({ChannelType.SLACK_API, ChannelType.WEBHOOK})
"""Incoming webhooks cannot edit a message, so an acknowledgement would only add noise."""


async def list_breaches(
    records: Records,
    *,
    states: list[str],
    rule_id: str | None,
    before: int | None,
    limit: int,
    caller: Identity,
) -> BreachPage:
    """Breaches newest first; ``next_before`` pages on when the page is full."""
    async with records.reading() as session:
        found = await repo.list_breaches(
            session, states=states, rule_id=rule_id, before=before, limit=limit,
            areas=areas_param(caller),
        )  # fmt: skip
    page = [BreachView.of(b) for b in found]
    return BreachPage(breaches=page, next_before=page[-1].id if len(page) == limit else None)


async def breach_detail(records: Records, *, breach_id: int, caller: Identity) -> BreachDetail:
    """A breach with its timeline and the delivery state of every notification."""
    async with records.reading() as session:
        return await _detail(session, breach_id, caller)


async def _detail(session: AsyncSession, breach_id: int, caller: Identity) -> BreachDetail:
    found = await repo.breach_with_timeline(session, breach_id)
    if found is None:
        raise NotFound(f"no breach {breach_id}")
    breach, timeline = found
    if caller.scoped and not sees_breach(
        caller, breach.scope, await latest_rule_spec(session, breach.rule_id)
    ):
        raise NotFound(f"no breach {breach_id}")
    return BreachDetail.of_breach(breach, timeline, await deliveries_of_breach(session, breach_id))


async def _open_breach(
    session: AsyncSession, breach_id: int, caller: Identity
) -> tuple[Breach, RuleSpec | None]:
    """The breach, locked for the session's transaction, for change, and its rule's latest
    spec; 404 when the caller does not see it, 409 when it is not open."""
    found = await repo.lock_breach(session, breach_id)
    if found is None or not sees_breach(caller, found[0].scope, found[1]):
        raise NotFound(f"no breach {breach_id}")
    if found[0].state == "resolved":
        raise Conflict(f"breach {breach_id} is resolved")
    return found


async def _write(session: AsyncSession, changes: Changes) -> None:
    await repo.write_changes(
        session, breaches=changes.breaches.values(), events=changes.events, outbox=changes.outbox
    )


async def acknowledge(
    records: Records, *, breach_id: int, caller: Identity, now: datetime, note: str | None
) -> BreachDetail:
    actor = caller.actor
    async with records.transaction() as session:
        breach, spec = await _open_breach(session, breach_id, caller)
        changes = Changes()
        breach.acknowledged_at = now
        breach.acknowledged_by = actor
        changes.changed(breach)
        changes.record(
            breach, kind="acknowledged", at=now, actor=actor,
            detail={"note": note} if note else {},
        )  # fmt: skip
        # Acknowledgements and silences are breach changes too: the topic hears of them.
        announce(changes, spec=spec, breach=breach, transition="acknowledged", at=now, notify=False)
        if breach.state == "firing" and breach.firing_notified:
            # Slack bot messages show the acknowledgement in place; JSON webhooks hear it.
            announce_channels(
                changes, spec=spec, breach=breach, transition="acknowledged", at=now,
                types=ACK_CHANNEL_TYPES,
            )  # fmt: skip
        await _write(session, changes)
        return await _detail(session, breach_id, caller)


async def silence(
    records: Records,
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
    async with records.transaction() as session:
        breach, spec = await _open_breach(session, breach_id, caller)
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
        await _write(session, changes)
        return await _detail(session, breach_id, caller)
