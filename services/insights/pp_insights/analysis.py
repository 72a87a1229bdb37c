"""Comparisons of a period with the one just before it, of equal length: clause performance
cards, top movers and root-cause drill-down. Metric definitions come from ``metrics_def``,
significance from ``stats``; this module only sums and compares."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from pp_insights import repository
from pp_insights.metrics_def import (
    DIMENSIONS,
    METRICS,
    CountMetric,
    Metric,
    QuantileMetric,
    RateMetric,
    wilson_interval,
)
from pp_insights.repository import Grain
from pp_insights.repository.tables import COUNTERS
from pp_insights.service import RATE_DIGITS, SECONDS_DIGITS, ceil_to, floor_to
from pp_insights.stats import ALPHA, poisson_z, two_proportion_z, two_sided_p

SIGNIFICANCE = (
    "rates: two-sided two-proportion z-test with the pooled proportion; counts: Anscombe"
    f" Poisson z = sqrt(2) * (sqrt(c1 + 3/8) - sqrt(c0 + 3/8)); significant when p < {ALPHA}"
)


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


def _split(rows: Sequence[asyncpg.Record]) -> tuple[dict[bool, Any], dict[str, Any]]:
    """Totals per period, and per dimension -> value -> period."""
    totals: dict[bool, Any] = {}
    by_value: dict[str, Any] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        dim = next((d for d in DIMENSIONS if d in r and r[d] is not None), None)
        if dim is None:
            totals[r["is_current"]] = r
        else:
            by_value[dim][r[dim]][r["is_current"]] = r
    return totals, by_value


def _get(row: Any, counter: str) -> int:
    return int(row[counter]) if row is not None and row[counter] is not None else 0


def _round(value: float | None, digits: int = RATE_DIGITS) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _significance(z: float | None) -> dict[str, Any]:
    if z is None:
        return {"z": None, "p_value": None, "significant": None}
    p = two_sided_p(z)
    return {"z": _round(z), "p_value": _round(p), "significant": p < ALPHA}


# --- performance card -------------------------------------------------------------------

CARD_COLUMNS = [
    "metric",
    "statistic",
    "kind",
    "current",
    "previous",
    "change",
    "current_sample",
    "previous_sample",
    "current_numerator",
    "previous_numerator",
    "current_ci_low",
    "current_ci_high",
    "previous_ci_low",
    "previous_ci_high",
    "z",
    "p_value",
    "significant",
]


class CardAnswer(Comparison):
    """Every metric of the scope in the period and in the previous one, with the change."""

    significance: str = SIGNIFICANCE

    def columns(self) -> list[str]:
        return CARD_COLUMNS


def _count_row(metric: CountMetric, c1: int, c0: int) -> dict[str, Any]:
    return {
        "metric": metric.name,
        "statistic": "value",
        "kind": metric.kind,
        "current": c1,
        "previous": c0,
        "change": c1 - c0,
        "current_sample": c1,
        "previous_sample": c0,
        **_significance(poisson_z(c1, c0)),
    }


def _rate_row(metric: RateMetric, x1: int, n1: int, x0: int, n0: int) -> dict[str, Any]:
    r1, r0 = _ratio(x1, n1), _ratio(x0, n0)
    ci1 = wilson_interval(x1, n1) if n1 else (None, None)
    ci0 = wilson_interval(x0, n0) if n0 else (None, None)
    return {
        "metric": metric.name,
        "statistic": "value",
        "kind": metric.kind,
        "current": _round(r1),
        "previous": _round(r0),
        "change": _round(r1 - r0) if r1 is not None and r0 is not None else None,
        "current_sample": n1,
        "previous_sample": n0,
        "current_numerator": x1,
        "previous_numerator": x0,
        "current_ci_low": _round(ci1[0]),
        "current_ci_high": _round(ci1[1]),
        "previous_ci_low": _round(ci0[0]),
        "previous_ci_high": _round(ci0[1]),
        **_significance(two_proportion_z(x1, n1, x0, n0)),
    }


def _quantile_rows(
    metric: QuantileMetric, hist1: Sequence[int], hist0: Sequence[int]
) -> list[dict[str, Any]]:
    rows = []
    for q in metric.quantiles:
        v1, v0 = metric.histogram.quantile(hist1, q), metric.histogram.quantile(hist0, q)
        v1, v0 = _round(v1, SECONDS_DIGITS), _round(v0, SECONDS_DIGITS)
        rows.append(
            {
                "metric": metric.name,
                "statistic": f"p{round(q * 100)}",
                "kind": metric.kind,
                "current": v1,
                "previous": v0,
                "change": _round(v1 - v0, SECONDS_DIGITS)
                if v1 is not None and v0 is not None
                else None,
                "current_sample": sum(hist1),
                "previous_sample": sum(hist0),
                # Quantiles of two histograms have no test here yet: change only.
                "z": None,
                "p_value": None,
                "significant": None,
            }
        )
    return rows


async def card(
    pool: asyncpg.Pool,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
) -> CardAnswer:
    """Every metric for the scope in ``[start, end)`` beside the previous period."""
    periods = periods_of(start, end)
    span: dict[str, Any] = {
        "grain": periods.grain,
        "previous_start": periods.previous_start,
        "start": periods.start,
        "end": periods.end,
        "filters": filters,
    }
    counters = sorted(COUNTERS)
    async with pool.acquire() as conn:
        totals, _ = _split(await repository.sum_periods(conn, **span, counters=counters))
        hists: dict[str, dict[bool, list[int]]] = {}
        for m in METRICS.values():
            if isinstance(m, QuantileMetric):
                found = await repository.sum_histogram_periods(
                    conn, **span, histogram=m.source, nonzero=m.sample
                )
                hists[m.name] = {r["is_current"]: list(r["hist"]) for r in found}
    now, before = totals.get(True), totals.get(False)
    rows: list[dict[str, Any]] = []
    for m in METRICS.values():
        if isinstance(m, CountMetric):
            rows.append(_count_row(m, _get(now, m.counter), _get(before, m.counter)))
        elif isinstance(m, RateMetric):
            rows.append(
                _rate_row(
                    m,
                    _get(now, m.numerator),
                    _get(now, m.denominator),
                    _get(before, m.numerator),
                    _get(before, m.denominator),
                )
            )
        else:
            rows += _quantile_rows(m, hists[m.name].get(True, []), hists[m.name].get(False, []))
    return CardAnswer(**Comparison.header(periods, filters), rows=rows)


# --- top movers ---------------------------------------------------------------------------


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
    metric: CountMetric | RateMetric, now: Any, before: Any, min_sample: int
) -> dict[str, Any] | None:
    if isinstance(metric, CountMetric):
        c1, c0 = _get(now, metric.counter), _get(before, metric.counter)
        if c1 + c0 < min_sample:
            return None
        z = poisson_z(c1, c0)
        return {"current": c1, "previous": c0, "change": c1 - c0, "score": z}
    x1, n1 = _get(now, metric.numerator), _get(now, metric.denominator)
    x0, n0 = _get(before, metric.numerator), _get(before, metric.denominator)
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
    counters = (
        [metric.counter]
        if isinstance(metric, CountMetric)
        else [metric.numerator, metric.denominator]
    )
    # One snapshot: the totals and the values may come from different rollups.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await repository.sum_periods(
            conn,
            grain=periods.grain,
            previous_start=periods.previous_start,
            start=periods.start,
            end=periods.end,
            filters=filters,
            counters=counters,
            dimensions=[dimension],
        )
    _, by_value = _split(found)
    values = by_value.get(dimension, {})
    ranked = []
    for value, per_period in values.items():
        row = _mover(metric, per_period.get(True), per_period.get(False), min_sample)
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
        rounded = {k: _round(v) if isinstance(v, float) else v for k, v in row.items()}
        rows.append({dimension: value, **rounded, "p_value": _round(p), "significant": p < ALPHA})
    value_columns = ["current", "previous", "change"]
    if isinstance(metric, RateMetric):
        value_columns += [
            "current_numerator",
            "current_denominator",
            "previous_numerator",
            "previous_denominator",
        ]
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


# --- root-cause drill-down -------------------------------------------------------------------


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
        "current_share": _ratio(c1, total1),
        "previous_share": _ratio(c0, total0),
        "contribution": float(c1 - c0),
    }


def _rate_parts(
    x1: int, n1: int, x0: int, n0: int, total1: int, total0: int, mean_rate: float
) -> dict[str, Any]:
    """The symmetric (Shapley) split of ``w1 r1 - w0 r0`` into a rate effect and a mix
    effect centred on the mean overall rate; a value absent from one period takes its other
    period's rate there, so its whole contribution is mix."""
    w1, w0 = n1 / total1, n0 / total0
    r1, r0 = _ratio(x1, n1), _ratio(x0, n0)
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


