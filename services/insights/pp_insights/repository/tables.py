"""The rollup tables and the names both the write and the read path use."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, NamedTuple

from pp_insights.metrics_def import DIMENSIONS, LATENCY_HISTOGRAM, RollupCounter

Grain = Literal["hour", "day"]

ROLLUP_TABLES: dict[Grain, str] = {"hour": "insights.rollup_hour", "day": "insights.rollup_day"}
COUNTERS = frozenset(c.value for c in RollupCounter)
HISTOGRAMS = frozenset({"latency_hist"})
SPARSE_HISTOGRAMS: dict[str, tuple[str, str, int]] = {
    "latency_hist": ("latency_bins", "latency_counts", LATENCY_HISTOGRAM.bins)
}
"""Each dense histogram column's sparse twin (bins, counts) and its number of bins: readers
sum the sparse form, which holds only non-empty bins."""
KEY_COLUMNS = ", ".join(DIMENSIONS)


CUBE_TABLE = "insights.rollup_day_clause_region"
CUBE_DIMENSIONS = frozenset({"area", "clause_id", "region"})
CUBE_COUNTERS: tuple[str, ...] = tuple(c.value for c in RollupCounter)


def rollup_table(grain: Grain, dimensions: Iterable[str]) -> str:
    """The smallest rollup that answers a query over these dimensions (its filters, groups
    and compared dimensions) at this grain."""
    if grain == "day" and set(dimensions) <= CUBE_DIMENSIONS:
        return CUBE_TABLE
    return ROLLUP_TABLES[grain]


class CubeKey(NamedTuple):
    bucket: datetime
    area: str
    clause_id: str
    region: str


class RollupKey(NamedTuple):
    """One rollup row's identity: a bucket start and a value for every dimension."""

    bucket: datetime
    area: str
    clause_id: str
    region: str
    language: str
    product_feature: str
    queue: str
    escalation_reason: str
