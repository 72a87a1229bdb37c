"""Top movers: the values of a dimension whose metric changed most significantly versus the
previous period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import Field

from pp_insights.metrics_def import CountMetric, RateMetric
from pp_insights.queries import repository
from pp_insights.queries.periods import (
    NOTHING,
    RATE_TERMS,
    SIGNIFICANCE,
    Comparison,
    Sums,
    periods_of,
    split,
)
from pp_insights.queries.stats import ALPHA, poisson_z, rounded, two_proportion_z, two_sided_p


class Direction(StrEnum):
    ANY = "any"
    UP = "up"
    DOWN = "down"


class MoversAnswer(Comparison):
    """Dimension values ranked by the significance of their change (|z|, largest first)."""

    metric: str
    kind: str
    dimension: str
    min_sample: int
    candidates: int = Field(description="Values with a sample in either period.")
    eligible: int = Field(description="Of those, values that meet min_sample.")
    significance: str = SIGNIFICANCE
    value_columns: list[str] = Field(exclude=True)

    def columns(self) -> list[str]:
        return [self.dimension, *self.value_columns]


def _mover(
    metric: CountMetric | RateMetric, now: Sums, before: Sums, min_sample: int
) -> dict[str, Any] | None:
    if isinstance(metric, CountMetric):
        c1, c0 = now.get(metric.counter, 0), before.get(metric.counter, 0)
        if c1 + c0 < min_sample:
            return None
        z = poisson_z(c1, c0)
        return {"current": c1, "previous": c0, "change": c1 - c0, "score": z}
    x1, n1 = now.get(metric.numerator, 0), now.get(metric.denominator, 0)
    x0, n0 = before.get(metric.numerator, 0), before.get(metric.denominator, 0)
    rate_z = two_proportion_z(x1, n1, x0, n0)
    if rate_z is None or min(n1, n0) < min_sample:
        return None
    return {
        "current": x1 / n1,
        "previous": x0 / n0,
        "change": x1 / n1 - x0 / n0,
        "current_numerator": x1,
        "current_denominator": n1,
        "previous_numerator": x0,
        "previous_denominator": n0,
        "score": rate_z,
    }


async def movers(
    pool: asyncpg.Pool,
    *,
    metric: CountMetric | RateMetric,
    dimension: str,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    min_sample: int,
    limit: int,
    direction: Direction,
) -> MoversAnswer:
    """The values of ``dimension`` whose metric changed most significantly versus the
    previous period. A rate needs ``min_sample`` trials in both periods, a count
    ``min_sample`` events over the two."""
    periods = periods_of(start, end)
    # One snapshot: the totals and the values may come from different rollups.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await repository.sum_periods(
            conn,
            periods=periods,
            filters=filters,
            counters=metric.counters,
            dimensions=[dimension],
        )
    _, by_value = split(found)
    values = by_value.get(dimension, {})
    ranked = []
    for value, per_period in values.items():
        row = _mover(
            metric, per_period.get(True, NOTHING), per_period.get(False, NOTHING), min_sample
        )
        if row is not None:
            ranked.append((value, row))
    eligible = len(ranked)
    if direction is Direction.UP:
        ranked = [(v, r) for v, r in ranked if r["score"] > 0]
    elif direction is Direction.DOWN:
        ranked = [(v, r) for v, r in ranked if r["score"] < 0]
    ranked.sort(key=lambda vr: (-abs(vr[1]["score"]), vr[0]))
    rows = []
    for value, row in ranked[:limit]:
        p = two_sided_p(row["score"])
        cells = {k: rounded(v) if isinstance(v, float) else v for k, v in row.items()}
        rows.append({dimension: value, **cells, "p_value": rounded(p), "significant": p < ALPHA})
    value_columns = ["current", "previous", "change"]
    if isinstance(metric, RateMetric):
        value_columns += RATE_TERMS
    return MoversAnswer(
        **Comparison.header(periods, filters),
        metric=metric.name,
        kind=metric.kind,
        dimension=dimension,
        min_sample=min_sample,
        candidates=len(values),
        eligible=eligible,
        rows=rows,
        value_columns=[*value_columns, "score", "p_value", "significant"],
    )
