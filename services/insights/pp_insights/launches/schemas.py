"""What the launches API reads and answers: a launch's scope, the launch to record, a
recorded launch, and the markers trends carry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pp_shared.contracts.events import AREAS, ClauseId, Language, Region, Token, area_of
from pp_shared.types import MULTI_LINE, SINGLE_LINE, AwareTimestamp, DbId

ScopeList = Annotated[list[str], Field(max_length=100)]
Title = Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE]
Description = Annotated[str, Field(max_length=10_000), MULTI_LINE]

SCOPE_DIMENSIONS: dict[str, str] = {
    "area": "area",
    "clause_ids": "clause_id",
    "regions": "region",
    "languages": "language",
    "product_features": "product_feature",
}
"""Each scope field and the fact dimension it restricts."""


class LaunchScope(BaseModel):
    """What a launch applies to: any subset of these; a field left out does not restrict."""

    model_config = ConfigDict(extra="forbid")

    area: Literal["HATE", "VBDA", "HEX", "INA"] | None = None
    clause_ids: Annotated[list[ClauseId], Field(max_length=100)] = []
    regions: Annotated[list[Region], Field(max_length=100)] = []
    languages: Annotated[list[Language], Field(max_length=100)] = []
    product_features: Annotated[list[Token], Field(max_length=100)] = []

    @model_validator(mode="after")
    def _clauses_in_area(self) -> LaunchScope:
        if self.area is not None:
            strangers = [c for c in self.clause_ids if area_of(c) != self.area]
            if strangers:
                raise ValueError(f"clauses outside area {self.area}: {', '.join(strangers)}")
        return self

    def filters(self) -> dict[str, tuple[str, ...]]:
        """The scope as dimension filters (dimension to its values)."""
        out: dict[str, tuple[str, ...]] = {}
        for name, dimension in SCOPE_DIMENSIONS.items():
            value = getattr(self, name)
            values = (value,) if isinstance(value, str) else tuple(dict.fromkeys(value or ()))
            if values:
                out[dimension] = values
        return out

    def areas(self) -> frozenset[str]:
        """The areas the scope lies in; empty when it touches every area."""
        return areas_of(self.filters())


def areas_of(filters: Mapping[str, Sequence[str]]) -> frozenset[str]:
    """The areas a set of dimension filters lies in (its area, or its clauses' areas);
    empty when it restricts neither."""
    if "area" in filters:
        return frozenset(filters["area"])
    return frozenset(area_of(c) for c in filters.get("clause_id", ()))


def overlaps(a: Mapping[str, Sequence[str]], b: Mapping[str, Sequence[str]]) -> bool:
    """Whether two scopes (dimension filters) can hold a common escalation: in no dimension
    that both restrict are their values disjoint, areas read from clauses included."""
    areas_a, areas_b = areas_of(a), areas_of(b)
    if areas_a and areas_b and not areas_a & areas_b:
        return False
    return all(set(a[d]) & set(b[d]) for d in set(a) & set(b))


class LaunchIn(BaseModel):
    """A launch to record: a guidance change (an FAQ, a training round) or any other."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    launched_at: AwareTimestamp
    scope: LaunchScope = Field(default_factory=LaunchScope)


class LaunchCreated(BaseModel):
    id: int


class LaunchView(BaseModel):
    id: int
    title: str
    description: str
    launched_at: datetime
    scope: LaunchScope
    taxonomy_version: str | None = Field(description="The taxonomy version it came with.")
    recorded_by: str
    recorded_at: datetime


class LaunchList(BaseModel):
    launches: list[LaunchView]
    next_before: DbId | None = Field(description="Pass as before= for the next page.")


class LaunchMarker(BaseModel):
    """A launch within a trend's range and scope, for a chart to draw."""

    id: int
    title: str
    launched_at: datetime
    taxonomy_version: str | None


assert set(AREAS) == {"HATE", "VBDA", "HEX", "INA"}, "LaunchScope.area lists the areas"
