"""Every SQL statement of the write path: the event log, the facts recomputed from it, their
change applied to the rollups, monthly partitions, retention and rebuilds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg

from pp_insights.facts.deltas import Delta
from pp_insights.metrics_def import DIMENSIONS, LATENCY_HISTOGRAM
from pp_insights.rollups import (
    CUBE_TABLE,
    FACT_COUNTERS,
    FACT_DIMENSIONS,
    ROLLUP_COUNTERS,
)
from pp_shared.db import json_text


def _contribution(edges: str) -> str:
    """What refresh_facts returns of each fact row it removed or wrote: the row's rollup key
    and what it adds to every counter and to the latency histogram (its bin, NULL when
    undecided); ``edges`` is the parameter that holds the histogram's edges."""
    return ", ".join(
        [
            "escalation_id",
            "created_at",
            *(f"{FACT_DIMENSIONS[d]} AS {d}" for d in DIMENSIONS),
            *(f"{FACT_COUNTERS[c]} AS {c}" for c in ROLLUP_COUNTERS),
            f"width_bucket(decision_latency_s, {edges}::float8[])::smallint AS latency_bin",
        ]
    )


class LogRow(NamedTuple):
    """One event as the event log keeps it."""

    event_id: str
    event_type: str
    escalation_id: str
    occurred_at: datetime
    body: dict[str, Any]
    """The event without its content text."""
    tags: list[dict[str, Any]]


async def insert_event_log(conn: asyncpg.Connection, rows: Sequence[LogRow]) -> list[str]:
    """Store events once; return the escalation ids of the events that were new."""
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    inserted = await conn.fetch(
        """
        INSERT INTO insights.event_log
            (event_id, event_type, escalation_id, occurred_at, body, tags)
        SELECT i, t, e, o, b::jsonb, g::jsonb
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                    $6::text[]) AS u(i, t, e, o, b, g)
        ON CONFLICT (escalation_id, event_id, occurred_at) DO NOTHING
        RETURNING escalation_id
        """,
        *cols[:4],
        [json_text(b) for b in cols[4]],
        [json_text(g) for g in cols[5]],
    )
    return [r["escalation_id"] for r in inserted]


