"""The rollup tables and the names both the write and the read path use."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from pp_insights.metrics_def import DIMENSIONS, RollupCounter

Grain = Literal["hour", "day"]

ROLLUP_TABLES: dict[Grain, str] = {"hour": "insights.rollup_hour", "day": "insights.rollup_day"}
COUNTERS = frozenset(c.value for c in RollupCounter)
HISTOGRAMS = frozenset({"latency_hist"})
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
