"""The write path: the event log, the facts recomputed from it, and their rollups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_insights.metrics_def import DIMENSIONS, LATENCY_HISTOGRAM, NO_QUEUE
from pp_insights.repository.tables import (
    CUBE_COUNTERS,
    CUBE_TABLE,
    KEY_COLUMNS,
    ROLLUP_TABLES,
    CubeKey,
    Grain,
    RollupKey,
)
from pp_shared.db import json_text

# Spans as fixed durations: timestamptz + '1 day' would follow the session's DST rules.
_SPANS: dict[Grain, str] = {"hour": "interval '1 hour'", "day": "interval '24 hours'"}


LogRow = tuple[str, str, str, datetime, dict[str, Any], list[dict[str, Any]]]


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
        ON CONFLICT (event_id, occurred_at) DO NOTHING
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
) -> list[asyncpg.Record]:
    """Recompute the fact rows of these escalations from every event in event_log, whatever
    order they arrived in. Returns each escalation's row before (``is_new`` false, absent for
    escalations without a row yet) and after (``is_new`` true) with its rollup key columns.

    Ties in ``occurred_at`` break by ``event_id`` so that the answer never depends on
    arrival order; an escalation.created sent twice counts from its earliest event.
    """
    # Delete, then insert: an escalation's row can move to another partition (its created_at
    # changes when an earlier escalation.created arrives), and no unique index across
    # partitions could back an upsert. The caller's refresh lock keeps one row per escalation.
    before = list(
        await conn.fetch(
            """
            DELETE FROM insights.escalation_facts WHERE escalation_id = ANY($1::text[])
            RETURNING false AS is_new, escalation_id, created_at, area, clause_id, region,
                      language, product_feature, queue, escalation_reason
            """,
            list(escalation_ids),
        )
    )
    after = list(
        await conn.fetch(
            """
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
                       body ->> 'action' AS action, body ->> 'clause_id' AS clause_id
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
                RETURNING f.escalation_id, f.created_at, f.area, f.clause_id, f.region,
                          f.language, f.product_feature, f.queue, f.escalation_reason
            )
            SELECT true AS is_new, * FROM inserted
            """,
            list(escalation_ids),
            list(overturned),
            unclassified,
        )
    )
    return before + after


async def refresh_rollups(
    conn: asyncpg.Connection, grain: Grain, keys: Sequence[RollupKey], *, unclear_reason: str
) -> None:
    """Recompute the rollup rows of ``keys`` from the facts: a key whose last escalation
    left it loses its row, every other key gets its exact sums."""
    if not keys:
        return
    table, span = ROLLUP_TABLES[grain], _SPANS[grain]
    cols = list(zip(*sorted(keys), strict=True))
    keys_in = (
        "unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        " $7::text[], $8::text[])"
    )
    key_match = " AND ".join(f"r.{c} = k.{c}" for c in ("bucket", *DIMENSIONS))
    await conn.execute(
        f"DELETE FROM {table} AS r USING {keys_in} AS k(bucket, {KEY_COLUMNS}) WHERE {key_match}",  # noqa: S608 - fixed names
        *cols,
    )
    await conn.execute(
        f"""
        WITH keys AS (
            SELECT * FROM {keys_in} WITH ORDINALITY AS k(bucket, {KEY_COLUMNS}, ord)
        ),
        matched AS (
            SELECT k.ord, f.escalation_reason, f.first_decision_at, f.decision_latency_s,
                   f.appeals_resolved, f.appeals_overturned, f.qa_reviews, f.qa_disagreements,
                   f.tag_agrees
            FROM keys k
            -- One index probe per key, whatever the planner estimates: the seven equality
            -- conditions make it guess one row per key and sort every fact for a merge join.
            CROSS JOIN LATERAL (
                SELECT * FROM insights.escalation_facts f
                WHERE f.clause_id = k.clause_id AND f.region = k.region
                  AND f.language = k.language AND f.product_feature = k.product_feature
                  AND f.escalation_reason = k.escalation_reason
                  AND f.created_at >= k.bucket AND f.created_at < k.bucket + {span}
                  AND f.area = k.area AND coalesce(f.queue, $11) = k.queue
                OFFSET 0
            ) f
        ),
        totals AS (
            SELECT ord,
                   count(*) AS volume,
                   count(*) FILTER (WHERE escalation_reason = $9) AS policy_unclear,
                   count(first_decision_at) AS decided,
                   sum(appeals_resolved) AS appeals_resolved,
                   sum(appeals_overturned) AS appeals_overturned,
                   sum(qa_reviews) AS qa_reviews,
                   sum(qa_disagreements) AS qa_disagreements,
                   count(*) FILTER (WHERE tag_agrees) AS tag_agreed
            FROM matched GROUP BY ord
        ),
        bins AS (
            SELECT ord, width_bucket(decision_latency_s, $10::float8[]) AS bin, count(*) AS n
            FROM matched WHERE decision_latency_s IS NOT NULL GROUP BY ord, bin
        ),
        hist AS (
            SELECT ord, array_agg(bin::smallint ORDER BY bin) AS bins,
                   array_agg(n ORDER BY bin) AS counts
            FROM bins GROUP BY ord
        )
        INSERT INTO {table} (bucket, {KEY_COLUMNS}, volume, policy_unclear, decided,
                             appeals_resolved, appeals_overturned, qa_reviews,
                             qa_disagreements, tag_agreed, latency_bins, latency_counts)
        SELECT k.bucket, {", ".join(f"k.{c}" for c in DIMENSIONS)}, t.volume, t.policy_unclear,
               t.decided, t.appeals_resolved, t.appeals_overturned, t.qa_reviews,
               t.qa_disagreements, t.tag_agreed, coalesce(h.bins, '{{}}'),
               coalesce(h.counts, '{{}}')
        FROM keys k JOIN totals t USING (ord) LEFT JOIN hist h USING (ord)
        """,  # noqa: S608 - table, span and columns come from the fixed maps above
        *cols,
        unclear_reason,
        list(LATENCY_HISTOGRAM.edges),
        NO_QUEUE,
    )


async def refresh_cube(conn: asyncpg.Connection, keys: Sequence[CubeKey]) -> None:
    """Recompute the coarse daily cube's rows of ``keys`` from ``rollup_day``: a sum of the
    few day rows that share a key's bucket, area, clause and region (the primary key's
    prefix), so it must run after the daily rollup's refresh."""
    if not keys:
        return
    cols = list(zip(*sorted(keys), strict=True))
    keys_in = "unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[])"
    await conn.execute(
        f"DELETE FROM {CUBE_TABLE} AS c USING {keys_in} AS k(bucket, area, clause_id, region)"  # noqa: S608 - fixed names
        " WHERE c.bucket = k.bucket AND c.area = k.area AND c.clause_id = k.clause_id"
        " AND c.region = k.region",
        *cols,
    )
    counters = CUBE_COUNTERS
    await conn.execute(
        f"""
        WITH src AS (
            SELECT r.*
            FROM {keys_in} AS k(bucket, area, clause_id, region)
            CROSS JOIN LATERAL (
                SELECT * FROM insights.rollup_day d
                WHERE d.bucket = k.bucket AND d.area = k.area AND d.clause_id = k.clause_id
                  AND d.region = k.region
                OFFSET 0
            ) r
        ),
        totals AS (
            SELECT bucket, area, clause_id, region,
                   {", ".join(f"sum({c})::bigint AS {c}" for c in counters)}
            FROM src GROUP BY 1, 2, 3, 4
        ),
        bins AS (
            SELECT bucket, area, clause_id, region, u.b, sum(u.c)::bigint AS c
            FROM src, unnest(src.latency_bins, src.latency_counts) AS u(b, c)
            GROUP BY 1, 2, 3, 4, 5
        ),
        hist AS (
            SELECT bucket, area, clause_id, region, array_agg(b ORDER BY b) AS bins,
                   array_agg(c ORDER BY b) AS counts
            FROM bins GROUP BY 1, 2, 3, 4
        )
        INSERT INTO {CUBE_TABLE} (bucket, area, clause_id, region, {", ".join(counters)},
                                  latency_bins, latency_counts)
        SELECT t.bucket, t.area, t.clause_id, t.region, {", ".join(f"t.{c}" for c in counters)},
               coalesce(h.bins, '{{}}'), coalesce(h.counts, '{{}}')
        FROM totals t LEFT JOIN hist h USING (bucket, area, clause_id, region)
        """,  # noqa: S608 - table and columns come from the fixed lists above
        *cols,
    )


async def truncate_derived(conn: asyncpg.Connection) -> None:
    """Empty the tables that are derived from event_log, but keep the daily rollups of the
    time retention dropped: their events are gone, so nothing could derive them again."""
    await conn.execute("TRUNCATE insights.escalation_facts, insights.rollup_hour")
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
        list(times),
    )
    assert row is not None
    return row["dropped_before"], list(row["missing"])


async def create_partitions(conn: asyncpg.Connection, months: Sequence[datetime]) -> None:
    """Create the partitions of these months in their own short transaction, so that no
    batch holds the parent tables' locks while it writes."""
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('insights.partitions', 0))"
        )
        await conn.execute(
            "SELECT insights.ensure_month_partitions(m) FROM unnest($1::timestamptz[]) AS m",
            list(months),
        )


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
          AND p.relname IN ('event_log', 'escalation_facts', 'rollup_hour')
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
