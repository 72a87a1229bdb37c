"""The record statements of breaches: the open breaches of a rule (with the rule's
evaluation lock), a breach read for change, pages and timelines, and the writing of what a
transaction did to breaches (``lifecycle.Changes``).

Statements are built once, with bound parameters: building one costs more than running it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Boolean, bindparam, column, or_, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from pp_insights.alerts.rules.spec import RuleSpec
from pp_insights.alerts.tables import (
    AlertRule,
    AlertRuleVersion,
    Breach,
    BreachEvent,
    OutboxRow,
    table_of,
)
from pp_shared.records import AsyncSession, execute

RESOLVED = "resolved"

# One replica evaluates a rule at a time: a transaction-level advisory lock on the rule,
# taken with the read of its open breaches (locked too), in one statement. Every answer has
# a row: ``locked`` false (another replica has the rule), or true with each open breach (or
# none: the breach columns are null).
_LOCK_AND_OPEN = select(Breach, column("locked", Boolean)).from_statement(
    text(
        """
        SELECT l.locked, b.*
        FROM (SELECT pg_try_advisory_xact_lock(
                  hashtextextended('insights.alert_rule:' || :rule_id, 0)) AS locked) l
        LEFT JOIN LATERAL (
            SELECT * FROM insights.breaches
            WHERE l.locked AND rule_id = :rule_id AND state <> 'resolved'
            FOR UPDATE
        ) b ON true
        """
    )
)
_ORPHANED = (
    select(Breach)
    .outerjoin(AlertRule, col(AlertRule.rule_id) == col(Breach.rule_id))
    .where(
        col(Breach.state) != RESOLVED,
        or_(col(AlertRule.rule_id).is_(None), col(AlertRule.deleted), ~col(AlertRule.enabled)),
    )
    .order_by(col(Breach.breach_id))
    .with_for_update(of=Breach, skip_locked=True)
)
_BREACHES = table_of(Breach)
_CHANGING = [
    c.name
    for c in _BREACHES.columns
    if c.name not in {"breach_id", "rule_id", "fingerprint", "scope", "opened_at"}
]
"""What a breach's changes touch: everything but its key, its rule, its group, its opening."""
_UPDATE_BREACH = (
    update(_BREACHES)
    .where(_BREACHES.c.breach_id == bindparam("b_breach_id"))
    .values({name: bindparam(f"b_{name}") for name in _CHANGING})
)
_INSERT_BREACH = insert(_BREACHES).returning(_BREACHES.c.breach_id)
_INSERT_EVENT = insert(table_of(BreachEvent))
_INSERT_OUTBOX = insert(table_of(OutboxRow))
_WITH_TIMELINE = (
    select(Breach, BreachEvent)
    .outerjoin(BreachEvent, col(BreachEvent.breach_id) == col(Breach.breach_id))
    .where(col(Breach.breach_id) == bindparam("breach_id"))
    .order_by(col(BreachEvent.event_id))
)
_RULE_SPEC_OF_BREACH = (
    select(col(AlertRuleVersion.spec))
    .where(col(AlertRuleVersion.rule_id) == col(Breach.rule_id))
    .order_by(col(AlertRuleVersion.version).desc())
    .limit(1)
    .scalar_subquery()
)
_FOR_CHANGE = (
    select(Breach, _RULE_SPEC_OF_BREACH)
    .where(col(Breach.breach_id) == bindparam("breach_id"))
    .with_for_update(of=Breach)
)


def _for_change(session: AsyncSession, breaches: Sequence[Breach]) -> list[Breach]:
    # Breaches read for change leave the session: their changes are written by write_changes
    # in a statement for all of them, not by the session's flush one by one.
    for breach in breaches:
        session.expunge(breach)
    return list(breaches)


async def lock_rule(session: AsyncSession, rule_id: str) -> list[Breach] | None:
    """The rule's open breaches, for change, with the rule locked for the session's
    transaction; None when another replica holds the rule."""
    rows = (await execute(session, _LOCK_AND_OPEN, {"rule_id": rule_id})).all()
    if not rows[0][1]:
        return None
    return _for_change(session, [breach for breach, _ in rows if isinstance(breach, Breach)])


async def orphaned_open_breaches(session: AsyncSession) -> list[Breach]:
    """Open breaches whose rule was deleted or disabled, locked (others skip them), for
    change."""
    return _for_change(session, (await session.exec(_ORPHANED)).all())


