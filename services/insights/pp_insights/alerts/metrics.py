"""Prometheus metrics of alerting. Labels are low-cardinality: never a rule id or a URL."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVALUATIONS = Counter(
    "pp_insights_alert_evaluations_total",
    "Rule groups evaluated, by outcome (breaching, within, below_min_sample, no_sample,"
    " no_baseline, insufficient_baseline).",
    ["outcome"],
)
EVALUATION_SECONDS = Histogram(
    "pp_insights_alert_evaluation_seconds",
    "Time to evaluate every enabled rule once.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RULE_ERRORS = Counter(
    "pp_insights_alert_rule_errors_total", "Rule evaluations that failed with an error."
)
BREACH_TRANSITIONS = Counter(
    "pp_insights_alert_breach_transitions_total",
    "Breach state changes, by new state (pending, firing, resolved).",
    ["state"],
)
DELIVERIES = Counter(
    "pp_insights_alert_deliveries_total",
    "Delivery attempts, by channel type and outcome (delivered, retry, failed, cancelled).",
    ["channel_type", "outcome"],
)
CHANNEL_ERRORS = Counter(
    "pp_insights_alert_channel_errors_total",
    "Failed delivery attempts, by channel type and reason (config, unreachable, http_4xx,"
    " http_5xx, rate_limited, slack_error).",
    ["channel_type", "reason"],
)
OUTBOX_PENDING = Gauge(
    "pp_insights_alert_outbox_pending", "Outbox rows not delivered yet (as of the last pass)."
)
# Every combination exists from the start at 0, so the first failure of a kind shows as an
# increase (a series that appears at 1 has no increase to Prometheus).
for _state in ("pending", "firing", "resolved"):
    BREACH_TRANSITIONS.labels(_state)
for _channel_type in ("slack_webhook", "slack_api", "webhook", "topic"):
    for _outcome in ("delivered", "retry", "failed", "cancelled"):
        DELIVERIES.labels(_channel_type, _outcome)
DELIVERY_SECONDS = Histogram(
    "pp_insights_alert_delivery_seconds",
    "Time of one delivery attempt, by channel type.",
    ["channel_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
