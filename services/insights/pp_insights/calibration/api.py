"""HTTP adapter of calibration: ``/v1/calibration/...``.

Privacy by path: answers of single moderators are only under ``.../results/moderators`` (and
the moderators' roster write, ``.../moderators``), so the gateway's role table can keep them
to ``calibration_lead`` and ``admin``; every other answer holds groups of at least five
moderators (cohorts) or the whole exercise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from pp_insights.calibration import intake, reports, rows, service
from pp_insights.calibration.answers import (
    ClauseRow,
    CohortRow,
    Comparison,
    ComparisonRow,
    ConfusionRow,
    DisputedCase,
    ModeratorRow,
    Results,
    table,
)
from pp_insights.calibration.production.api import router as production_router
from pp_insights.calibration.schemas import (
    Created,
    ExerciseIn,
    ExerciseView,
    GoldenCases,
    GoldenCaseView,
    GoldenSetView,
    Key,
    ModeratorIn,
    Name,
    ResponseRow,
    RowsAnswer,
)
from pp_insights.queries.tabular import CSV_RESPONSE
from pp_shared.identity import ActorDep
from pp_shared.records import Records
from pp_shared.service import runtime_of
from pp_shared.types import DbId

router = APIRouter(prefix="/v1/calibration", tags=["calibration"])


async def _records(request: Request) -> Records:
    return runtime_of(request).open_records()


async def _body(request: Request) -> bytes:
    return await request.body()


async def _now(request: Request) -> datetime:
    # Tests put a manual clock here; the service runs on the wall clock.
    clock = getattr(request.app.state, "calibration_clock", None)
    now: datetime = clock() if clock is not None else datetime.now(UTC)
    return now


RecordsDep = Annotated[Records, Depends(_records)]
BodyDep = Annotated[bytes, Depends(_body)]
NowDep = Annotated[datetime, Depends(_now)]
ContentTypeDep = Annotated[str | None, Header(include_in_schema=False)]
AcceptDep = Annotated[str | None, Header(include_in_schema=False)]
Disputed = Annotated[int, Query(ge=1, le=500, description="How many disputed cases to list.")]

_CASES = intake.request_body(
    "case_id,text,expected_clause_id (a clause id, none, or empty for no expected answer), "
    'and optionally content_ref (instead of text) and rationale; as JSON: {"cases": [...], '
    '"taxonomy_version": ..., "clauses": [...]}',
    intake.golden_set_schema(),
)
_RESPONSES = intake.request_body(
    "moderator_id,case_id,clause_id (a clause id or none), and optionally confidence (0 to 1) "
    'and reason; as JSON a list of such objects, or {"responses": [...]}',
    intake.rows_schema(ResponseRow, "responses"),
)
_MODERATORS = intake.request_body(
    "moderator_id, and optionally region, language, tier, vendor_site; as JSON a list of such "
    'objects, or {"moderators": [...]}',
    intake.rows_schema(ModeratorIn, "moderators"),
)


@router.post("/golden-sets", status_code=201, openapi_extra=_CASES)
async def create_golden_set(
    body: BodyDep,
    records: RecordsDep,
    now: NowDep,
    actor: ActorDep,
    name: Annotated[
        Name | None, Query(description="The set's name; a name that exists gets a new version.")
    ] = None,
    taxonomy_version: Annotated[Key | None, Query()] = None,
    clauses: Annotated[
        list[Annotated[str, Field(max_length=128)]] | None,
        Query(description="The clause ids its exercises accept besides none (repeatable)."),
    ] = None,
    content_type: ContentTypeDep = None,
) -> Created:
    """Create a golden set (or the next version of one) from CSV or JSON; stored whole or not."""
    return await service.create_golden_set(
        records, body=body, kind=intake.body_format(content_type), name=name,
        taxonomy_version=taxonomy_version, clauses=clauses, actor=actor, now=now,
    )  # fmt: skip


@router.get("/golden-sets")
async def list_golden_sets(records: RecordsDep) -> list[GoldenSetView]:
    """Every version of every golden set."""
    return await service.list_golden_sets(records)


@router.get("/golden-sets/{golden_set_id}", response_model=GoldenCases, responses=CSV_RESPONSE)
async def get_golden_set(
    golden_set_id: DbId, records: RecordsDep, accept: AcceptDep = None
) -> Response:
    """A golden set and its cases (CSV: the cases)."""
    answer = await service.golden_cases(records, golden_set_id=golden_set_id)
    return table(answer.rows, list(GoldenCaseView.model_fields), accept, answer)


@router.post("/exercises", status_code=201)
async def create_exercise(
    body: ExerciseIn, records: RecordsDep, now: NowDep, actor: ActorDep
) -> Created:
    """Open an exercise over a golden set, with its moderators and their cohorts if known."""
    return await service.create_exercise(records, body=body, actor=actor, now=now)


@router.get("/exercises")
async def list_exercises(records: RecordsDep) -> list[ExerciseView]:
    """Every exercise with its state and counts."""
    return await service.list_exercises(records)


@router.get("/exercises/{exercise_id}")
async def get_exercise(exercise_id: DbId, records: RecordsDep) -> ExerciseView:
    """One exercise with its state and counts."""
    return await service.get_exercise(records, exercise_id=exercise_id)


@router.post(
    "/exercises/{exercise_id}/moderators",
    openapi_extra=_MODERATORS,
    response_model_exclude_none=True,
)
async def add_moderators(
    exercise_id: DbId, body: BodyDep, records: RecordsDep, content_type: ContentTypeDep = None
) -> RowsAnswer:
    """Name moderators of an exercise with their cohort attributes; answered per row."""
    return await rows.add_moderators(
        records, exercise_id=exercise_id, body=body, kind=intake.body_format(content_type)
    )


@router.post(
    "/exercises/{exercise_id}/responses",
    openapi_extra=_RESPONSES,
    response_model_exclude_none=True,
)
async def add_responses(
    exercise_id: DbId,
    body: BodyDep,
    records: RecordsDep,
    now: NowDep,
    actor: ActorDep,
    content_type: ContentTypeDep = None,
) -> RowsAnswer:
    """Store answers (CSV or JSON), each row accepted or rejected on its own."""
    return await rows.add_responses(
        records, exercise_id=exercise_id, body=body, kind=intake.body_format(content_type),
        actor=actor, now=now,
    )  # fmt: skip


@router.post("/exercises/{exercise_id}/close")
async def close_exercise(
    exercise_id: DbId, records: RecordsDep, now: NowDep, actor: ActorDep
) -> ExerciseView:
    """Close an exercise: it takes no more answers."""
    return await service.close_exercise(records, exercise_id=exercise_id, actor=actor, now=now)


def _base(request: Request) -> str:
    return request.url.path.split("/results", 1)[0] + "/results"


async def _results(
    exercise_id: DbId, request: Request, records: RecordsDep, disputed: Disputed = 10
) -> Results:
    return await reports.results(
        records, exercise_id=exercise_id, disputed=disputed, base=_base(request)
    )


ResultsDep = Annotated[Results, Depends(_results)]


@router.get("/exercises/{exercise_id}/results")
async def get_results(answer: ResultsDep) -> Results:
    """Agreement (alpha with its interval, Fleiss' kappa, percent agreement), accuracy, tables
    per clause and cohort (five moderators or more), disputed cases, confusions."""
    return answer


@router.get(
    "/exercises/{exercise_id}/results/clauses",
    response_model=list[ClauseRow],
    responses=CSV_RESPONSE,
)
async def get_clause_table(answer: ResultsDep, accept: AcceptDep = None) -> Response:
    """Agreement and accuracy per clause, by expected and by chosen answer."""
    return _rows(answer.clauses, ClauseRow, accept)


@router.get(
    "/exercises/{exercise_id}/results/cohorts",
    response_model=list[CohortRow],
    responses=CSV_RESPONSE,
)
async def get_cohort_table(answer: ResultsDep, accept: AcceptDep = None) -> Response:
    """Accuracy and agreement per cohort of at least five moderators."""
    return _rows(answer.cohorts, CohortRow, accept)


@router.get(
    "/exercises/{exercise_id}/results/disputed",
    response_model=list[DisputedCase],
    responses=CSV_RESPONSE,
)
async def get_disputed_table(answer: ResultsDep, accept: AcceptDep = None) -> Response:
    """The cases with the most disagreement and their answers: a walkthrough's agenda."""
    return _rows(answer.disputed_cases, DisputedCase, accept)


@router.get(
    "/exercises/{exercise_id}/results/confusion",
    response_model=list[ConfusionRow],
    responses=CSV_RESPONSE,
)
async def get_confusion_table(answer: ResultsDep, accept: AcceptDep = None) -> Response:
    """Expected against chosen answers, for everyone and per cohort of five or more."""
    return _rows(answer.confusion, ConfusionRow, accept)


@router.get(
    "/exercises/{exercise_id}/results/moderators",
    response_model=list[ModeratorRow],
    responses=CSV_RESPONSE,
)
async def get_moderator_table(
    exercise_id: DbId, records: RecordsDep, accept: AcceptDep = None
) -> Response:
    """Each moderator's accuracy with its interval (answers of individuals)."""
    moderators, _ = await reports.moderator_results(records, exercise_id=exercise_id)
    return _rows(moderators, ModeratorRow, accept)


@router.get(
    "/exercises/{exercise_id}/results/moderators/confusion",
    response_model=list[ConfusionRow],
    responses=CSV_RESPONSE,
)
async def get_moderator_confusion(
    exercise_id: DbId, records: RecordsDep, accept: AcceptDep = None
) -> Response:
    """Each moderator's confusion table (answers of individuals)."""
    _, confusions = await reports.moderator_results(records, exercise_id=exercise_id)
    return _rows(confusions, ConfusionRow, accept)


@router.get(
    "/exercises/{exercise_id}/comparison", response_model=Comparison, responses=CSV_RESPONSE
)
async def get_comparison(
    exercise_id: DbId,
    baseline: Annotated[DbId, Query(description="The earlier exercise on the same golden set.")],
    records: RecordsDep,
    accept: AcceptDep = None,
) -> Response:
    """Change in alpha and accuracy from a baseline exercise, overall, per clause and cohort."""
    answer = await reports.comparison(records, exercise_id=exercise_id, baseline_id=baseline)
    return table(answer.rows, list(ComparisonRow.model_fields), accept, answer)


def _rows(found: Sequence[BaseModel], model: type[BaseModel], accept: str | None) -> Response:
    return table(found, list(model.model_fields), accept)


router.include_router(production_router)