async def lock_breach(
    session: AsyncSession, breach_id: int
) -> tuple[Breach, RuleSpec | None] | None:
    """The breach, locked for the session's transaction, for change; with the latest spec of
    its rule (None when the rule has no version left)."""
    found = (await session.exec(_FOR_CHANGE, params={"breach_id": breach_id})).first()
    if found is None:
        return None
    breach, spec = found
    session.expunge(breach)
    return breach, spec


async def breach_with_timeline(
    session: AsyncSession, breach_id: int
) -> tuple[Breach, list[BreachEvent]] | None:
    """The breach and the entries of its timeline, oldest first."""
    rows = (await session.exec(_WITH_TIMELINE, params={"breach_id": breach_id})).all()
    if not rows:
        return None
    return rows[0][0], [event for _, event in rows if event is not None]


async def insert_breach(session: AsyncSession, breach: Breach) -> None:
    """Insert a new breach; it gets its id."""
    result = await session.exec(_INSERT_BREACH, params=breach.model_dump(exclude={"breach_id"}))
    breach.breach_id = int(result.scalar_one())


async def write_changes(
    session: AsyncSession,
    *,
    breaches: Iterable[Breach],
    events: Sequence[BreachEvent],
    outbox: Sequence[OutboxRow],
) -> None:
    """Write what a transaction did to breaches read for change (each changed breach whole,
    but for what never changes), and the timeline entries and outbox rows it added, in
    order: one statement each."""
    changed = [
        {"b_breach_id": b.id, **{f"b_{name}": getattr(b, name) for name in _CHANGING}}
        for b in breaches
    ]
    if changed:
        await session.exec(_UPDATE_BREACH, params=changed)
    if events:
        await session.exec(
            _INSERT_EVENT, params=[e.model_dump(exclude={"event_id"}) for e in events]
        )
    if outbox:
        await session.exec(
            _INSERT_OUTBOX,
            # The message stays a model: its column writes it as the topic carries it.
            params=[{**o.model_dump(exclude={"outbox_id"}), "payload": o.payload} for o in outbox],
        )


# A breach seen by a caller restricted to areas (``alerts.areas``): its filters and its
# rule's scope as it is now both name ``area``, and only areas of ``:areas`` (a JSON array).
_WITHIN_AREAS = text(
    """
    insights.breaches.scope->'filters'->'area' <@ CAST(:areas AS jsonb)
    AND insights.breaches.scope->'filters'->'area' <> '[]'::jsonb
    AND EXISTS (
        SELECT 1 FROM insights.alert_rules r
        WHERE r.rule_id = insights.breaches.rule_id
          AND r.spec->'scope'->'area' <@ CAST(:areas AS jsonb)
          AND r.spec->'scope'->'area' <> '[]'::jsonb
    )
    """
)


def _breaches_page(
    *, before: bool, states: bool, rule: bool, scoped: bool
) -> SelectOfScalar[Breach]:
    statement = select(Breach)
    if scoped:
        statement = statement.where(_WITHIN_AREAS)
    if before:
        statement = statement.where(col(Breach.breach_id) < bindparam("before"))
    if states:
        statement = statement.where(col(Breach.state).in_(bindparam("states", expanding=True)))
    if rule:
        statement = statement.where(col(Breach.rule_id) == bindparam("rule_id"))
    return statement.order_by(col(Breach.breach_id).desc()).limit(bindparam("limit"))


_PAGES = {
    (before, states, rule, scoped): _breaches_page(
        before=before, states=states, rule=rule, scoped=scoped
    )
    for before in (False, True)
    for states in (False, True)
    for rule in (False, True)
    for scoped in (False, True)
}


async def list_breaches(
    session: AsyncSession,
    *,
    states: Sequence[str],
    rule_id: str | None,
    before: int | None,
    limit: int,
    areas: str | None = None,
) -> list[Breach]:
    """A page of breaches, newest first; with ``areas`` (a JSON array of area names) only
    those a caller restricted to them sees."""
    statement = _PAGES[before is not None, bool(states), rule_id is not None, areas is not None]
    params = {
        "before": before,
        "states": list(states),
        "rule_id": rule_id,
        "limit": limit,
        "areas": areas,
    }
    return list((await session.exec(statement, params=params)).all())
