"""Prometheus metrics of insights. Labels stay low-cardinality: never an id or free text."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REFRESH_SECONDS = Histogram(
    "pp_insights_refresh_seconds",
    "Time to recompute a batch's facts and apply their change to each rollup, by phase (facts,"
    " rollup_hour, rollup_day, rollup_day_clause_region).",
    ["phase"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ROWS_RECOMPUTED = Counter(
    "pp_insights_rows_recomputed_total",
    "Fact rows recomputed from event_log and rollup rows changed, by table.",
    ["table"],
)
BATCH_EVENTS = Histogram(
    "pp_insights_batch_events",
    "Events per consumed batch, by kind (received; new: not stored before).",
    ["kind"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
EVENTS = Counter(
    "pp_insights_events_total",
    "Events folded, by outcome (new, duplicate, beyond_retention).",
    ["outcome"],
)
QUERY_SECONDS = Histogram(
    "pp_insights_query_seconds",
    "Time to answer a query API request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
)
PARTITIONS_DROPPED = Counter(
    "pp_insights_partitions_dropped_total",
    "Monthly partitions dropped by retention, by table.",
    ["table"],
)
