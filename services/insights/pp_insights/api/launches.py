"""``/v1/launches``: launches as records, and the impact of one on a metric."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pp_insights.alerts.api import NowDep, PoolDep, RecordsDep
from pp_insights.api.params import Filter, Metric
from pp_insights.api.routes import AcceptDep
from pp_insights.launches import service
from pp_insights.launches.impact import ImpactQuery
from pp_insights.launches.impact_schemas import CSV_COLUMNS, ImpactAnswer
from pp_insights.launches.schemas import LaunchCreated, LaunchIn, LaunchList, LaunchView
from pp_insights.queries.tabular import CSV, CSV_RESPONSE, JSON, prefers_csv, to_csv
from pp_shared.identity import CallerDep
from pp_shared.types import DbId

router = APIRouter(tags=["launches"])

MAX_WINDOW_DAYS = 400
_DURATION = re.compile(r"^([0-9]{1,3})([dw])$")
Duration = Annotated[str, Field(pattern=r"^[0-9]{1,3}[dw]$", description="e.g. 28d or 4w")]


def days_of(text: str) -> int:
    match = _DURATION.match(text)
    assert match is not None, "checked by the pattern"
    return int(match[1]) * (7 if match[2] == "w" else 1)


class ImpactParams(BaseModel):
    """Windows of ``before`` and ``after`` around the launch (whole days or weeks), an
    optional transition left out after it, and a control named dimension by dimension."""

    model_config = ConfigDict(extra="forbid")

    metric: Metric
    before: Duration = "28d"
    after: Duration = "28d"
    transition: Duration = Field(default="0d", description="Left out after the launch's day.")
    interval: Literal["day", "week"] = "day"
    control_area: Filter = []
    control_clause_id: Filter = []
    control_region: Filter = []
    control_language: Filter = []
    control_product_feature: Filter = []

    @field_validator("before", "after", "transition")
    @classmethod
    def _bounded(cls, value: str) -> str:
        if days_of(value) > MAX_WINDOW_DAYS:
            raise ValueError(f"at most {MAX_WINDOW_DAYS} days")
        return value

    @field_validator("before", "after")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if days_of(value) == 0:
            raise ValueError("at least one day")
        return value

    @field_validator("interval")
    @classmethod
    def _whole_weeks(cls, interval: str, info: ValidationInfo) -> str:
        windows = (info.data.get(name) for name in ("before", "after"))
        if interval == "week" and any(w is not None and days_of(w) % 7 for w in windows):
            raise ValueError("weekly buckets need whole weeks before and after")
        return interval

    def query(self) -> ImpactQuery:
        named = {
            d: tuple(dict.fromkeys(v))
            for d in ("area", "clause_id", "region", "language", "product_feature")
            if (v := getattr(self, f"control_{d}"))
        }
        return ImpactQuery(
            metric=self.metric,
            before_days=days_of(self.before),
            after_days=days_of(self.after),
            transition_days=days_of(self.transition),
            interval=self.interval,
            control=named,
        )


@router.post("/v1/launches", status_code=201)
async def record_launch(body: LaunchIn, records: RecordsDep, caller: CallerDep) -> LaunchCreated:
    """Record a launch: a guidance change (FAQ, training round) or any other policy change."""
    launch_id = await service.record_launch(records, body=body, actor=caller.actor, caller=caller)
    return LaunchCreated(id=launch_id)


@router.get("/v1/launches")
async def list_launches(
    records: RecordsDep,
    area: Annotated[Filter, Query(description="Only launches within these areas.")] = [],  # noqa: B006
    before: Annotated[DbId | None, Query(description="page on: next_before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LaunchList:
    """Launches, newest recorded first."""
    return await service.list_launches(records, before=before, limit=limit, areas=area)


@router.get("/v1/launches/{launch_id}")
async def get_launch(launch_id: DbId, records: RecordsDep, caller: CallerDep) -> LaunchView:
    """One launch (404 for a key restricted to areas it does not lie in)."""
    return await service.get_launch(records, launch_id=launch_id, caller=caller)


@router.get("/v1/launches/{launch_id}/impact", response_model=ImpactAnswer, responses=CSV_RESPONSE)
async def launch_impact(
    launch_id: DbId,
    params: Annotated[ImpactParams, Query()],
    pool: PoolDep,
    records: RecordsDep,
    now: NowDep,
    accept: AcceptDep = None,
) -> Response:
    """A launch's impact on a metric: before/after, difference-in-differences, time series."""
    answer = await service.launch_impact(
        pool, records, launch_id=launch_id, query=params.query(), now=now
    )
    if prefers_csv(accept):
        body = to_csv(CSV_COLUMNS, answer.csv_rows())
        return Response(body, media_type=CSV, headers={"Vary": "Accept"})
    return Response(
        answer.model_dump_json(by_alias=True), media_type=JSON, headers={"Vary": "Accept"}
    )
