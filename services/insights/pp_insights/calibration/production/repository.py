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


async def pair_counts(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    interval: str | None,
    group_by: Sequence[str],
    filters: Mapping[str, Sequence[str]],
) -> list[asyncpg.Record]:
    """QA reviews of escalations created in ``[start, end)`` that pass ``filters``, counted
    per bucket of ``interval`` (None: the whole range, bucket NULL), group, moderator's clause,
    reviewer's clause and verdict, in no order (a hash aggregate: sorting 28 days of an area
    by day and region spilled to disk and took a third of the answer's time; callers group
    and order). ``group_by`` may name ``moderator_id`` besides dimensions."""
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
    keys = ", ".join(["bucket", *group_by, "moderator_clause", "reviewer_clause", "agrees"])
    sql = f"""
        SELECT {", ".join([f"{bucket} AS bucket", *groups])},
               moderator_clause, reviewer_clause, agrees, count(*)::bigint AS n
        FROM insights.qa_review_facts
        WHERE {" AND ".join(where)}
        GROUP BY {keys}
    """  # noqa: S608 - every name checked against fixed lists above
    return list(await conn.fetch(sql, *args))
