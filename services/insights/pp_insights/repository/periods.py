"""The read path of comparisons: rollup counters summed per period (current or previous) and
per dimension value, and example escalations from the facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_insights.metrics_def import DIMENSIONS
from pp_insights.repository.tables import (
    COUNTERS,
    FACT_COUNTERS,
    FACT_DIMENSIONS,
    HISTOGRAMS,
    SPARSE_HISTOGRAMS,
    Grain,
    rollup_table,
)


def _where(
    filters: Mapping[str, Sequence[str]], args: list[Any], columns: Mapping[str, str]
) -> list[str]:
    assert all(f in DIMENSIONS for f in filters)
    where = []
    for dim, values in sorted(filters.items()):
        args.append(list(values))
        where.append(f"{columns[dim]} = ANY(${len(args)}::text[])")
    return where


async def sum_periods(
    conn: asyncpg.Connection,
    *,
    grain: Grain,
    previous_start: datetime,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    counters: Sequence[str],
    dimensions: Sequence[str] = (),
) -> list[asyncpg.Record]:
    """Counters summed per period (``is_current``: bucket in ``[start, end)``, else in
    ``[previous_start, start)``): once over the whole scope, with every dimension column
    NULL, and once per value of each of ``dimensions``, with only that column set (rollup
    dimensions are never NULL, so the NULLs say which grouping a row belongs to).

    Each dimension is summed from the smallest rollup that holds it with the filters: a
    drill-down into an area reads its clauses and regions from the cube and only its other
    dimensions from ``rollup_day``. With more than one table, the caller reads in one
    snapshot (a repeatable-read transaction) so that all sums agree."""
    assert set(counters) <= COUNTERS
    assert all(d in DIMENSIONS for d in dimensions)
    by_table: dict[str, list[str]] = {rollup_table(grain, filters): []}
    for d in dimensions:
        by_table.setdefault(rollup_table(grain, [*filters, d]), []).append(d)
    rows: list[asyncpg.Record] = []
    for i, (table, dims) in enumerate(by_table.items()):
        if i == 0 or dims:
            rows += await _period_sums(
                conn, table, (previous_start, start, end), filters, counters, dims, i == 0
            )
    return rows


async def _period_sums(
    conn: asyncpg.Connection,
    table: str,
    bounds: tuple[datetime, datetime, datetime],
    filters: Mapping[str, Sequence[str]],
    counters: Sequence[str],
    dimensions: Sequence[str],
    total: bool,
) -> list[asyncpg.Record]:
    args: list[Any] = list(bounds)
    where = ["bucket >= $1", "bucket < $3", *_where(filters, args, {d: d for d in DIMENSIONS})]
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in counters)
    dims = "".join(f", {d}" for d in dimensions)
    sets = ", ".join(
        [*(["(is_current)"] if total else []), *(f"(is_current, {d})" for d in dimensions)]
    )
    sql = f"""
        SELECT bucket >= $2 AS is_current{dims}, {sums}
        FROM {table}
        WHERE {" AND ".join(where)}
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 - every name is checked against the fixed lists above
    return list(await conn.fetch(sql, *args))


async def sum_histogram_periods(
    conn: asyncpg.Connection,
    *,
    grain: Grain,
    previous_start: datetime,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    histogram: str,
    nonzero: str,
) -> list[asyncpg.Record]:
    """A histogram column summed bin by bin per period (``is_current``, ``hist``); a period
    without a sample has no row."""
    assert histogram in HISTOGRAMS
    assert nonzero in COUNTERS
    args: list[Any] = [previous_start, start, end]
    where = [
        f"{nonzero} > 0",
        "bucket >= $1",
        "bucket < $3",
        *_where(filters, args, {d: d for d in DIMENSIONS}),
    ]
    bins, counts, size = SPARSE_HISTOGRAMS[histogram]
    sql = f"""
        WITH cells AS (
            SELECT bucket >= $2 AS is_current, u.b, sum(u.c)::bigint AS c
            FROM {rollup_table(grain, filters)}, unnest({bins}, {counts}) AS u(b, c)
            WHERE {" AND ".join(where)}
            GROUP BY 1, u.b
        )
        SELECT is_current, insights.dense_histogram(array_agg(b), array_agg(c), {size}) AS hist
        FROM cells GROUP BY is_current
    """  # noqa: S608 - every name is checked against the fixed lists above
    return list(await conn.fetch(sql, *args))


async def example_escalations(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    dimension: str,
    values: Sequence[str],
    counted_by: str,
    short_of: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to ``limit`` escalations created in ``[start, end)`` per value of ``dimension``
    (``value``, ``escalation_id``), latest first: those ``counted_by`` counts, or with
    ``short_of`` those where ``counted_by`` counts more than ``short_of`` (in a rate's
    denominator, not its numerator)."""
    assert dimension in DIMENSIONS
    assert counted_by in COUNTERS
    assert short_of is None or short_of in COUNTERS
    condition = FACT_COUNTERS[counted_by]
    if short_of is not None:
        condition += f" - {FACT_COUNTERS[short_of]}"
    args: list[Any] = [start, end, list(values), limit]
    where = [
        "f.created_at >= $1",
        "f.created_at < $2",
        f"{FACT_DIMENSIONS[dimension]} = v.value",
        f"{condition} > 0",
        *_where(filters, args, FACT_DIMENSIONS),
    ]
    sql = f"""
        SELECT v.value, e.escalation_id
        FROM unnest($3::text[]) AS v(value)
        CROSS JOIN LATERAL (
            SELECT f.escalation_id FROM insights.escalation_facts f
            WHERE {" AND ".join(where)}
            ORDER BY f.created_at DESC, f.escalation_id
            LIMIT $4
        ) e
    """  # noqa: S608 - every name and expression comes from the fixed maps above
    return list(await conn.fetch(sql, *args))
