"""Every SQL statement of the read path: rollup rows summed per bucket and group (trends,
volume), per period and dimension value (cards, movers, drill-downs), and example escalations
from the facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from pp_insights.buckets import Interval, ceil_to, floor_to
from pp_insights.metrics_def import DIMENSIONS
from pp_insights.queries.periods import Periods, PeriodSums
from pp_insights.rollups import (
    COUNTERS,
    FACT_COUNTERS,
    FACT_DIMENSIONS,
    HISTOGRAMS,
    SPARSE_HISTOGRAMS,
    TABLE_DIMENSIONS,
    Grain,
    rollup_table,
)


class Example(NamedTuple):
    """An escalation that shows what moved a dimension value's metric."""

    value: str
    escalation_id: str


# Dimension values are ASCII ids: ordering them bytewise gives the order of the databases'
# C.UTF-8 collation without calling strcoll for every comparison (a third of the time of an
# 18,000-row trend).
_BYTEWISE = ' COLLATE "C"'


_ROLLUP_DIMENSIONS = {d: d for d in DIMENSIONS}


def _where(
    filters: Mapping[str, Sequence[str]],
    args: list[Any],
    columns: Mapping[str, str] = _ROLLUP_DIMENSIONS,
) -> list[str]:
    """A condition per filtered dimension (``columns`` spells each as SQL), its values
    appended to ``args``."""
    assert all(f in DIMENSIONS for f in filters)
    where = []
    for dim, values in sorted(filters.items()):
        args.append(list(values))
        where.append(f"{columns[dim]} = ANY(${len(args)}::text[])")
    return where


@dataclass(frozen=True)
class Selection:
    """The rollup rows a bucketed sum reads: those of ``grain`` in ``[start, end)`` that pass
    ``filters``, summed per bucket of ``interval`` and per value of ``group_by``."""

    grain: Grain
    interval: Interval
    group_by: Sequence[str]
    filters: Mapping[str, Sequence[str]]
    start: datetime | None
    end: datetime | None


def _selection(sel: Selection, nonzero: str) -> tuple[str, str, list[Any], str]:
    """The bucket and dimension select list, the FROM ... WHERE part with its arguments, and
    the rollup table it reads; rows whose ``nonzero`` counter is 0 cannot change an answer
    and are left out."""
    assert sel.interval in tuple(Interval)
    assert all(g in DIMENSIONS for g in sel.group_by)
    dims = "".join(f", {g}" for g in sel.group_by)
    select = f"date_trunc('{sel.interval}', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket"
    assert nonzero in COUNTERS
    where = [f"{nonzero} > 0"]
    args: list[Any] = []
    for condition, value in (("bucket >= ", sel.start), ("bucket < ", sel.end)):
        if value is not None:
            args.append(value)
            where.append(f"{condition}${len(args)}")
    where += _where(sel.filters, args)
    table = rollup_table(sel.grain, [*sel.group_by, *sel.filters])
    source = f"FROM {table} WHERE " + " AND ".join(where)
    return select + dims, source, args, table


async def sum_counters(
    conn: asyncpg.Connection, sel: Selection, *, counters: Sequence[str], nonzero: str
) -> list[asyncpg.Record]:
    """Counters summed per bucket and group, leaving out groups where ``nonzero`` sums to 0."""
    assert set(counters) <= COUNTERS
    select, source, args, table = _selection(sel, nonzero)
    dims = "".join(f", {g}" for g in sel.group_by)
    order = "".join(f", {g}{_BYTEWISE}" for g in sel.group_by)
    pinned = {d for d, values in sel.filters.items() if len(values) == 1}
    if sel.interval == sel.grain and set(TABLE_DIMENSIONS[table]) <= {*sel.group_by, *pinned}:
        # Each row is one bucket and group already: nothing to sum.
        sums = ", ".join(f"{c}::bigint AS {c}" for c in counters)
        sql = f"SELECT bucket{dims}, {sums} {source} ORDER BY 1{order}"
        return list(await conn.fetch(sql, *args))
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in counters)
    # Every name below was checked against the fixed lists above.
    sql = f"""
        SELECT {select}, {sums}
        {source}
        GROUP BY 1{dims}
        ORDER BY 1{order}
    """
    return list(await conn.fetch(sql, *args))


async def sum_histograms(
    conn: asyncpg.Connection, sel: Selection, *, histogram: str, nonzero: str
) -> list[asyncpg.Record]:
    """A histogram column summed bin by bin per bucket and group (as ``hist``), leaving out
    groups where ``nonzero`` (the histogram's total) sums to 0."""
    assert histogram in HISTOGRAMS
    bins, counts, size = SPARSE_HISTOGRAMS[histogram]
    select, source, args, _ = _selection(sel, nonzero)
    keys = "bucket" + "".join(f", {g}" for g in sel.group_by)
    order = "bucket" + "".join(f", {g}{_BYTEWISE}" for g in sel.group_by)
    sql = f"""
        WITH src AS (SELECT {select}, {bins} AS bins, {counts} AS counts {source}),
        cells AS (
            SELECT {keys}, u.b, sum(u.c)::bigint AS c
            FROM src, unnest(src.bins, src.counts) AS u(b, c)
            GROUP BY {keys}, u.b
        )
        SELECT {keys}, insights.dense_histogram(array_agg(b), array_agg(c), {size}) AS hist
        FROM cells
        GROUP BY {keys}
        ORDER BY {order}
    """  # noqa: S608 - every name is checked against the fixed lists above
    return list(await conn.fetch(sql, *args))


