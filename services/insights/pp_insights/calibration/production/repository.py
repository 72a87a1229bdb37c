"""Every statement of production agreement: QA review rows (``insights.qa_review_facts``,
written by the facts refresh) counted per bucket, dimensions and pair of clauses. Set-based
SQL on the asyncpg pool, as every reader of facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from pp_insights.metrics_def import DIMENSIONS, NO_QUEUE

_COLUMNS = {d: (f"coalesce(queue, '{NO_QUEUE}')" if d == "queue" else d) for d in DIMENSIONS}
BY_MODERATOR = "moderator_id"
WORK_MEM = "64MB"


async def pair_counts(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    interval: str | None,
    group_by: Sequence[str],
    filters: Mapping[str, Sequence[str]],
) -> list[asyncpg.Record]:
    """QA reviews of escalations created in ``[start, end)`` that pass ``filters``, one row
    per bucket of ``interval`` (None: the whole range, bucket NULL) and group: ``reviews``,
    ``disagreements``, and the group's table of (moderator's clause, reviewer's clause)
    counts as three parallel arrays (``moderator_clauses``, ``reviewer_clauses``, ``counts``;
    reviews without both clauses are not in it). In no order: callers order groups.

    One row per group, not per cell: 28 days by day and region are 840 groups but 66,000
    cells at the 10M benchmark load, and decoding and regrouping the cells in Python took
    more time than the SQL. ``group_by`` may name ``moderator_id`` besides dimensions."""
    assert all(d in DIMENSIONS or d == BY_MODERATOR for d in group_by)
    assert all(d in DIMENSIONS for d in filters)
    assert interval in (None, "hour", "day", "week")
    args: list[object] = [start, end]
    where = ["created_at >= $1", "created_at < $2"]
    for dim, values in sorted(filters.items()):
        args.append(list(values))
        where.append(f"{_COLUMNS[dim]} = ANY(${len(args)}::text[])")
    bucket = (
        f"date_trunc('{interval}', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        if interval
        else "NULL::timestamptz"
    )
    groups = [f"{_COLUMNS.get(d, d)} AS {d}" for d in group_by]
    keys = ", ".join(["bucket", *group_by])
    paired = "moderator_clause IS NOT NULL AND reviewer_clause IS NOT NULL"
    sql = f"""
        WITH cells AS (
            SELECT {", ".join([f"{bucket} AS bucket", *groups])},
                   moderator_clause, reviewer_clause, agrees, count(*)::bigint AS n
            FROM insights.qa_review_facts
            WHERE {" AND ".join(where)}
            GROUP BY {keys}, moderator_clause, reviewer_clause, agrees
        )
        SELECT {keys}, sum(n)::bigint AS reviews,
               coalesce(sum(n) FILTER (WHERE NOT agrees), 0)::bigint AS disagreements,
               coalesce(array_agg(moderator_clause) FILTER (WHERE {paired}), '{{}}')
                   AS moderator_clauses,
               coalesce(array_agg(reviewer_clause) FILTER (WHERE {paired}), '{{}}')
                   AS reviewer_clauses,
               coalesce(array_agg(n) FILTER (WHERE {paired}), '{{}}') AS counts
        FROM cells
        GROUP BY {keys}
    """  # noqa: S608 - every name checked against fixed lists above
    async with conn.transaction(readonly=True):
        # Hash both levels in memory. The planner otherwise sorts the cells once for both
        # groupings (the groups are a prefix of the cells' keys), which spills to disk with
        # the default 4 MB and compares text by collation: 320 ms of SQL for 28 days by day
        # and region at the 10M load, 180 ms hashed. Both settings end with the transaction.
        await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        await conn.execute("SET LOCAL enable_sort = off")
        return list(await conn.fetch(sql, *args))
