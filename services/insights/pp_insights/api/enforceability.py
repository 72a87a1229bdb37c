"""``/v1/insights/confusion`` and ``/v1/insights/enforceability``: where clauses blur."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, field_validator

from pp_insights.api.params import Filter, Time, within_range
from pp_insights.api.routes import AcceptDep, PoolDep
from pp_insights.buckets import covering
from pp_insights.enforceability import service
from pp_insights.enforceability.service import ConfusionAnswer, EnforceabilityAnswer
from pp_insights.queries.tabular import CSV_RESPONSE, tabular

router = APIRouter(prefix="/v1/insights", tags=["enforceability"])


class ConfusionParams(BaseModel):
    start: Time = Field(alias="from")
    end: Time = Field(alias="to")
    area: Filter = []
    source: Annotated[
        list[Literal["qa", "tag"]],
        Field(max_length=2, description="qa (QA corrections), tag (tag vs final decision)."),
    ] = ["qa", "tag"]
    limit: int = Field(default=50, ge=1, le=1000, description="Pairs per source.")

    _range = field_validator("end")(within_range)


class EnforceabilityParams(BaseModel):
    area: Literal["HATE", "VBDA", "HEX", "INA"]
    start: Time = Field(alias="from", description="Back to the start of its UTC day.")
    end: Time = Field(alias="to", description="On to the end of its UTC day.")
    min_sample: int = Field(default=30, ge=1, le=1_000_000)

    _range = field_validator("end")(within_range)


@router.get("/confusion", response_model=ConfusionAnswer, responses=CSV_RESPONSE)
async def get_confusion(
    pool: PoolDep, params: Annotated[ConfusionParams, Query()], accept: AcceptDep = None
) -> Response:
    """Clause pairs confused by QA corrections and by tags against decisions, top first, for
    escalations created in the UTC hours that ``[from, to)`` touches, whole."""
    start, end = covering(params.start, params.end, "hour")
    answer = await service.confusion(
        pool,
        start=start,
        end=end,
        areas=params.area,
        sources=params.source,
        limit=params.limit,
    )
    return tabular(answer, accept)


@router.get("/enforceability", response_model=EnforceabilityAnswer, responses=CSV_RESPONSE)
async def get_enforceability(
    pool: PoolDep, params: Annotated[EnforceabilityParams, Query()], accept: AcceptDep = None
) -> Response:
    """Per clause of an area: unclear share, QA disagreement, overturns against the median,
    over the UTC days that ``[from, to)`` touches, whole (its counters are daily)."""
    start, end = covering(params.start, params.end, "day")
    answer = await service.enforceability(
        pool,
        area=params.area,
        start=start,
        end=end,
        min_sample=params.min_sample,
    )
    return tabular(answer, accept)