async def sum_periods(
    conn: asyncpg.Connection,
    *,
    periods: Periods,
    filters: Mapping[str, Sequence[str]],
    counters: Sequence[str],
    dimensions: Sequence[str] = (),
) -> list[PeriodSums]:
    """Counters summed per period (the current one, ``[start, end)``, and the one before
    it): once over the whole scope and once per value of each of ``dimensions``.

    Each dimension is summed from the smallest rollup that holds it with the filters: a
    drill-down into an area reads its clauses and regions from the cube and only its other
    dimensions from ``rollup_day``. With more than one table, the caller reads in one
    snapshot (a repeatable-read transaction) so that all sums agree."""
    assert set(counters) <= COUNTERS
    assert all(d in DIMENSIONS for d in dimensions)
    # Grouped by the daily table that holds them: whole days are most of what a period reads.
    by_table: dict[str, list[str]] = {rollup_table("day", filters): []}
    for d in dimensions:
        by_table.setdefault(rollup_table("day", [*filters, d]), []).append(d)
    rows: list[PeriodSums] = []
    for i, dims in enumerate(by_table.values()):
        if i == 0 or dims:
            rows += await _period_sums(conn, periods, filters, counters, dims, i == 0)
    return rows


def period_spans(periods: Periods) -> dict[Grain, list[tuple[datetime, datetime]]]:
    """The bucket ranges that cover both periods: whole UTC days of each period from the daily
    rollup, its hours before the first midnight and after the last from the hourly one. A
    period of whole hours ending now reads a few dozen hours and not 24 rows an hour for each
    of its days; the sums are the same, since every fact adds to its hour and its day."""
    if periods.grain == "day":
        return {"day": [(periods.previous_start, periods.end)], "hour": []}
    spans: dict[Grain, list[tuple[datetime, datetime]]] = {"day": [], "hour": []}
    for a, b in ((periods.previous_start, periods.start), (periods.start, periods.end)):
        first, last = ceil_to(a, "day"), floor_to(b, "day")
        if first >= last:
            spans["hour"].append((a, b))
            continue
        spans["day"].append((first, last))
        spans["hour"] += [(x, y) for x, y in ((a, first), (last, b)) if x < y]
    return spans


def _period_source(
    periods: Periods,
    dimensions: Sequence[str],
    columns: str,
    conditions: Sequence[str],
    args: list[Any],
) -> str:
    """``FROM`` a union of the rollup rows that cover both periods (:func:`period_spans`):
    ``bucket`` and ``columns`` of the rows that pass ``conditions`` (their arguments already
    in ``args``), each from the smallest rollup of its grain that holds ``dimensions``."""
    parts = []
    for grain, spans in period_spans(periods).items():
        if not spans:
            continue
        ranges = []
        for lo, hi in spans:
            args += [lo, hi]
            ranges.append(f"(bucket >= ${len(args) - 1} AND bucket < ${len(args)})")
        where = " AND ".join([f"({' OR '.join(ranges)})", *conditions])
        table = rollup_table(grain, dimensions)
        parts.append(f"SELECT bucket, {columns} FROM {table} WHERE {where}")  # noqa: S608
    return "(" + " UNION ALL ".join(parts) + ") AS covered"


async def _period_sums(
    conn: asyncpg.Connection,
    periods: Periods,
    filters: Mapping[str, Sequence[str]],
    counters: Sequence[str],
    dimensions: Sequence[str],
    total: bool,
) -> list[PeriodSums]:
    args: list[Any] = [periods.start]
    conditions = _where(filters, args)
    summed = ", ".join(f"sum({c})::bigint AS {c}" for c in counters)
    dims = "".join(f", {d}" for d in dimensions)
    source = _period_source(
        periods, [*filters, *dimensions], ", ".join([*counters, *dimensions]), conditions, args
    )
    sets = ", ".join(
        [*(["(is_current)"] if total else []), *(f"(is_current, {d})" for d in dimensions)]
    )
    sql = f"""
        SELECT bucket >= $1 AS is_current{dims}, {summed}
        FROM {source}
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 - every name is checked against the fixed lists above
    out: list[PeriodSums] = []
    for r in await conn.fetch(sql, *args):
        # Rollup dimensions are never NULL: the one column set names the row's grouping.
        dim = next((d for d in dimensions if r[d] is not None), None)
        sums = {c: r[c] or 0 for c in counters}
        out.append(PeriodSums(r["is_current"], dim, None if dim is None else r[dim], sums))
    return out


async def sum_histogram_periods(
    conn: asyncpg.Connection,
    *,
    periods: Periods,
    filters: Mapping[str, Sequence[str]],
    histogram: str,
    nonzero: str,
) -> dict[bool, list[int]]:
    """A histogram column summed bin by bin per period, by ``is_current``; a period without
    a sample is missing."""
    assert histogram in HISTOGRAMS
    assert nonzero in COUNTERS
    args: list[Any] = [periods.start]
    conditions = [f"{nonzero} > 0", *_where(filters, args)]
    bins, counts, size = SPARSE_HISTOGRAMS[histogram]
    source = _period_source(periods, list(filters), f"{bins}, {counts}", conditions, args)
    sql = f"""
        WITH cells AS (
            SELECT bucket >= $1 AS is_current, u.b, sum(u.c)::bigint AS c
            FROM {source}, unnest(covered.{bins}, covered.{counts}) AS u(b, c)
            GROUP BY 1, u.b
        )
        SELECT is_current, insights.dense_histogram(array_agg(b), array_agg(c), {size}) AS hist
        FROM cells GROUP BY is_current
    """  # noqa: S608 - every name is checked against the fixed lists above
    return {r["is_current"]: list(r["hist"]) for r in await conn.fetch(sql, *args)}


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
) -> list[Example]:
    """Up to ``limit`` escalations created in ``[start, end)`` per value of ``dimension``,
    latest first: those ``counted_by`` counts, or with
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
    return [Example(*r) for r in await conn.fetch(sql, *args)]
