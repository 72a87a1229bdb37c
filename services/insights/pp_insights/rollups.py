"""The rollup tables, their keys and counters, as the write path (``facts``) fills them and
the read path (``queries``) sums them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pp_insights.metrics_def import (
    DIMENSIONS,
    LATENCY_HISTOGRAM,
    NO_QUEUE,
    UNCLEAR_REASON,
    RollupCounter,
)

Grain = Literal["hour", "day"]

ROLLUP_TABLES: dict[Grain, str] = {"hour": "insights.rollup_hour", "day": "insights.rollup_day"}
COUNTERS = frozenset(c.value for c in RollupCounter)
HISTOGRAMS = frozenset({"latency_hist"})
SPARSE_HISTOGRAMS: dict[str, tuple[str, str, int]] = {
    "latency_hist": ("latency_bins", "latency_counts", LATENCY_HISTOGRAM.bins)
}
"""Each dense histogram column's sparse twin (bins, counts) and its number of bins: readers
sum the sparse form, which holds only non-empty bins."""


CUBE_TABLE = "insights.rollup_day_clause_region"
CUBE_DIMENSIONS = frozenset({"area", "clause_id", "region"})
ROLLUP_COUNTERS: tuple[str, ...] = tuple(c.value for c in RollupCounter)

# Each rollup counter as the amount one fact row adds to it, as SQL over a fact row: the
# write path adds and subtracts these, the read path picks escalations a counter counts.
FACT_COUNTERS: dict[str, str] = {
    RollupCounter.VOLUME: "1",
    RollupCounter.POLICY_UNCLEAR: f"(escalation_reason = '{UNCLEAR_REASON}')::int",
    RollupCounter.DECIDED: "(first_decision_at IS NOT NULL)::int",
    RollupCounter.APPEALS_RESOLVED: "appeals_resolved",
    RollupCounter.APPEALS_OVERTURNED: "appeals_overturned",
    RollupCounter.QA_REVIEWS: "qa_reviews",
    RollupCounter.QA_DISAGREEMENTS: "qa_disagreements",
    RollupCounter.TAG_AGREED: "coalesce(tag_agrees, false)::int",
}
# Facts keep a missing queue as NULL; rollups and answers spell it NO_QUEUE.
FACT_DIMENSIONS: dict[str, str] = {
    d: (f"coalesce(queue, '{NO_QUEUE}')" if d == "queue" else d) for d in DIMENSIONS
}
assert set(FACT_COUNTERS) == COUNTERS
assert tuple(FACT_COUNTERS) == ROLLUP_COUNTERS  # one order for every table's counters
assert "'" not in UNCLEAR_REASON + NO_QUEUE


TABLE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    **{t: DIMENSIONS for t in ROLLUP_TABLES.values()},
    CUBE_TABLE: tuple(d for d in DIMENSIONS if d in CUBE_DIMENSIONS),
}
"""The dimensions that key each rollup table's rows, beside the bucket, in key order."""


def rollup_table(grain: Grain, dimensions: Iterable[str]) -> str:
    """The smallest rollup that answers a query over these dimensions (its filters, groups
    and compared dimensions) at this grain."""
    if grain == "day" and set(dimensions) <= CUBE_DIMENSIONS:
        return CUBE_TABLE
    return ROLLUP_TABLES[grain]
