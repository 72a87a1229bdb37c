"""The record statements of breaches: the open breaches of a rule (with the rule's
evaluation lock), a breach read for change, pages and timelines, and the writing of what a
transaction did to breaches (``lifecycle.Changes``).

Statements are built over the tables once and compiled for the asyncpg pool
(``pp_shared.records.Statement``); rows are read with ``Columns``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg
from sqlalchemy import ARRAY, String, any_, bindparam, or_, text, update
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
from pp_shared.records import Columns, Statement, inserting, scalar

RESOLVED = "resolved"

_BREACH = Columns(Breach)
_BREACHES = table_of(Breach)
_EVENT_AFTER_BREACH = Columns(BreachEvent, _BREACH.end)
_SPEC = scalar(table_of(AlertRuleVersion).c.spec.type)

# One replica evaluates a rule at a time: a transaction-level advisory lock on the rule,
# taken with the read of its open breaches (locked too), in one statement. Every answer has
# a row: ``locked`` false (another replica has the rule), or true with each open breach (or
# none: the breach columns are null).
_LOCK_AND_OPEN = Statement(
    text(
        f"""
        SELECT {", ".join(f"b.{name}" for name in _BREACH.names)}, l.locked
        FROM (SELECT pg_try_advisory_xact_lock(
                  hashtextextended('insights.alert_rule:' || :rule_id, 0)) AS locked) l
        LEFT JOIN LATERAL (
            SELECT * FROM insights.breaches
            WHERE l.locked AND rule_id = :rule_id AND state <> 'resolved'
            FOR UPDATE
        ) b ON true
        """  # noqa: S608 - the column names are the table's
    )
)
_ORPHANED = Statement(
    select(Breach)
    .outerjoin(AlertRule, col(AlertRule.rule_id) == col(Breach.rule_id))
    .where(
        col(Breach.state) != RESOLVED,
        or_(col(AlertRule.rule_id).is_(None), col(AlertRule.deleted), ~col(AlertRule.enabled)),
    )
    .order_by(col(Breach.breach_id))
    .with_for_update(of=Breach, skip_locked=True)
)
_CHANGING = [
    c.name
    for c in _BREACHES.columns
    if c.name not in {"breach_id", "rule_id", "fingerprint", "scope", "opened_at"}
]
"""What a breach's changes touch: everything but its key, its rule, its group, its opening."""
_UPDATE_BREACH = Statement(
    update(_BREACHES)
    .where(_BREACHES.c.breach_id == bindparam("b_breach_id"))
    .values({name: bindparam(f"b_{name}") for name in _CHANGING})
)


_INSERT_BREACH = inserting(_BREACHES, "breach_id")
_INSERT_EVENT = inserting(table_of(BreachEvent), "event_id")
_INSERT_OUTBOX = inserting(table_of(OutboxRow), "outbox_id")
_EVENT = Columns(BreachEvent)
_OUTBOX = Columns(OutboxRow)
_WITH_TIMELINE = Statement(
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
_FOR_CHANGE = Statement(
    select(Breach, _RULE_SPEC_OF_BREACH)
    .where(col(Breach.breach_id) == bindparam("breach_id"))
    .with_for_update(of=Breach)
)


async def lock_rule(conn: asyncpg.Connection, rule_id: str) -> list[Breach] | None:
    """The rule's open breaches, for change, with the rule locked for the connection's
    transaction; None when another replica holds the rule."""
    rows = await _LOCK_AND_OPEN.fetch(conn, {"rule_id": rule_id})
    if not rows[0][_BREACH.end]:
        return None
    return [breach for row in rows if (breach := _BREACH.load_optional(row)) is not None]


async def orphaned_open_breaches(conn: asyncpg.Connection) -> list[Breach]:
    """Open breaches whose rule was deleted or disabled, locked (others skip them), for
    change."""
    return _BREACH.load_all(await _ORPHANED.fetch(conn))


async def lock_breach(
    conn: asyncpg.Connection, breach_id: int
) -> tuple[Breach, RuleSpec | None] | None:
    """The breach, locked for the connection's transaction, for change; with the latest spec
    of its rule (None when the rule has no version left)."""
    row = await _FOR_CHANGE.fetchrow(conn, {"breach_id": breach_id})
    if row is None:
        return None
    found = row[_BREACH.end]
    spec = _SPEC(found) if found is not None else None
    assert spec is None or isinstance(spec, RuleSpec)
    return _BREACH.load(row), spec


Values = dict[str, object]


async def breach_with_timeline(
    conn: asyncpg.Connection, breach_id: int
) -> tuple[Values, list[Values]] | None:
    """The breach and the entries of its timeline, oldest first, as the values of their
    columns (what the answer validates)."""
    rows = await _WITH_TIMELINE.fetch(conn, {"breach_id": breach_id})
    if not rows:
        return None
    events = [e for row in rows if (e := _EVENT_AFTER_BREACH.values_optional(row)) is not None]
    return _BREACH.values(rows[0]), events


async def insert_breach(conn: asyncpg.Connection, breach: Breach) -> None:
    """Insert a new breach; it gets its id."""
    breach_id = await _INSERT_BREACH.fetchval(conn, _BREACH.params(breach))
    assert isinstance(breach_id, int)
    breach.breach_id = breach_id


async def write_changes(
    conn: asyncpg.Connection,
    *,
    breaches: Iterable[Breach],
    events: Sequence[BreachEvent],
    outbox: Sequence[OutboxRow],
) -> None:
    """Write what a transaction did to breaches read for change (each changed breach whole,
    but for what never changes), and the timeline entries and outbox rows it added, in
    order: one statement each."""
    changed = [_BREACH.params(b, prefix="b_") for b in breaches]
    if changed:
        await _UPDATE_BREACH.executemany(conn, changed)
    if events:
        await _INSERT_EVENT.executemany(conn, [_EVENT.params(e) for e in events])
    if outbox:
        await _INSERT_OUTBOX.executemany(conn, [_OUTBOX.params(o) for o in outbox])


# A breach seen by a caller restricted to areas (``alerts.areas``): its filters and its
# rule's scope as it is now both name ``area``, and only areas of ``:areas`` (a list, bound
# as a JSON array).
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
        statement = statement.where(
            col(Breach.state) == any_(bindparam("states", type_=ARRAY(String)))
        )
    if rule:
        statement = statement.where(col(Breach.rule_id) == bindparam("rule_id"))
    return statement.order_by(col(Breach.breach_id).desc()).limit(bindparam("limit"))


_PAGES = {
    (before, states, rule, scoped): Statement(
        _breaches_page(before=before, states=states, rule=rule, scoped=scoped)
    )
    for before in (False, True)
    for states in (False, True)
    for rule in (False, True)
    for scoped in (False, True)
}


async def list_breaches(
    conn: asyncpg.Connection,
    *,
    states: Sequence[str],
    rule_id: str | None,
    before: int | None,
    limit: int,
    areas: list[str] | None = None,
) -> list[dict[str, object]]:
    """A page of breaches, newest first, as the values of their columns (what an answer
    validates; no table objects); with ``areas`` (area names) only those a caller
    restricted to them sees."""
    statement = _PAGES[before is not None, bool(states), rule_id is not None, areas is not None]
    params = {
        "before": before,
        "states": list(states),
        "rule_id": rule_id,
        "limit": limit,
        "areas": areas,
    }
    return [_BREACH.values(row) for row in await statement.fetch(conn, params)]