async def lock_refresh(conn: asyncpg.Connection) -> None:
    """Serialise fact and rollup refreshes until this transaction ends.

    A refresh recomputes rows from what its statements can see; without this lock, two
    batches touching the same rollup key could each miss the other's uncommitted facts and
    the later commit would overwrite the key with a partial sum.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('insights.refresh', 0))")
    # asyncpg prepares each statement once per connection, and from the sixth execution on
    # Postgres may reuse a generic plan that cannot see the batch's key arrays: measured at
    # 2.4 s instead of 0.03 s per rollup refresh of a 2000-event batch. Planning is < 1 ms.
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


async def escalation_ids_in_log(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT escalation_id FROM insights.event_log")
    return [r["escalation_id"] for r in rows]


async def refresh_facts(
    conn: asyncpg.Connection,
    escalation_ids: Sequence[str],
    *,
    overturned: Sequence[str],
    unclassified: str,
    no_clause: str,
) -> list[asyncpg.Record]:
    """Recompute the fact rows of these escalations from every event in event_log, whatever
    order they arrived in. Returns each escalation's row before (``is_new`` false, absent for
    escalations without a row yet) and after (``is_new`` true, absent when the escalation has
    no ``escalation.created`` yet): its rollup key and its contribution to the counters
    (``_contribution``), so that the caller can apply the difference to the rollups.

    Ties in ``occurred_at`` break by ``event_id`` so that the answer never depends on
    arrival order; an escalation.created sent twice counts from its earliest event.

    The same two statements recompute the escalations' QA review rows (``qa_review_facts``:
    each review with the moderator and clause of the decision it reviewed, ``no_clause`` for
    a decision without one), from the events they already read.
    """
    # Delete, then insert: an escalation's row can move to another partition (its created_at
    # changes when an earlier escalation.created arrives), and no unique index across
    # partitions could back an upsert. The caller's refresh lock keeps one row per escalation.
    before = list(
        await conn.fetch(
            f"""
            WITH reviews AS (
                DELETE FROM insights.qa_review_facts WHERE escalation_id = ANY($1::text[])
            )
            DELETE FROM insights.escalation_facts WHERE escalation_id = ANY($1::text[])
            RETURNING false AS is_new, {_contribution("$2")}
            """,  # noqa: S608 - fixed columns
            list(escalation_ids),
            list(LATENCY_HISTOGRAM.edges),
        )
    )
    after = list(
        await conn.fetch(
            f"""
            WITH ev AS (
                SELECT event_id, event_type, escalation_id, occurred_at, body, tags
                FROM insights.event_log
                WHERE escalation_id = ANY($1::text[])
            ),
            created AS (
                SELECT DISTINCT ON (escalation_id) escalation_id, event_id, occurred_at, body,
                       tags -> 0 AS top
                FROM ev WHERE event_type = 'escalation.created'
                ORDER BY escalation_id, occurred_at, event_id
            ),
            decisions AS (
                SELECT escalation_id, event_id, occurred_at, body ->> 'decision_id' AS decision_id,
                       body ->> 'action' AS action, body ->> 'clause_id' AS clause_id,
                       body ->> 'moderator_id' AS moderator_id
                FROM ev WHERE event_type = 'decision.made'
            ),
            first_decision AS (
                SELECT DISTINCT ON (escalation_id) * FROM decisions
                ORDER BY escalation_id, occurred_at, event_id
            ),
            final_decision AS (
                SELECT DISTINCT ON (escalation_id) * FROM decisions
                ORDER BY escalation_id, occurred_at DESC, event_id DESC
            ),
            decision_counts AS (
                SELECT escalation_id, count(DISTINCT decision_id) AS decisions
                FROM decisions GROUP BY escalation_id
            ),
            -- An appeal resolved twice (a correction) counts once, with its latest outcome.
            appeals AS (
                SELECT DISTINCT ON (escalation_id, body ->> 'appeal_id')
                       escalation_id, body ->> 'outcome' AS outcome
                FROM ev WHERE event_type = 'appeal.resolved'
                ORDER BY escalation_id, body ->> 'appeal_id', occurred_at DESC, event_id DESC
            ),
            appeal_counts AS (
                SELECT escalation_id, count(*) AS resolved,
                       count(*) FILTER (WHERE outcome = ANY($2::text[])) AS overturned
                FROM appeals GROUP BY escalation_id
            ),
            qa_counts AS (
                SELECT escalation_id, count(*) AS reviews,
                       count(*) FILTER (WHERE NOT (body ->> 'agrees')::boolean) AS disagreements
                FROM ev WHERE event_type = 'qa.reviewed' GROUP BY escalation_id
            ),
            -- A decision sent again (a correction) is reviewed as its latest version.
            reviewed AS (
                SELECT DISTINCT ON (escalation_id, decision_id)
                       escalation_id, decision_id, moderator_id, coalesce(clause_id, $5) AS clause
                FROM decisions
                ORDER BY escalation_id, decision_id, occurred_at DESC, event_id DESC
            ),
            -- Not referenced below: Postgres runs every data-modifying WITH all the same.
            reviews AS (
                INSERT INTO insights.qa_review_facts (
                    escalation_id, review_event_id, created_at, reviewed_at, area, clause_id,
                    region, language, product_feature, queue, escalation_reason, decision_id,
                    moderator_id, reviewer_id, agrees, moderator_clause, reviewer_clause)
                SELECT
                    q.escalation_id, q.event_id, c.occurred_at, q.occurred_at,
                    coalesce(c.top ->> 'area', $3), coalesce(c.top ->> 'clause_id', $3),
                    c.body ->> 'region', c.body ->> 'language', c.body ->> 'product_feature',
                    c.body ->> 'queue', c.body ->> 'escalation_reason', q.body ->> 'decision_id',
                    r.moderator_id, q.body ->> 'reviewer_id', (q.body ->> 'agrees')::boolean,
                    r.clause,
                    CASE WHEN (q.body ->> 'agrees')::boolean THEN r.clause
                         ELSE q.body ->> 'correct_clause_id' END
                FROM ev q
                JOIN created c USING (escalation_id)
                LEFT JOIN reviewed r ON r.escalation_id = q.escalation_id
                                    AND r.decision_id = q.body ->> 'decision_id'
                WHERE q.event_type = 'qa.reviewed'
            ),
            inserted AS (
                INSERT INTO insights.escalation_facts AS f (
                    escalation_id, created_event_id, created_at, area, clause_id, region,
                    language, product_feature, queue, escalation_reason, reporter_type,
                    content_type, severity, taxonomy_version, decisions,
                    first_decision_id, first_decision_at, first_action, first_clause_id,
                    final_decision_id, final_decision_at, final_action, final_clause_id,
                    decision_latency_s, appeals_resolved, appeals_overturned, qa_reviews,
                    qa_disagreements, tag_agrees)
                SELECT
                    c.escalation_id, c.event_id, c.occurred_at,
                    coalesce(c.top ->> 'area', $3), coalesce(c.top ->> 'clause_id', $3),
                    c.body ->> 'region', c.body ->> 'language', c.body ->> 'product_feature',
                    c.body ->> 'queue', c.body ->> 'escalation_reason',
                    c.body ->> 'reporter_type', c.body ->> 'content_type',
                    (c.body ->> 'severity')::smallint, c.top ->> 'taxonomy_version',
                    coalesce(dc.decisions, 0),
                    fd.decision_id, fd.occurred_at, fd.action, fd.clause_id,
                    ld.decision_id, ld.occurred_at, ld.action, ld.clause_id,
                    extract(epoch FROM fd.occurred_at - c.occurred_at)::double precision,
                    coalesce(ac.resolved, 0), coalesce(ac.overturned, 0),
                    coalesce(qc.reviews, 0), coalesce(qc.disagreements, 0),
                    CASE WHEN ld.event_id IS NOT NULL
                         THEN coalesce(ld.clause_id = coalesce(c.top ->> 'clause_id', $3), false)
                    END
                FROM created c
                LEFT JOIN first_decision fd USING (escalation_id)
                LEFT JOIN final_decision ld USING (escalation_id)
                LEFT JOIN decision_counts dc USING (escalation_id)
                LEFT JOIN appeal_counts ac USING (escalation_id)
                LEFT JOIN qa_counts qc USING (escalation_id)
                RETURNING {_contribution("$4")}
            )
            SELECT true AS is_new, * FROM inserted
            """,  # noqa: S608 - fixed columns
            list(escalation_ids),
            list(overturned),
            unclassified,
            list(LATENCY_HISTOGRAM.edges),
            no_clause,
        )
    )
    return before + after


async def apply_deltas(
    conn: asyncpg.Connection, table: str, dimensions: Sequence[str], deltas: Sequence[Delta]
) -> int:
    """Add each change to its rollup row, creating the row when it has none, and delete the
    rows whose last escalation left them. Returns the number of rows deleted.

    A row holds the sums over the facts of its key. Each batch removes some fact rows and
    writes others under the refresh lock and in one transaction, so adding what it wrote
    and subtracting what it removed keeps every row equal to those sums.
    """
    if not deltas:
        return 0
    assert all(d in DIMENSIONS for d in dimensions)
    keys = ["bucket", *dimensions]
    columns = [*keys, *ROLLUP_COUNTERS]
    types = ["timestamptz", *(["text"] * len(dimensions)), *(["bigint"] * len(ROLLUP_COUNTERS))]
    rows = (d.key + d.counters for d in deltas)
    args: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)]
    args.append([_pg_array(d.bins) for d in deltas])
    args.append([_pg_array(d.counts) for d in deltas])
    unnest = ", ".join(f"${i}::{t}[]" for i, t in enumerate([*types, "text", "text"], 1))
    names = ", ".join(columns)
    increments = ", ".join(f"{c} = r.{c} + excluded.{c}" for c in ROLLUP_COUNTERS)
    changed = await conn.fetch(
        f"""
        INSERT INTO {table} AS r ({names}, latency_bins, latency_counts)
        SELECT {names}, bins::smallint[], counts::bigint[]
        FROM unnest({unnest}) AS d({names}, bins, counts)
        ON CONFLICT ({", ".join(keys)}) DO UPDATE SET {increments},
            (latency_bins, latency_counts) = (
                SELECT s.sum_bins, s.sum_counts
                FROM insights.sparse_add(r.latency_bins, r.latency_counts,
                                         excluded.latency_bins, excluded.latency_counts) s)
        RETURNING {", ".join(keys)}, volume
        """,  # noqa: S608 - table and columns come from fixed lists
        *args,
    )
    empty = [tuple(r)[:-1] for r in changed if r["volume"] == 0]
    if empty:
        key_types = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types[: len(keys)], 1))
        await conn.execute(
            f"DELETE FROM {table} WHERE ({', '.join(keys)}) IN"  # noqa: S608 - fixed names
            f" (SELECT * FROM unnest({key_types})) AND volume = 0",
            *(list(c) for c in zip(*empty, strict=True)),
        )
    return len(empty)


def _pg_array(values: Sequence[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


async def truncate_derived(conn: asyncpg.Connection) -> None:
    """Empty the tables that are derived from event_log, but keep the daily rollups of the
    time retention dropped: their events are gone, so nothing could derive them again."""
    await conn.execute(
        "TRUNCATE insights.escalation_facts, insights.rollup_hour, insights.qa_review_facts"
    )
    for table in ("insights.rollup_day", CUBE_TABLE):
        await conn.execute(
            f"DELETE FROM {table} WHERE bucket >= coalesce("  # noqa: S608 - fixed names
            " (SELECT dropped_before FROM insights.retention), '-infinity')"
        )


async def partition_state(
    conn: asyncpg.Connection, times: Sequence[datetime]
) -> tuple[datetime | None, list[datetime]]:
    """Retention's horizon (None before the first drop) and the months of ``times`` that
    have no partition yet."""
    # A batch spans a month or two: look each up once, not once per event.
    months = {(t.astimezone(UTC).year, t.astimezone(UTC).month) for t in times}
    row = await conn.fetchrow(
        """
        SELECT (SELECT dropped_before FROM insights.retention) AS dropped_before,
               array(
                   SELECT DISTINCT date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                   FROM unnest($1::timestamptz[]) AS t
                   WHERE to_regclass('insights.event_log_'
                                     || to_char(t AT TIME ZONE 'UTC', 'YYYY_MM')) IS NULL
                   ORDER BY 1
               ) AS missing
        """,
        [datetime(y, m, 1, tzinfo=UTC) for y, m in sorted(months)],
    )
    assert row is not None
    return row["dropped_before"], list(row["missing"])


async def create_partitions(conn: asyncpg.Connection, months: Sequence[datetime]) -> None:
    """Create the partitions of these months, each month in its own short transaction, so
    that no batch holds the parent tables' locks while it writes, and a batch spread over
    many months never needs more locks at once than one month's tables (a batch over 1,000
    months in one transaction ran out of Postgres' lock table)."""
    for month in months:
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('insights.partitions', 0))"
            )
            await conn.execute("SELECT insights.ensure_month_partitions($1)", month)


