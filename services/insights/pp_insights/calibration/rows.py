"""Bulk rows of an exercise: its moderators (with their cohorts) and their answers, each row
accepted or rejected on its own, the accepted ones stored in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pp_insights.calibration import intake, repository
from pp_insights.calibration.intake import Format, RawRow
from pp_insights.calibration.schemas import (
    ExerciseState,
    ModeratorIn,
    ResponseRow,
    RowCounts,
    RowOutcome,
    RowsAnswer,
    RowStatus,
)
from pp_insights.calibration.service import exercise_of, golden_of, vocabulary
from pp_shared.problems import truncate_item_errors
from pp_shared.records import Records

log = logging.getLogger(__name__)

RESPONSE_COLUMNS = ("moderator_id", "case_id", "clause_id", "confidence", "reason")
MODERATOR_COLUMNS = ("moderator_id", "region", "language", "tier", "vendor_site")


async def add_moderators(
    records: Records, *, exercise_id: int, body: bytes, kind: Format
) -> RowsAnswer:
    """Name moderators of an exercise with their cohort attributes (a moderator named again
    gets the attributes sent last); answered per row."""
    rows = _rows(body, kind, required=("moderator_id",), known=MODERATOR_COLUMNS, key="moderators")
    outcomes: list[RowOutcome] = []
    valid: dict[str, tuple[int, ModeratorIn]] = {}
    for row in rows:
        found = intake.validate(ModeratorIn, row)
        if isinstance(found, list):
            outcomes.append(_rejected(row, "invalid", found))
            continue
        if found.moderator_id in valid:
            outcomes[valid[found.moderator_id][0]].status = RowStatus.SUPERSEDED
        valid[found.moderator_id] = (len(outcomes), found)
        outcomes.append(RowOutcome(index=row.index, line=row.line, status=RowStatus.ACCEPTED))
    async with records.transaction() as session:
        await exercise_of(session, exercise_id, lock="share")
        await repository.upsert_moderators(
            session,
            [{**m.model_dump(), "exercise_id": exercise_id} for _, m in valid.values()],
            keep_attributes=False,
        )
    return _answer(outcomes)


async def add_responses(
    records: Records, *, exercise_id: int, body: bytes, kind: Format, actor: str, now: datetime
) -> RowsAnswer:
    """Store moderators' answers, each row on its own: a row answering a case of another set,
    with a clause the set's taxonomy lacks, or sent to a closed exercise is rejected; the rest
    are kept. An answer sent again (same moderator and case) replaces the earlier one."""
    rows = _rows(
        body,
        kind,
        required=("moderator_id", "case_id", "clause_id"),
        known=RESPONSE_COLUMNS,
        key="responses",
    )
    async with records.transaction() as session:
        exercise = await exercise_of(session, exercise_id, lock="share")
        golden = await golden_of(session, exercise.golden_set_id)
        if exercise.state == ExerciseState.CLOSED:
            closed = [{"pointer": "", "detail": f"exercise {exercise_id} is closed"}]
            outcomes = [_rejected(row, "closed", closed) for row in rows]
            return _answer(outcomes)
        cases = {c.case_id for c in await repository.golden_cases(session, exercise.golden_set_id)}
        outcomes, valid = _check_responses(rows, cases=cases, clauses=vocabulary(golden.clauses))
        keys = list(valid)
        before = await repository.answered(session, exercise_id, keys)
        await repository.upsert_moderators(
            session,
            [{"exercise_id": exercise_id, "moderator_id": m} for m in sorted({m for m, _ in keys})],
            keep_attributes=True,
        )
        await repository.upsert_responses(
            session,
            [
                {
                    **r.model_dump(),
                    "exercise_id": exercise_id,
                    "answered_at": now,
                    "recorded_by": actor,
                }
                for _, r in valid.values()
            ],
        )
    for key, (position, _) in valid.items():
        if key in before:
            outcomes[position].status = RowStatus.REPLACED
    answer = _answer(outcomes)
    log.info(
        "calibration responses",
        extra={"exercise_id": exercise_id, "actor": actor, **answer.counts.model_dump()},
    )
    return answer


def _check_responses(
    rows: Sequence[RawRow], *, cases: set[str], clauses: set[str] | None
) -> tuple[list[RowOutcome], dict[tuple[str, str], tuple[int, ResponseRow]]]:
    outcomes: list[RowOutcome] = []
    valid: dict[tuple[str, str], tuple[int, ResponseRow]] = {}
    for row in rows:
        found = intake.validate(ResponseRow, row)
        if isinstance(found, list):
            outcomes.append(_rejected(row, "invalid", found))
        elif found.case_id not in cases:
            error = {"pointer": "/case_id", "detail": "not a case of the exercise's golden set"}
            outcomes.append(_rejected(row, "unknown_case", [error]))
        elif clauses is not None and found.clause_id not in clauses:
            error = {"pointer": "/clause_id", "detail": "not a clause of the set's taxonomy"}
            outcomes.append(_rejected(row, "unknown_clause", [error]))
        else:
            key = (found.moderator_id, found.case_id)
            if key in valid:
                outcomes[valid[key][0]].status = RowStatus.SUPERSEDED
            valid[key] = (len(outcomes), found)
            outcomes.append(RowOutcome(index=row.index, line=row.line, status=RowStatus.ACCEPTED))
    return outcomes, valid


def _rows(
    body: bytes, kind: Format, *, required: Sequence[str], known: Sequence[str], key: str
) -> list[RawRow]:
    if kind == "csv":
        return intake.csv_rows(body, required=required, known=known)
    document = intake.decode_json(body)
    # A bare list, or an object holding it under ``key``.
    if isinstance(document, dict) and set(document) == {key}:
        return intake.json_rows(document[key], pointer=f"/body/{key}")
    return intake.json_rows(document, pointer="/body")


def _rejected(row: RawRow, reason: str, errors: list[dict[str, Any]]) -> RowOutcome:
    return RowOutcome(
        index=row.index, line=row.line, status=RowStatus.REJECTED, reason=reason, errors=errors
    )


def _answer(outcomes: list[RowOutcome]) -> RowsAnswer:
    tally = {s: 0 for s in RowStatus}
    for o in outcomes:
        tally[o.status] += 1
    items = [o.model_dump(exclude_none=True) for o in outcomes]
    total = sum(len(i.get("errors", ())) for i in items)
    return RowsAnswer(
        counts=RowCounts(received=len(outcomes), **{s.value: n for s, n in tally.items()}),
        items=[RowOutcome.model_validate(i) for i in items],
        **truncate_item_errors(items, total),
    )
