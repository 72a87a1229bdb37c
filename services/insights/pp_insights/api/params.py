"""The query parameters of the query API, as typed models that FastAPI validates. Every
wrong parameter is a 422 naming it with a ``/query/<name>`` pointer (``pp_shared.problems``);
unknown parameters were refused before (``pp_shared.http_guards``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from pp_insights.buckets import Interval
from pp_insights.metrics_def import (
    DIMENSIONS,
    METRICS,
    CountMetric,
    Dimension,
    RateMetric,
)
from pp_insights.queries.movers import DEFAULT_MIN_SAMPLE, Direction
from pp_insights.queries.periods import MAX_RANGE_DAYS
from pp_insights.queries.trends import TrendQuery
from pp_shared.contracts.events import EscalationReason
from pp_shared.types import SINGLE_LINE, Rfc3339

MAX_FILTER_VALUES = 100
MAX_FILTER_LENGTH = 128
MAX_RANGE = timedelta(days=MAX_RANGE_DAYS)
# Quantiles do not add up, so a latency change has no per-value contributions or z here.
ADDITIVE_METRICS = [m.name for m in METRICS.values() if isinstance(m, CountMetric | RateMetric)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError(
            "timezone_missing",
            "timestamp without a time zone",
            {"expected": "RFC 3339 with offset, e.g. 2026-11-20T00:00:00Z"},
        )
    return value


def _distinct(values: list[Dimension] | None) -> list[Dimension] | None:
    if values is not None and len(set(values)) != len(values):
        raise PydanticCustomError("duplicate", "duplicate")
    return values


def _metric_of(known: Sequence[str]) -> AfterValidator:
    def check(name: str) -> str:
        if name not in known:
            raise PydanticCustomError(
                "unknown_metric",
                "unknown metric" if name not in METRICS else "not answered here",
                {"expected": ", ".join(known)},
            )
        return name

    return AfterValidator(check)


Time = Annotated[datetime, Rfc3339, AfterValidator(_aware)]
Distinct = AfterValidator(_distinct)
_UNIQUE = {"uniqueItems": True}
MAX_GROUP_BY = 3
GroupBy = Annotated[
    Annotated[list[Dimension], Field(max_length=MAX_GROUP_BY, json_schema_extra=_UNIQUE)] | None,
    Distinct,
]
"""Up to three dimensions, each once: the same on every endpoint that groups."""
Metric = Annotated[str, _metric_of(list(METRICS)), Field(json_schema_extra={"enum": list(METRICS)})]
AdditiveMetric = Annotated[
    str, _metric_of(ADDITIVE_METRICS), Field(json_schema_extra={"enum": ADDITIVE_METRICS})
]


def _later_than_from(end: datetime | None, info: ValidationInfo) -> datetime | None:
    start = info.data.get("start")
    if end is not None and start is not None and end <= start:
        raise PydanticCustomError("not_later", "must be later than from")
    return end


def _within_range(end: datetime, info: ValidationInfo) -> datetime:
    _later_than_from(end, info)
    start = info.data.get("start")
    if start is not None and end - start > MAX_RANGE:
        raise PydanticCustomError("range_too_long", f"at most {MAX_RANGE_DAYS} days after from")
    return end


class VolumeParams(BaseModel):
    interval: Interval = Interval.HOUR
    group_by: GroupBy = None
    start: Time | None = Field(default=None, alias="from")
    end: Time | None = Field(default=None, alias="to")

    _order = field_validator("end")(_later_than_from)


class TrendParams(BaseModel):
    metric: Metric
    interval: Interval = Interval.DAY
    group_by: GroupBy = None
    start: Time | None = Field(default=None, alias="from")
    end: Time | None = Field(default=None, alias="to")

    _order = field_validator("end")(_later_than_from)

    def query(self, scope: Scope) -> TrendQuery:
        return TrendQuery(
            metric=self.metric,
            interval=self.interval,
            group_by=tuple(self.group_by or ()),
            filters=scope,
            start=self.start,
            end=self.end,
        )


class CardParams(BaseModel):
    """A card compares ``[from, to)`` with the period of equal length before it."""

    start: Time = Field(alias="from")
    end: Time = Field(alias="to")

    _range = field_validator("end")(_within_range)


class MoversParams(BaseModel):
    metric: AdditiveMetric
    dimension: Dimension
    start: Time = Field(alias="from")
    end: Time = Field(alias="to")
    min_sample: int = Field(
        default=DEFAULT_MIN_SAMPLE,
        ge=1,
        le=1_000_000,
        description="Trials of a rate in each period (escalations of a count over both)"
        " below which a value is listed in below_sample instead of tested and ranked.",
    )
    limit: int = Field(default=20, ge=1, le=500)
    direction: Direction = Direction.ANY

    _range = field_validator("end")(_within_range)

    @property
    def additive(self) -> CountMetric | RateMetric:
        return _additive(self.metric)


class DrilldownParams(BaseModel):
    metric: AdditiveMetric
    start: Time = Field(alias="from")
    end: Time = Field(alias="to")
    dimension: Annotated[
        Annotated[list[Dimension], Field(json_schema_extra=_UNIQUE)] | None, Distinct
    ] = None
    limit: int = Field(default=10, ge=1, le=500)
    examples: int = Field(default=3, ge=0, le=20)

    _range = field_validator("end")(_within_range)

    @property
    def additive(self) -> CountMetric | RateMetric:
        return _additive(self.metric)


def _additive(name: str) -> CountMetric | RateMetric:
    metric = METRICS[name]
    assert isinstance(metric, CountMetric | RateMetric)
    return metric


# --- the scope: any dimension as a filter, repeatable ------------------------------------


def _short(value: str) -> str:
    if len(value) > MAX_FILTER_LENGTH:
        raise PydanticCustomError("value_too_long", f"at most {MAX_FILTER_LENGTH} characters")
    return value


def _few(values: list[str]) -> list[str]:
    if len(values) > MAX_FILTER_VALUES:
        raise PydanticCustomError("too_many_values", f"at most {MAX_FILTER_VALUES} values")
    return values


FilterValue = Annotated[str, AfterValidator(_short), SINGLE_LINE]
"""A dimension's value: no control character (a NUL would reach Postgres, which refuses it
in text)."""
Filter = Annotated[
    list[FilterValue],
    AfterValidator(_few),
    Field(description="Keep only escalations with one of these values (repeatable)."),
]
Scope = dict[str, tuple[str, ...]]
"""The dimension filters asked for: dimension to its values, each once, in the order given."""


class ScopeParams(BaseModel):
    """Every dimension, as a filter: repeat one to keep several values."""

    area: Filter = []
    clause_id: Filter = []
    region: Filter = []
    language: Filter = []
    product_feature: Filter = []
    queue: Filter = []
    escalation_reason: Annotated[
        list[EscalationReason],
        AfterValidator(_few),
        Field(description="Keep only escalations with one of these reasons (repeatable)."),
    ] = []

    def scope(self) -> Scope:
        return {
            d: tuple(dict.fromkeys(str(x) for x in v))
            for d in DIMENSIONS
            if (v := getattr(self, d))
        }


assert tuple(ScopeParams.model_fields) == DIMENSIONS


def scope_of(params: Annotated[ScopeParams, Query()]) -> Scope:
    return params.scope()


class CardScopeParams(ScopeParams):
    """A card's scope names a clause or an area."""

    model_config = ConfigDict(validate_default=True)

    @field_validator("clause_id")
    @classmethod
    def _clause_or_area(cls, clause: list[str], info: ValidationInfo) -> list[str]:
        # An area that failed validation is missing from info.data: it was asked for. The
        # type "missing" keeps the (empty) default out of the answer's "found".
        if not clause and info.data.get("area") == []:
            raise PydanticCustomError("missing", "a card needs clause_id or area")
        return clause


def card_scope_of(params: Annotated[CardScopeParams, Query()]) -> Scope:
    return params.scope()


class AreaParams(BaseModel):
    """The one filter of volume: the areas, as the other queries filter them."""

    area: Filter = []


def area_scope_of(params: Annotated[AreaParams, Query()]) -> Scope:
    return {"area": tuple(dict.fromkeys(params.area))} if params.area else {}


within_range = _within_range
"""``to`` later than ``from`` and at most ``MAX_RANGE_DAYS`` after it, for other routes."""
