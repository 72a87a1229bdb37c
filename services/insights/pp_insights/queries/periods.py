"""A period and the one of equal length just before it: what cards, movers and drill-downs
compare, and what every comparison answer states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from pp_insights.buckets import ceil_to, floor_to
from pp_insights.queries.stats import ALPHA, rounded, two_sided_p
from pp_insights.rollups import Grain

SIGNIFICANCE = (
    "rates: two-sided two-proportion z-test with the pooled proportion; counts: Anscombe"
    f" Poisson z = sqrt(2) * (sqrt(c1 + 3/8) - sqrt(c0 + 3/8)); significant when p < {ALPHA}"
)
RATE_TERMS = [
    "current_numerator",
    "current_denominator",
    "previous_numerator",
    "previous_denominator",
]
"""The columns that show a rate's fraction in both periods."""
MAX_RANGE_DAYS = 400
"""The longest period a comparison answers."""


@dataclass(frozen=True)
class Periods:
    """``[start, end)`` and the period of equal length before it, ``[previous_start, start)``."""

    previous_start: datetime
    start: datetime
    end: datetime
    grain: Grain


def periods_of(start: datetime, end: datetime) -> Periods:
    """Whole hours covering ``[start, end)`` and the period before; answered from the daily
    rollup when both bounds fall on UTC midnights, else from the hourly one."""
    s, e = floor_to(start, "hour"), ceil_to(end, "hour")
    grain: Grain = "day" if s == floor_to(s, "day") and e == floor_to(e, "day") else "hour"
    return Periods(previous_start=s - (e - s), start=s, end=e, grain=grain)


class PeriodSums(NamedTuple):
    """Counters summed over one period, of the whole scope (``dimension`` None) or of one
    value of a dimension."""

    is_current: bool
    """The period asked for; else the one before it."""
    dimension: str | None
    value: str | None
    sums: dict[str, int]
    """Counter name to sum."""


Sums = Mapping[str, int]
NOTHING: Sums = {}
"""The sums of a period without a row: every counter 0."""


def split(
    rows: Sequence[PeriodSums],
) -> tuple[dict[bool, Sums], dict[str, dict[str, dict[bool, Sums]]]]:
    """Sums of the whole scope per period, and per dimension -> value -> period."""
    totals: dict[bool, Sums] = {}
    by_value: dict[str, dict[str, dict[bool, Sums]]] = {}
    for r in rows:
        if r.dimension is None or r.value is None:
            totals[r.is_current] = r.sums
        else:
            by_value.setdefault(r.dimension, {}).setdefault(r.value, {})[r.is_current] = r.sums
    return totals, by_value


class Comparison(BaseModel):
    """The period asked for and the one before it, as every comparison answer states them."""

    model_config = ConfigDict(populate_by_name=True)

    scope: dict[str, list[str]]
    start: datetime = Field(alias="from", description="Start of the period (whole hours).")
    end: datetime = Field(alias="to", description="End of the period.")
    previous_from: datetime = Field(description="Start of the previous period of equal length.")
    previous_to: datetime = Field(description="End of the previous period (= from).")
    rows: list[dict[str, Any]]

    @classmethod
    def header(cls, periods: Periods, filters: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        return {
            "scope": {k: list(v) for k, v in sorted(filters.items())},
            "start": periods.start,
            "end": periods.end,
            "previous_from": periods.previous_start,
            "previous_to": periods.start,
        }


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator > 0 else None


def significance(z: float | None) -> dict[str, Any]:
    """The ``z``, ``p_value`` and ``significant`` cells of a change's score."""
    if z is None:
        return {"z": None, "p_value": None, "significant": None}
    p = two_sided_p(z)
    return {"z": rounded(z), "p_value": rounded(p), "significant": p < ALPHA}
