"""The statements of launches: the records (SQLModel sessions: insert, read, list, the
launches of a time range), and the daily series an impact reads (asyncpg, over the daily
rollups)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.types import Text
from sqlmodel import col, select

from pp_insights.launches.tables import Launch
from pp_insights.metrics_def import DIMENSIONS
from pp_insights.rollups import COUNTERS, HISTOGRAMS, SPARSE_HISTOGRAMS, rollup_table
from pp_shared.records import AsyncSession, execute

# A launch lies within a set of areas when its area is one of them, or, without an area,
# when it names clauses and all of them are of those areas (a launch restricting neither
# touches every area).
_WITHIN_AREAS = text(
    """
    (area = ANY(:areas) OR (area IS NULL AND cardinality(clause_ids) > 0 AND NOT EXISTS (
        SELECT 1 FROM unnest(clause_ids) AS c WHERE split_part(c, '.', 1) <> ALL(:areas))))
    """
).bindparams(bindparam("areas", type_=ARRAY(Text())))


async def add(session: AsyncSession, launch: Launch) -> Launch:
    session.add(launch)
    await session.flush()
    return launch


async def add_once(session: AsyncSession, launch: Launch) -> bool:
    """Insert a taxonomy version's launch unless that version has one; True when inserted."""
    values = launch.model_dump(exclude={"id"})
    statement = (
        insert(Launch)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["taxonomy_version"])
        .returning(col(Launch.id))
    )
    result = await execute(session, statement)
    return result.first() is not None


async def get(session: AsyncSession, launch_id: int) -> Launch | None:
    return await session.get(Launch, launch_id)


async def page(
    session: AsyncSession, *, before: int | None, limit: int, areas: Sequence[str]
) -> list[Launch]:
    """Launches by id, newest recorded first; with ``areas``, those within them."""
    statement = select(Launch).order_by(col(Launch.id).desc()).limit(limit)
    if before is not None:
        statement = statement.where(col(Launch.id) < before)
    if areas:
        statement = statement.where(_WITHIN_AREAS.bindparams(areas=list(areas)))
    return list((await session.exec(statement)).all())


async def between(
    session: AsyncSession, *, start: datetime | None, end: datetime | None
) -> list[Launch]:
    """Launches whose time is in ``[start, end)`` (either bound may be open), oldest first."""
    statement = select(Launch).order_by(col(Launch.launched_at), col(Launch.id))
    if start is not None:
        statement = statement.where(col(Launch.launched_at) >= start)
    if end is not None:
        statement = statement.where(col(Launch.launched_at) < end)
    return list((await session.exec(statement)).all())


# --- the impact's series: asyncpg, set-based, over the daily rollups ---------------------

Condition = Mapping[str, tuple[Sequence[str], bool]]
"""Dimension to (values, negated): ``dim = ANY(values)``, or ``NOT`` that when negated."""


def _condition(condition: Condition, args: list[Any]) -> str:
    parts = []
    for dim, (values, negated) in sorted(condition.items()):
        assert dim in DIMENSIONS
        args.append(list(values))
        test = f"{dim} = ANY(${len(args)}::text[])"
        parts.append(f"NOT ({test})" if negated else test)
    return " AND ".join(parts) or "true"


async def daily_sums(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    treated: Condition,
    control: Condition | None,
    counters: Sequence[str],
    histogram: str | None,
) -> list[asyncpg.Record]:
    """Per day of ``[start, end)`` and per scope (``treated`` true or false): ``counters``
    summed, and ``histogram`` (as ``hist``, dense) when asked; from the smallest daily rollup
    that holds every dimension of both conditions."""
    assert set(counters) <= COUNTERS
    args: list[Any] = [start, end]
    is_treated = _condition(treated, args)
    either = is_treated if control is None else f"({is_treated}) OR ({_condition(control, args)})"
    table = rollup_table("day", [*treated, *(control or {})])
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in counters)
    where = f"bucket >= $1 AND bucket < $2 AND ({either})"
    if histogram is None:
        sql = f"""
            SELECT bucket, ({is_treated}) AS treated, {sums}
            FROM {table} WHERE {where}
            GROUP BY 1, 2 ORDER BY 1, 2
        """  # noqa: S608 - names come from fixed lists, values are parameters
        return list(await conn.fetch(sql, *args))
    assert histogram in HISTOGRAMS
    bins, counts, size = SPARSE_HISTOGRAMS[histogram]
    sql = f"""
        WITH src AS (
            SELECT bucket, ({is_treated}) AS treated, {bins} AS bins, {counts} AS counts,
                   {", ".join(counters)}
            FROM {table} WHERE {where}
        ),
        totals AS (SELECT bucket, treated, {sums} FROM src GROUP BY 1, 2),
        cells AS (
            SELECT bucket, treated, u.b, sum(u.c)::bigint AS c
            FROM src, unnest(src.bins, src.counts) AS u(b, c)
            GROUP BY 1, 2, 3
        ),
        hists AS (
            SELECT bucket, treated,
                   insights.dense_histogram(array_agg(b), array_agg(c), {size}) AS hist
            FROM cells GROUP BY 1, 2
        )
        SELECT t.*, h.hist FROM totals t LEFT JOIN hists h USING (bucket, treated)
        ORDER BY 1, 2
    """  # noqa: S608 - names come from fixed lists, values are parameters
    return list(await conn.fetch(sql, *args))
