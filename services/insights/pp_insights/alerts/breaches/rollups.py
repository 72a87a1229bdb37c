"""What evaluation reads: counters and latency histograms of ``insights.rollup_hour`` summed over
a window, per group. Set-based SQL on the asyncpg pool, as the rest of the rollups' readers:
one statement sums a window for every group at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from pp_insights.metrics_def import DIMENSIONS, RollupCounter

GroupKey = tuple[str, ...]
"""A group's values, in the order of the rule's ``group_by``."""


@dataclass(frozen=True)
class RollupWindow:
    """The hours ``[start, end)`` of the rows that pass ``filters`` (dimension -> values), in
    groups of ``group_by``."""

    start: datetime
    end: datetime
    filters: Mapping[str, Sequence[str]]
    group_by: Sequence[str]


_COUNTERS = frozenset(c.value for c in RollupCounter)
_SPARSE = {"latency_hist": ("latency_bins", "latency_counts")}
"""Each dense histogram column's sparse twin: its non-empty bins (0-based) and their counts."""


async def sum_window(
    conn: asyncpg.Connection, window: RollupWindow, *, counters: Sequence[str]
) -> dict[GroupKey, dict[str, int]]:
    """Counters of ``rollup_hour`` summed over the window per group; groups without rows are
    absent."""
    assert set(counters) <= _COUNTERS
    cond, args = _window_where(window)
    group_by = window.group_by
    dims = ", ".join(group_by)
    select_dims = f"{dims}, " if dims else ""
    group = f"GROUP BY {dims}" if dims else "HAVING count(*) > 0"
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in counters)
    sql = f"SELECT {select_dims}{sums} FROM insights.rollup_hour WHERE {cond} {group}"  # noqa: S608
    return {
        tuple(r[d] for d in group_by): {c: int(r[c]) for c in counters}
        for r in await conn.fetch(sql, *args)
    }


async def sum_window_histogram(
    conn: asyncpg.Connection, window: RollupWindow, *, histogram: str, size: int
) -> dict[GroupKey, list[int]]:
    """A histogram of ``rollup_hour`` summed bin by bin (as dense counts of ``size`` bins)
    per group of the window. It reads the sparse twin of the column (only non-empty bins)."""
    bins, counts = _SPARSE[histogram]
    cond, args = _window_where(window)
    args.append(size)
    group_by = window.group_by
    dims = ", ".join(group_by)
    keys = f"{dims}, " if dims else ""
    outer = f"GROUP BY {dims}" if dims else ""
    # Every name below was checked against the fixed lists above.
    sql = f"""
        WITH cells AS (
            SELECT {keys}u.b, sum(u.c)::bigint AS c
            FROM insights.rollup_hour, unnest({bins}, {counts}) AS u(b, c)
            WHERE {cond}
            GROUP BY {keys}u.b
        )
        SELECT {keys}insights.dense_histogram(array_agg(b::integer), array_agg(c), ${len(args)})
            AS hist
        FROM cells {outer}
    """  # noqa: S608
    return {tuple(r[d] for d in group_by): list(r["hist"]) for r in await conn.fetch(sql, *args)}


def _window_where(window: RollupWindow) -> tuple[str, list[object]]:
    assert all(d in DIMENSIONS for d in (*window.filters, *window.group_by))
    args: list[object] = [window.start, window.end]
    where = ["bucket >= $1", "bucket < $2"]
    for dim, values in sorted(window.filters.items()):
        args.append(list(values))
        where.append(f"{dim} = ANY(${len(args)}::text[])")
    return " AND ".join(where), args


async def first_hour(conn: asyncpg.Connection) -> datetime | None:
    """The first hour of ``rollup_hour`` that holds any row (after retention), or None."""
    found: datetime | None = await conn.fetchval("SELECT min(bucket) FROM insights.rollup_hour")
    return found
