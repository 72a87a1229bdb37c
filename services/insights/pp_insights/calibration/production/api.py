"""HTTP adapter of agreement in production: ``/v1/calibration/production/agreement...``.
Only ``.../moderators`` answers per moderator; the others group reviews by dimensions."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from pp_insights.api.params import GroupBy, Scope, Time, scope_of, within_range
from pp_insights.buckets import Interval
from pp_insights.calibration.answers import table
from pp_insights.calibration.production import service as production
from pp_insights.queries.tabular import CSV_RESPONSE, prefers_csv, to_csv
from pp_shared.service import runtime_of

router = APIRouter(prefix="/production", tags=["calibration"])


async def _pool(request: Request) -> asyncpg.Pool:
    pool = runtime_of(request).pool
    assert pool is not None
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
ScopeDep = Annotated[Scope, Depends(scope_of)]
AcceptDep = Annotated[str | None, Header(include_in_schema=False)]


class AgreementParams(BaseModel):
    """``[from, to)`` in whole buckets (README, Ranges): the answer's ``interval``, else hours."""

    start: Time = Field(alias="from")
    end: Time = Field(alias="to")

    _range = field_validator("end")(within_range)


class TrendParams(AgreementParams):
    interval: Literal["hour", "day", "week", "all"] = Field(
        default=Interval.DAY.value, description="Bucket size (UTC); all: the whole range."
    )
    group_by: GroupBy = None


@router.get(
    "/agreement",
    response_model=production.AgreementAnswer,
    responses=CSV_RESPONSE,
)
async def get_agreement(
    pool: PoolDep,
    params: Annotated[TrendParams, Query()],
    scope: ScopeDep,
    accept: AcceptDep = None,
) -> Response:
    """Cohen's kappa moderator against QA reviewer, per bucket and group, beside the QA
    disagreement rate."""
    answer = await production.agreement(
        pool,
        start=params.start,
        end=params.end,
        interval=None if params.interval == "all" else params.interval,
        group_by=[d.value for d in params.group_by or []],
        filters=scope,
    )
    return _agreement_table(answer, accept)


@router.get(
    "/agreement/clauses",
    response_model=production.ClauseAgreementAnswer,
    responses=CSV_RESPONSE,
)
async def get_clause_agreement(
    pool: PoolDep,
    params: Annotated[AgreementParams, Query()],
    scope: ScopeDep,
    accept: AcceptDep = None,
) -> Response:
    """Cohen's kappa of each clause (that clause or another) over the range."""
    answer = await production.clause_agreement(
        pool, start=params.start, end=params.end, filters=scope
    )
    return table(answer.rows, list(production.ClauseAgreement.model_fields), accept, answer)


@router.get(
    "/agreement/moderators",
    response_model=production.AgreementAnswer,
    responses=CSV_RESPONSE,
)
async def get_moderator_agreement(
    pool: PoolDep,
    params: Annotated[AgreementParams, Query()],
    scope: ScopeDep,
    accept: AcceptDep = None,
) -> Response:
    """Cohen's kappa of each moderator against their reviewers (answers of individuals)."""
    answer = await production.moderator_agreement(
        pool, start=params.start, end=params.end, filters=scope
    )
    return _agreement_table(answer, accept)


def _agreement_table(answer: production.AgreementAnswer, accept: str | None) -> Response:
    if prefers_csv(accept):
        csv = to_csv(answer.columns(), [r.flat() for r in answer.rows])
        return Response(csv, media_type="text/csv", headers={"Vary": "Accept"})
    return Response(
        answer.model_dump_json(), media_type="application/json", headers={"Vary": "Accept"}
    )
