"""Root-cause drill-down: which values of each dimension explain a metric's change in a scope
versus the previous period, with example escalations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import Field

from pp_insights.metrics_def import DIMENSIONS, CountMetric, RateMetric
from pp_insights.queries import repository
from pp_insights.queries.periods import (
    NOTHING,
    RATE_TERMS,
    Comparison,
    Periods,
    periods_of,
    ratio,
    significance,
    split,
)
from pp_insights.queries.stats import rounded, two_proportion_z


class DrilldownAnswer(Comparison):
    """For each dimension, each value's contribution to the scope's change, largest first.
    Contributions of one dimension's values sum to the total change."""

    metric: str
    kind: str
    total: dict[str, Any]
    value_columns: list[str] = Field(exclude=True)

    def columns(self) -> list[str]:
        return ["dimension", "value", *self.value_columns]


def _count_parts(c1: int, c0: int, total1: int, total0: int) -> dict[str, Any]:
    return {
        "current": c1,
        "previous": c0,
        "change": c1 - c0,
        "current_share": ratio(c1, total1),
        "previous_share": ratio(c0, total0),
        "contribution": float(c1 - c0),
    }


def _rate_parts(
    x1: int, n1: int, x0: int, n0: int, total1: int, total0: int, mean_rate: float
) -> dict[str, Any]:
    """The symmetric (Shapley) split of ``w1 r1 - w0 r0`` into a rate effect and a mix
    effect centred on the mean overall rate; a value absent from one period takes its other
    period's rate there, so its whole contribution is mix."""
    w1, w0 = n1 / total1, n0 / total0
    r1, r0 = ratio(x1, n1), ratio(x0, n0)
    # Without a sample in either period the value has no rate at all and moves nothing.
    a1 = next((r for r in (r1, r0) if r is not None), mean_rate)
    a0 = next((r for r in (r0, r1) if r is not None), mean_rate)
    rate_effect = (a1 - a0) * (w1 + w0) / 2
    mix_effect = (w1 - w0) * ((a1 + a0) / 2 - mean_rate)
    return {
        "current": r1,
        "previous": r0,
        "change": r1 - r0 if r1 is not None and r0 is not None else None,
        "current_numerator": x1,
        "current_denominator": n1,
        "previous_numerator": x0,
        "previous_denominator": n0,
        "current_share": w1,
        "previous_share": w0,
        "rate_effect": rate_effect,
        "mix_effect": mix_effect,
        "contribution": rate_effect + mix_effect,
    }


def _rate_total(x1: int, n1: int, x0: int, n0: int) -> dict[str, Any]:
    r1, r0 = ratio(x1, n1), ratio(x0, n0)
    return {
        "current": rounded(r1),
        "previous": rounded(r0),
        "change": rounded(r1 - r0) if r1 is not None and r0 is not None else None,
        "current_numerator": x1,
        "current_denominator": n1,
        "previous_numerator": x0,
        "previous_denominator": n0,
        **significance(two_proportion_z(x1, n1, x0, n0)),
    }


def _value_columns(is_count: bool) -> list[str]:
    return [
        "current",
        "previous",
        "change",
        *([] if is_count else RATE_TERMS),
        "current_share",
        "previous_share",
        *([] if is_count else ["rate_effect", "mix_effect"]),
        "contribution",
        "share_of_change",
        "examples",
    ]


async def drilldown(
    pool: asyncpg.Pool,
    *,
    metric: CountMetric | RateMetric,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    dimensions: Sequence[str] = (),
    limit: int,
    examples: int,
) -> DrilldownAnswer:
    """Which values of each dimension explain the scope's change versus the previous
    period, with example escalations of the largest contributors. ``dimensions`` default
    to those the scope leaves open: one it pins to a single value explains nothing."""
    dimensions = dimensions or [d for d in DIMENSIONS if len(filters.get(d, ())) != 1]
    periods = periods_of(start, end)
    is_count = isinstance(metric, CountMetric)
    num, den = metric.counters[0], metric.counters[-1]
    # One snapshot for every sum and example: they may come from more than one rollup.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await repository.sum_periods(
            conn, periods=periods, filters=filters, counters=metric.counters, dimensions=dimensions
        )
        totals, by_value = split(found)
        now, before = totals.get(True, NOTHING), totals.get(False, NOTHING)
        x1, x0 = now.get(num, 0), before.get(num, 0)
        n1, n0 = now.get(den, 0), before.get(den, 0)
        if is_count:
            total = {"current": x1, "previous": x0, "change": x1 - x0}
        else:
            total = _rate_total(x1, n1, x0, n0)
        rows: list[dict[str, Any]] = []
        decomposable = is_count or (n1 > 0 and n0 > 0)
        change: float | None = None
        if decomposable:
            change = x1 - x0 if is_count else x1 / n1 - x0 / n0
        for dim in dimensions if decomposable else ():
            parts = []
            for value, per in by_value.get(dim, {}).items():
                v1, v0 = per.get(True, NOTHING), per.get(False, NOTHING)
                if is_count:
                    part = _count_parts(v1.get(num, 0), v0.get(num, 0), x1, x0)
                else:
                    part = _rate_parts(
                        v1.get(num, 0),
                        v1.get(den, 0),
                        v0.get(num, 0),
                        v0.get(den, 0),
                        n1,
                        n0,
                        (x1 / n1 + x0 / n0) / 2,
                    )
                share = part["contribution"] / change if change else None
                parts.append({"dimension": dim, "value": value, **part, "share_of_change": share})
            parts.sort(key=lambda p: (-abs(p["contribution"]), p["value"]))
            shown = parts[:limit]
            if examples:
                await _attach_examples(conn, metric, periods, filters, dim, shown, examples)
            rows += shown
    for row in rows:
        for k, v in row.items():
            if isinstance(v, float):
                row[k] = rounded(v)
    return DrilldownAnswer(
        **Comparison.header(periods, filters),
        metric=metric.name,
        kind=metric.kind,
        total=total,
        rows=rows,
        value_columns=_value_columns(is_count),
    )


async def _attach_examples(
    conn: asyncpg.Connection,
    metric: CountMetric | RateMetric,
    periods: Periods,
    filters: Mapping[str, Sequence[str]],
    dimension: str,
    rows: list[dict[str, Any]],
    limit: int,
) -> None:
    """Examples push the metric the way the value's contribution does: escalations a count
    gained (current period) or lost (previous period); for a rate, escalations in its
    numerator when the value raised it, in its denominator only when it lowered it."""
    num, den = metric.counters[0], metric.counters[-1]
    is_count = isinstance(metric, CountMetric)
    groups: dict[bool, list[str]] = defaultdict(list)
    for row in rows:
        groups[row["contribution"] >= 0].append(row["value"])
    found: dict[str, list[str]] = defaultdict(list)
    for raised, values in groups.items():
        current = raised or not is_count
        hits = await repository.example_escalations(
            conn,
            start=periods.start if current else periods.previous_start,
            end=periods.end if current else periods.start,
            filters=filters,
            dimension=dimension,
            values=values,
            counted_by=num if raised or is_count else den,
            short_of=None if raised or is_count else num,
            limit=limit,
        )
        for h in hits:
            found[h.value].append(h.escalation_id)
    for row in rows:
        row["examples"] = found.get(row["value"], [])