async def drop_partitions_before(conn: asyncpg.Connection, horizon: datetime) -> list[str]:
    """Drop every monthly partition (event log, facts, hourly rollups) that ends at or
    before ``horizon`` and move the retention horizon to the end of the last one dropped.
    Returns the partitions dropped. The caller holds the refresh lock."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('insights.partitions', 0))")
    rows = await conn.fetch(
        """
        SELECT c.relname AS name, p.relname AS parent,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                             'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = 'insights'
          AND p.relname IN ('event_log', 'escalation_facts', 'rollup_hour', 'qa_review_facts')
        """
    )
    doomed = [r for r in rows if r["upper"] <= horizon]
    if not doomed:
        return []
    for r in doomed:
        # Names come from the catalogue and are quoted.
        await conn.execute(f'DROP TABLE insights."{r["name"]}"')
    await conn.execute(
        "UPDATE insights.retention SET dropped_before = greatest(dropped_before, $1)",
        max(r["upper"] for r in doomed),
    )
    return sorted(f"{r['parent']}:{r['name']}" for r in doomed)


async def claim_pending_rebuilds(conn: asyncpg.Connection) -> list[str]:
    """Pending rebuilds, locked until this transaction ends: a second replica waits here and
    then finds the work done."""
    rows = await conn.fetch("SELECT name FROM insights.pending_rebuilds FOR UPDATE")
    return [r["name"] for r in rows]


async def finish_rebuilds(conn: asyncpg.Connection, names: Sequence[str]) -> None:
    await conn.execute("DELETE FROM insights.pending_rebuilds WHERE name = ANY($1::text[])", names)
