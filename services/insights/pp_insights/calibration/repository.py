"""Every statement of calibration's records, through SQLModel sessions (``pp_shared.records``).
Bulk writes of answers and moderators are one ``INSERT ... ON CONFLICT`` each over the
mapped tables; the answers of an exercise are read as plain tuples (tens of thousands of
them make the results)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from pp_insights.calibration.tables import Exercise, GoldenCase, GoldenSet, Moderator, Response
from pp_shared.records import AsyncSession, execute


async def next_golden_version(session: AsyncSession, *, name: str) -> int:
    """The next version of the golden set ``name``; holds a lock on the name until the
    transaction ends, so two sets created at once under one name get two versions."""
    await execute(
        session,
        text("SELECT pg_advisory_xact_lock(hashtextextended('insights.golden_sets:' || :n, 0))"),
        {"n": name},
    )
    latest = await session.exec(select(func.max(GoldenSet.version)).where(GoldenSet.name == name))
    return int(latest.one() or 0) + 1


async def add_golden_set(
    session: AsyncSession, golden: GoldenSet, cases: Sequence[dict[str, Any]]
) -> int:
    session.add(golden)
    await session.flush()
    assert golden.golden_set_id is not None
    rows = [{**c, "golden_set_id": golden.golden_set_id} for c in cases]
    if rows:
        await _execute_many(session, insert(GoldenCase), rows)
    return golden.golden_set_id


async def golden_set(session: AsyncSession, golden_set_id: int) -> GoldenSet | None:
    return await session.get(GoldenSet, golden_set_id)


async def golden_sets(session: AsyncSession) -> list[GoldenSet]:
    result = await session.exec(
        select(GoldenSet).order_by(col(GoldenSet.name), col(GoldenSet.version))
    )
    return list(result)


async def golden_cases(session: AsyncSession, golden_set_id: int) -> list[GoldenCase]:
    result = await session.exec(
        select(GoldenCase)
        .where(GoldenCase.golden_set_id == golden_set_id)
        .order_by(col(GoldenCase.position))
    )
    return list(result)


async def add_exercise(session: AsyncSession, exercise: Exercise) -> int:
    session.add(exercise)
    await session.flush()
    assert exercise.exercise_id is not None
    return exercise.exercise_id


async def exercise(
    session: AsyncSession, exercise_id: int, *, lock: str | None = None
) -> Exercise | None:
    """An exercise; ``lock`` ``"update"`` (closing) or ``"share"`` (answering) holds its row
    until the transaction ends, so no answer is stored after the close commits."""
    query = select(Exercise).where(Exercise.exercise_id == exercise_id)
    if lock == "update":
        query = query.with_for_update()
    elif lock == "share":
        query = query.with_for_update(read=True)
    result = await session.exec(query)
    return result.first()


async def exercises(session: AsyncSession) -> list[Exercise]:
    result = await session.exec(select(Exercise).order_by(col(Exercise.exercise_id)))
    return list(result)


async def exercise_counts(
    session: AsyncSession, exercise_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Moderators who answered and answers, per exercise."""
    result = await session.exec(
        select(
            Response.exercise_id,
            func.count(func.distinct(Response.moderator_id)),
            func.count(),
        )
        .where(col(Response.exercise_id).in_(exercise_ids))
        .group_by(col(Response.exercise_id))
    )
    return {int(e): (int(m), int(n)) for e, m, n in result}


async def upsert_moderators(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, keep_attributes: bool
) -> None:
    """Add moderators to an exercise; an existing one gets the attributes given, unless
    ``keep_attributes`` (a moderator joining by answering keeps the attributes named before)."""
    if not rows:
        return
    statement = insert(Moderator)
    attributes = ("region", "language", "tier", "vendor_site")
    if keep_attributes:
        statement = statement.on_conflict_do_nothing()
    else:
        statement = statement.on_conflict_do_update(
            index_elements=["exercise_id", "moderator_id"],
            set_={a: statement.excluded[a] for a in attributes},
        )
    await _execute_many(session, statement, rows)


async def answered(
    session: AsyncSession, exercise_id: int, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (moderator, case) pairs already have an answer."""
    if not keys:
        return set()
    # By moderator: a request names a few moderators and many cases each.
    result = await session.exec(
        select(Response.moderator_id, Response.case_id).where(
            Response.exercise_id == exercise_id,
            col(Response.moderator_id).in_(sorted({m for m, _ in keys})),
        )
    )
    wanted = set(keys)
    return {(m, c) for m, c in result if (m, c) in wanted}


async def upsert_responses(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store answers; an answer of a moderator to a case replaces their earlier one."""
    if not rows:
        return
    statement = insert(Response)
    replaced = ("clause_id", "confidence", "reason", "answered_at", "recorded_by")
    statement = statement.on_conflict_do_update(
        index_elements=["exercise_id", "moderator_id", "case_id"],
        set_={c: statement.excluded[c] for c in replaced},
    )
    await _execute_many(session, statement, rows)


async def moderators(session: AsyncSession, exercise_id: int) -> list[Moderator]:
    result = await session.exec(
        select(Moderator)
        .where(Moderator.exercise_id == exercise_id)
        .order_by(col(Moderator.moderator_id))
    )
    return list(result)


async def answers(session: AsyncSession, exercise_id: int) -> list[tuple[str, str, str]]:
    """Every answer of an exercise as (moderator, case, clause)."""
    result = await session.exec(
        select(Response.moderator_id, Response.case_id, Response.clause_id).where(
            Response.exercise_id == exercise_id
        )
    )
    return [(m, c, a) for m, c, a in result]


async def _execute_many(
    session: AsyncSession, statement: Executable, rows: Sequence[dict[str, Any]]
) -> None:
    """One statement over many rows, in the session's transaction: SQLAlchemy sends them in
    multi-row batches."""
    connection = await session.connection()
    await connection.execute(statement, list(rows))
