"""Every SQL statement of enforceability: confusion counts from QA reviews (their events in
the event log, matched to the decision they review) and from facts, and a clause's counters
from the clause-by-region cube."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_insights.rollups import CUBE_TABLE
from pp_shared.contracts.events import NO_CLAUSE


def _area_filter(areas: Sequence[str], args: list[Any], column: str) -> str:
    if not areas:
        return ""
    args.append(list(areas))
    return f" AND {column} = ANY(${len(args)}::text[])"


async def qa_confusion(
    conn: asyncpg.Connection, *, start: datetime, end: datetime, areas: Sequence[str]
) -> list[asyncpg.Record]:
    """QA reviews of escalations created in ``[start, end)``, counted per escalation area,
    clause the reviewed decision applied (``none`` without one) and clause QA says was right
    (NULL when QA agreed or named none). A review whose decision has not arrived is left out.
    Read from ``qa_review_facts``, one row per review that the facts refresh writes with the
    reviewed decision's latest version (021), by its ``created_at`` index."""
    args: list[Any] = [start, end]
    areas_sql = _area_filter(areas, args, "area")
    sql = f"""
        SELECT area, moderator_clause AS from_clause,
               CASE WHEN NOT agrees THEN reviewer_clause END AS to_clause,
               count(*) AS reviews
        FROM insights.qa_review_facts
        WHERE created_at >= $1 AND created_at < $2
          AND moderator_clause IS NOT NULL{areas_sql}
        GROUP BY 1, 2, 3
    """  # noqa: S608 - the only interpolation is a fixed condition
    return list(await conn.fetch(sql, *args))


async def tag_confusion(
    conn: asyncpg.Connection, *, start: datetime, end: datetime, areas: Sequence[str]
) -> list[asyncpg.Record]:
    """Decided escalations created in ``[start, end)``, per area, top automatic tag and the
    final decision's clause (``none`` without one)."""
    args: list[Any] = [start, end, NO_CLAUSE]
    areas_sql = _area_filter(areas, args, "area")
    sql = f"""
        SELECT area, clause_id AS from_clause, coalesce(final_clause_id, $3) AS to_clause,
               count(*) AS reviews
        FROM insights.escalation_facts
        WHERE created_at >= $1 AND created_at < $2 AND final_decision_id IS NOT NULL{areas_sql}
        GROUP BY 1, 2, 3
    """  # noqa: S608 - the only interpolation is a fixed condition
    return list(await conn.fetch(sql, *args))


async def clause_counters(
    conn: asyncpg.Connection, *, area: str, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    """The counters of each clause of ``area`` over the days of ``[start, end)``."""
    return list(
        await conn.fetch(
            f"""
            SELECT clause_id, sum(volume)::bigint AS volume,
                   sum(policy_unclear)::bigint AS policy_unclear,
                   sum(qa_reviews)::bigint AS qa_reviews,
                   sum(qa_disagreements)::bigint AS qa_disagreements,
                   sum(appeals_resolved)::bigint AS appeals_resolved,
                   sum(appeals_overturned)::bigint AS appeals_overturned
            FROM {CUBE_TABLE}
            WHERE area = $1 AND bucket >= $2 AND bucket < $3
            GROUP BY clause_id
            ORDER BY clause_id COLLATE "C"
            """,  # noqa: S608 - a fixed table name
            area,
            start,
            end,
        )
    )
