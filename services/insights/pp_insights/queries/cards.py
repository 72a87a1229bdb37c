"""Performance cards: every metric of a clause or area in a period beside the period before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from pp_insights.metrics_def import (
    METRICS,
    CountMetric,
    QuantileMetric,
    RateMetric,
    quantile_name,
)
from pp_insights.queries import repository
from pp_insights.queries.periods import (
    NOTHING,
    SIGNIFICANCE,
    Comparison,
    periods_of,
    ratio,
    significance,
    split,
)
from pp_insights.queries.stats import (
    SECONDS_DIGITS,
    poisson_z,
    rounded,
    two_proportion_z,
    wilson_interval,
)
from pp_insights.rollups import COUNTERS

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
        **significance(poisson_z(c1, c0)),
    }


def _rate_row(metric: RateMetric, x1: int, n1: int, x0: int, n0: int) -> dict[str, Any]:
    r1, r0 = ratio(x1, n1), ratio(x0, n0)
    ci1 = wilson_interval(x1, n1) if n1 else (None, None)
    ci0 = wilson_interval(x0, n0) if n0 else (None, None)
    return {
        "metric": metric.name,
        "statistic": "value",
        "kind": metric.kind,
        "current": rounded(r1),
        "previous": rounded(r0),
        "change": rounded(r1 - r0) if r1 is not None and r0 is not None else None,
        "current_sample": n1,
        "previous_sample": n0,
        "current_numerator": x1,
        "previous_numerator": x0,
        "current_ci_low": rounded(ci1[0]),
        "current_ci_high": rounded(ci1[1]),
        "previous_ci_low": rounded(ci0[0]),
        "previous_ci_high": rounded(ci0[1]),
        **significance(two_proportion_z(x1, n1, x0, n0)),
    }


def _quantile_rows(
    metric: QuantileMetric, hist1: Sequence[int], hist0: Sequence[int]
) -> list[dict[str, Any]]:
    rows = []
    for q in metric.quantiles:
        v1, v0 = metric.histogram.quantile(hist1, q), metric.histogram.quantile(hist0, q)
        v1, v0 = rounded(v1, SECONDS_DIGITS), rounded(v0, SECONDS_DIGITS)
        rows.append(
            {
                "metric": metric.name,
                "statistic": quantile_name(q),
                "kind": metric.kind,
                "current": v1,
                "previous": v0,
                "change": rounded(v1 - v0, SECONDS_DIGITS)
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
    async with pool.acquire() as conn:
        found = await repository.sum_periods(
            conn, periods=periods, filters=filters, counters=sorted(COUNTERS)
        )
        totals, _ = split(found)
        hists: dict[str, dict[bool, list[int]]] = {}
        for m in METRICS.values():
            if isinstance(m, QuantileMetric):
                hists[m.name] = await repository.sum_histogram_periods(
                    conn, periods=periods, filters=filters, histogram=m.source, nonzero=m.sample
                )
    now, before = totals.get(True, NOTHING), totals.get(False, NOTHING)
    rows: list[dict[str, Any]] = []
    for m in METRICS.values():
        if isinstance(m, CountMetric):
            rows.append(_count_row(m, now.get(m.counter, 0), before.get(m.counter, 0)))
        elif isinstance(m, RateMetric):
            rows.append(
                _rate_row(
                    m,
                    now.get(m.numerator, 0),
                    now.get(m.denominator, 0),
                    before.get(m.numerator, 0),
                    before.get(m.denominator, 0),
                )
            )
        else:
            rows += _quantile_rows(m, hists[m.name].get(True, []), hists[m.name].get(False, []))
    return CardAnswer(**Comparison.header(periods, filters), rows=rows)
