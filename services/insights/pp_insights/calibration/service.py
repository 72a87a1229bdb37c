"""Calibration programmes: golden sets, exercises and their answers, results and comparisons.

Plain functions over the records engine (``pp_shared.records``); each write is one
transaction, so what an answer reports as accepted is stored, and a request that fails
stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pp_insights.alerts.errors import Conflict
from pp_insights.calibration import intake, repository
from pp_insights.calibration.intake import Format, RawRow
from pp_insights.calibration.schemas import (
    MAX_CASES,
    CaseRow,
    Created,
    ExerciseIn,
    ExerciseState,
    ExerciseView,
    GoldenCases,
    GoldenCaseView,
    GoldenSetIn,
    GoldenSetView,
)
from pp_insights.calibration.tables import Exercise, GoldenSet
from pp_shared.contracts.events import NO_CLAUSE
from pp_shared.problems import InvalidInput, NotFound, field_errors
from pp_shared.records import AsyncSession, Records

log = logging.getLogger(__name__)

CASE_COLUMNS = ("case_id", "text", "content_ref", "expected_clause_id", "rationale")
RESPONSE_COLUMNS = ("moderator_id", "case_id", "clause_id", "confidence", "reason")
MODERATOR_COLUMNS = ("moderator_id", "region", "language", "tier", "vendor_site")


# --- golden sets ---------------------------------------------------------------------------


async def create_golden_set(
    records: Records,
    *,
    body: bytes,
    kind: Format,
    name: str | None,
    taxonomy_version: str | None,
    clauses: Sequence[str] | None,
    actor: str,
    now: datetime,
) -> Created:
    """A new golden set, or the next version of the one named so. Every case must be valid:
    a set is stored whole or not at all, and a refusal names every bad case."""
    if kind == "json":
        header = _golden_header(intake.decode_json(body))
        if name is not None and header.name is not None and header.name != name:
            raise InvalidInput(
                "two different names",
                errors=[{"pointer": "/body/name", "detail": "differs from the query's name"}],
            )
        name = name or header.name
        taxonomy_version = taxonomy_version or header.taxonomy_version
        clauses = clauses if clauses is not None else header.clauses
        rows, prefix = intake.json_rows(header.cases, pointer="/body/cases"), "/body/cases"
    else:
        rows = intake.csv_rows(body, required=("case_id", "expected_clause_id"), known=CASE_COLUMNS)
        prefix = "/rows"
    if not name:
        raise InvalidInput(
            "a golden set needs a name", errors=[{"pointer": "/query/name", "detail": "missing"}]
        )
    cases = _golden_cases(rows, prefix=prefix, clauses=clauses)
    async with records.transaction() as session:
        version = await repository.next_golden_version(session, name=name)
        golden = GoldenSet(
            name=name,
            version=version,
            taxonomy_version=taxonomy_version,
            clauses=sorted(set(clauses)) if clauses is not None else None,
            cases=len(cases),
            created_at=now,
            created_by=actor,
        )
        golden_set_id = await repository.add_golden_set(session, golden, cases)
    log.info(
        "golden set created",
        extra={
            "golden_set_id": golden_set_id,
            "version": version,
            "cases": len(cases),
            "actor": actor,
        },
    )
    return Created(id=golden_set_id)


def _golden_header(document: Any) -> GoldenSetIn:
    try:
        return GoldenSetIn.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(
            "the golden set does not match the contract",
            errors=[{**e, "pointer": "/body" + e["pointer"]} for e in field_errors(exc.errors())],
        ) from None


def _golden_cases(
    rows: Sequence[RawRow], *, prefix: str, clauses: Sequence[str] | None
) -> list[dict[str, Any]]:
    if not rows:
        raise InvalidInput(
            "a golden set needs cases", errors=[{"pointer": prefix, "detail": "no case"}]
        )
    if len(rows) > MAX_CASES:
        raise InvalidInput(
            f"at most {MAX_CASES} cases", errors=[{"pointer": prefix, "detail": "too many cases"}]
        )
    accepted = vocabulary(clauses)
    cases: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        where = f"{prefix}/{row.index}"
        found = intake.validate(CaseRow, row)
        if isinstance(found, list):
            errors += [{**e, "pointer": where + e["pointer"]} for e in found]
            continue
        problems = []
        if found.text is None and found.content_ref is None:
            problems.append(("/text", "a case needs its text or a content_ref"))
        if found.case_id in seen:
            problems.append(("/case_id", "case_id named twice"))
        expected = found.expected_clause_id
        if expected is not None and accepted is not None and expected not in accepted:
            problems.append(("/expected_clause_id", "not a clause of the set's taxonomy"))
        seen.add(found.case_id)
        errors += [{"pointer": where + p, "detail": d} for p, d in problems]
        cases.append({**found.model_dump(), "position": row.index})
    if errors:
        raise InvalidInput(
            f"{len(errors)} error(s) in the cases; nothing was stored", errors=errors
        )
    return cases


def vocabulary(clauses: Sequence[str] | None) -> set[str] | None:
    return None if clauses is None else {*clauses, NO_CLAUSE}


def golden_view(golden: GoldenSet) -> GoldenSetView:
    assert golden.golden_set_id is not None
    return GoldenSetView(id=golden.golden_set_id, **golden.model_dump(exclude={"golden_set_id"}))


async def list_golden_sets(records: Records) -> list[GoldenSetView]:
    """Every version of every golden set, by name and version."""
    async with records.reading() as session:
        return [golden_view(g) for g in await repository.golden_sets(session)]


async def golden_cases(records: Records, *, golden_set_id: int) -> GoldenCases:
    """A golden set with its cases."""
    async with records.reading() as session:
        golden = await golden_of(session, golden_set_id)
        cases = await repository.golden_cases(session, golden_set_id)
    return GoldenCases(
        golden_set=golden_view(golden),
        rows=[GoldenCaseView.model_validate(c, from_attributes=True) for c in cases],
    )


async def golden_of(session: AsyncSession, golden_set_id: int) -> GoldenSet:
    golden = await repository.golden_set(session, golden_set_id)
    if golden is None:
        raise NotFound(f"no golden set {golden_set_id}")
    return golden


# --- exercises -----------------------------------------------------------------------------


async def create_exercise(
    records: Records, *, body: ExerciseIn, actor: str, now: datetime
) -> Created:
    """Open an exercise over a golden set, with the moderators named (and their cohorts)."""
    async with records.transaction() as session:
        if await repository.golden_set(session, body.golden_set_id) is None:
            raise InvalidInput(
                "no such golden set",
                errors=[{"pointer": "/body/golden_set_id", "detail": "no golden set with this id"}],
            )
        exercise = Exercise(
            name=body.name,
            golden_set_id=body.golden_set_id,
            state=ExerciseState.OPEN,
            created_at=now,
            created_by=actor,
        )
        exercise_id = await repository.add_exercise(session, exercise)
        named = {m.moderator_id: m for m in body.moderators}
        await repository.upsert_moderators(
            session,
            [{**m.model_dump(), "exercise_id": exercise_id} for m in named.values()],
            keep_attributes=False,
        )
    log.info("exercise opened", extra={"exercise_id": exercise_id, "actor": actor})
    return Created(id=exercise_id)


async def list_exercises(records: Records) -> list[ExerciseView]:
    """Every exercise, oldest first, with its counts."""
    async with records.reading() as session:
        found = await repository.exercises(session)
        counts = await repository.exercise_counts(
            session, [e.exercise_id for e in found if e.exercise_id is not None]
        )
    return [_exercise_view(e, counts) for e in found]


async def get_exercise(records: Records, *, exercise_id: int) -> ExerciseView:
    """One exercise with its counts."""
    async with records.reading() as session:
        exercise = await exercise_of(session, exercise_id)
        counts = await repository.exercise_counts(session, [exercise_id])
    return _exercise_view(exercise, counts)


def _exercise_view(exercise: Exercise, counts: dict[int, tuple[int, int]]) -> ExerciseView:
    assert exercise.exercise_id is not None
    moderators, responses = counts.get(exercise.exercise_id, (0, 0))
    return ExerciseView(
        id=exercise.exercise_id,
        moderators=moderators,
        responses=responses,
        **exercise.model_dump(exclude={"exercise_id"}),
    )


async def exercise_of(
    session: AsyncSession, exercise_id: int, *, lock: str | None = None
) -> Exercise:
    exercise = await repository.exercise(session, exercise_id, lock=lock)
    if exercise is None:
        raise NotFound(f"no exercise {exercise_id}")
    return exercise


async def close_exercise(
    records: Records, *, exercise_id: int, actor: str, now: datetime
) -> ExerciseView:
    """Close an open exercise: it takes no more answers."""
    async with records.transaction() as session:
        exercise = await exercise_of(session, exercise_id, lock="update")
        if exercise.state == ExerciseState.CLOSED:
            raise Conflict(f"exercise {exercise_id} is closed already")
        exercise.state, exercise.closed_at, exercise.closed_by = ExerciseState.CLOSED, now, actor
        session.add(exercise)
    log.info("exercise closed", extra={"exercise_id": exercise_id, "actor": actor})
    return await get_exercise(records, exercise_id=exercise_id)
