"""The rollup tables and the names both the write and the read path use."""

from __future__ import annotations

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
