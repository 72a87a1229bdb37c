"""Top movers: the values of a dimension whose metric changed most significantly versus the
previous period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import Field
from scipy.stats import false_discovery_control

from pp_insights.metrics_def import CountMetric, RateMetric
from pp_insights.queries import repository
from pp_insights.queries.periods import (
    NOTHING,
    RATE_TERMS,
    SIGNIFICANCE,
    Comparison,
    Sums,
    periods_of,
    ratio,
    split,
)
from pp_insights.queries.stats import ALPHA, poisson_z, rounded, two_proportion_z, two_sided_p


class Direction(StrEnum):
    ANY = "any"
    UP = "up"
    DOWN = "down"


DEFAULT_MIN_SAMPLE = 10
"""Trials of a rate in each period (escalations of a count over both) below which a value is
listed apart, not ranked: the z-tests' normal approximation is poor below about ten."""
CORRECTION = (
    "Benjamini-Hochberg across the values tested (scipy.stats.false_discovery_control):"
    f" q_value is the false discovery rate at which the change is significant; significant"
    f" when q < {ALPHA}"
)


class MoversAnswer(Comparison):
    """Dimension values ranked by the significance of their change (smallest q, then largest
    |z|), and the values whose sample is too small to test, apart."""

    metric: str
    kind: str
    dimension: str
    min_sample: int
    candidates: int = Field(description="Values with a sample in either period.")
    eligible: int = Field(description="Of those, values that meet min_sample: those tested.")
    significance: str = SIGNIFICANCE
    correction: str = CORRECTION
    below_sample: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Values with a sample below min_sample, not tested or ranked: their"
        " periods' values and samples, by value.",
    )
    value_columns: list[str] = Field(exclude=True)

    def columns(self) -> list[str]:
        return [self.dimension, *self.value_columns]


def _mover(metric: CountMetric | RateMetric, now: Sums, before: Sums) -> dict[str, Any]:
    """A value's periods and their change; ``score`` (z) None when it cannot be tested."""
    if isinstance(metric, CountMetric):
        c1, c0 = now.get(metric.counter, 0), before.get(metric.counter, 0)
        return {"current": c1, "previous": c0, "change": c1 - c0, "score": poisson_z(c1, c0)}
    x1, n1 = now.get(metric.numerator, 0), now.get(metric.denominator, 0)
    x0, n0 = before.get(metric.numerator, 0), before.get(metric.denominator, 0)
    r1, r0 = ratio(x1, n1), ratio(x0, n0)
    return {
        "current": r1,
        "previous": r0,
        "change": r1 - r0 if r1 is not None and r0 is not None else None,
        "current_numerator": x1,
        "current_denominator": n1,
        "previous_numerator": x0,
        "previous_denominator": n0,
        "score": two_proportion_z(x1, n1, x0, n0),
    }


def _sample_met(metric: CountMetric | RateMetric, row: dict[str, Any], min_sample: int) -> bool:
    if isinstance(metric, CountMetric):
        return bool(row["current"] + row["previous"] >= min_sample)
    return bool(min(row["current_denominator"], row["previous_denominator"]) >= min_sample)


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    return {k: rounded(v) if isinstance(v, float) else v for k, v in row.items()}


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
    previous period, with a Benjamini-Hochberg correction across the values tested. A rate
    needs ``min_sample`` trials in both periods, a count ``min_sample`` events over the two;
    values below are listed apart."""
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
    tested: list[tuple[str, dict[str, Any]]] = []
    below: list[dict[str, Any]] = []
    for value, per_period in sorted(values.items()):
        row = _mover(metric, per_period.get(True, NOTHING), per_period.get(False, NOTHING))
        if row["score"] is not None and _sample_met(metric, row, min_sample):
            tested.append((value, row))
        else:
            row.pop("score")
            below.append({dimension: value, **_cells(row)})
    p_values = [two_sided_p(row["score"]) for _, row in tested]
    q_values = [float(q) for q in false_discovery_control(p_values)] if p_values else []
    ranked = [
        (value, {**row, "p_value": p, "q_value": q})
        for (value, row), p, q in zip(tested, p_values, q_values, strict=True)
    ]
    if direction is Direction.UP:
        ranked = [(v, r) for v, r in ranked if r["score"] > 0]
    elif direction is Direction.DOWN:
        ranked = [(v, r) for v, r in ranked if r["score"] < 0]
    ranked.sort(key=lambda vr: (vr[1]["q_value"], -abs(vr[1]["score"]), vr[0]))
    rows = [
        {dimension: value, **_cells(row), "significant": row["q_value"] < ALPHA}
        for value, row in ranked[:limit]
    ]
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
        eligible=len(tested),
        rows=rows,
        below_sample=below,
        value_columns=[*value_columns, "score", "p_value", "q_value", "significant"],
    )