async def drilldown(
    pool: asyncpg.Pool,
    *,
    metric: CountMetric | RateMetric,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]],
    dimensions: Sequence[str],
    limit: int,
    examples: int,
) -> DrilldownAnswer:
    """Which values of each dimension explain the scope's change versus the previous
    period, with example escalations of the largest contributors."""
    periods = periods_of(start, end)
    is_count = isinstance(metric, CountMetric)
    counters = (
        [metric.counter]
        if isinstance(metric, CountMetric)
        else [metric.numerator, metric.denominator]
    )
    num = counters[0]
    den = counters[-1]
    # One snapshot for every sum and example: they may come from more than one rollup.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        found = await repository.sum_periods(
            conn,
            grain=periods.grain,
            previous_start=periods.previous_start,
            start=periods.start,
            end=periods.end,
            filters=filters,
            counters=counters,
            dimensions=dimensions,
        )
        totals, by_value = _split(found)
        x1, x0 = _get(totals.get(True), num), _get(totals.get(False), num)
        n1, n0 = _get(totals.get(True), den), _get(totals.get(False), den)
        total: dict[str, Any]
        if is_count:
            total = {"current": x1, "previous": x0, "change": x1 - x0}
        else:
            r1, r0 = _ratio(x1, n1), _ratio(x0, n0)
            total = {
                "current": _round(r1),
                "previous": _round(r0),
                "change": _round(r1 - r0) if r1 is not None and r0 is not None else None,
                "current_numerator": x1,
                "current_denominator": n1,
                "previous_numerator": x0,
                "previous_denominator": n0,
                **_significance(two_proportion_z(x1, n1, x0, n0)),
            }
        rows: list[dict[str, Any]] = []
        decomposable = is_count or (n1 > 0 and n0 > 0)
        change: float | None = None
        if decomposable:
            change = x1 - x0 if is_count else x1 / n1 - x0 / n0
        for dim in dimensions if decomposable else ():
            parts = []
            for value, per in by_value.get(dim, {}).items():
                now, before = per.get(True), per.get(False)
                if is_count:
                    part = _count_parts(_get(now, num), _get(before, num), x1, x0)
                else:
                    part = _rate_parts(
                        _get(now, num),
                        _get(now, den),
                        _get(before, num),
                        _get(before, den),
                        n1,
                        n0,
                        (x1 / n1 + x0 / n0) / 2,
                    )
                share = part["contribution"] / change if change else None
                parts.append({"dimension": dim, "value": value, **part, "share_of_change": share})
            parts.sort(key=lambda p: (-abs(p["contribution"]), p["value"]))
            shown = parts[:limit]
            if examples:
                await _attach_examples(
                    conn, metric, periods, filters, dim, shown, examples, num, den
                )
            rows += shown
    for row in rows:
        for k, v in row.items():
            if isinstance(v, float):
                row[k] = _round(v)
    value_columns = ["current", "previous", "change"]
    if not is_count:
        value_columns += [
            "current_numerator",
            "current_denominator",
            "previous_numerator",
            "previous_denominator",
        ]
    value_columns += ["current_share", "previous_share"]
    if not is_count:
        value_columns += ["rate_effect", "mix_effect"]
    value_columns += ["contribution", "share_of_change", "examples"]
    return DrilldownAnswer(
        **Comparison.header(periods, filters),
        metric=metric.name,
        kind=metric.kind,
        total=total,
        rows=rows,
        value_columns=value_columns,
    )


async def _attach_examples(
    conn: asyncpg.Connection,
    metric: Metric,
    periods: Periods,
    filters: Mapping[str, Sequence[str]],
    dimension: str,
    rows: list[dict[str, Any]],
    limit: int,
    num: str,
    den: str,
) -> None:
    """Examples push the metric the way the value's contribution does: escalations a count
    gained (current period) or lost (previous period); for a rate, escalations in its
    numerator when the value raised it, in its denominator only when it lowered it."""
    groups: dict[tuple[bool, bool], list[str]] = defaultdict(list)
    for row in rows:
        groups[(row["contribution"] >= 0, isinstance(metric, CountMetric))].append(row["value"])
    found: dict[str, list[str]] = defaultdict(list)
    for (raised, is_count), values in groups.items():
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
            found[h["value"]].append(h["escalation_id"])
    for row in rows:
        row["examples"] = found.get(row["value"], [])
