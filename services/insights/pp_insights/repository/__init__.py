"""Every SQL statement of the insights service: the write path in ``facts``, the read path
in ``queries``."""

from pp_insights.repository.facts import (
    Delta,
    LogRow,
    apply_deltas,
    claim_pending_rebuilds,
    create_partitions,
    drop_partitions_before,
    escalation_ids_in_log,
    finish_rebuilds,
    insert_event_log,
    lock_refresh,
    partition_state,
    refresh_facts,
    truncate_derived,
)
from pp_insights.repository.periods import (
    example_escalations,
    sum_histogram_periods,
    sum_periods,
)
from pp_insights.repository.queries import sum_counters, sum_histograms
from pp_insights.repository.tables import Grain

__all__ = [
    "Delta",
    "Grain",
    "LogRow",
    "apply_deltas",
    "claim_pending_rebuilds",
    "create_partitions",
    "drop_partitions_before",
    "escalation_ids_in_log",
    "example_escalations",
    "finish_rebuilds",
    "insert_event_log",
    "lock_refresh",
    "partition_state",
    "refresh_facts",
    "sum_counters",
    "sum_histogram_periods",
    "sum_histograms",
    "sum_periods",
    "truncate_derived",
]
