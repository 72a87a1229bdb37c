"""Prometheus metrics of ingest. Labels stay low-cardinality: never an id or free text."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Scope

from pp_shared.contracts.events import EventType
from pp_shared.http_metrics import METHODS, OTHER_METHOD, HttpMetrics

EVENTS = Counter(
    "pp_ingest_events_total",
    "Events seen by ingest, by path (http, kafka), type and outcome (http: accepted, duplicate, "
    "rejected, conflict, unavailable; kafka: stored, duplicate, conflict).",
    ["path", "event_type", "outcome"],
)
PRODUCE_SECONDS = Histogram(
    "pp_ingest_produce_seconds",
    "Time from send to the broker's ack (acks=all).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2),
)
RAW_CHECKS = Counter(
    "pp_ingest_raw_checks_total",
    "Raw messages by how the consumer judged them: sealed (validated by this deployment's "
    "intake, trusted) or validated (checked in full). Sealed events validated again mean the "
    "ingest replicas do not share PP_INTAKE_KEY.",
    ["check"],
)
DEAD_LETTERS = Counter(
    "pp_ingest_dead_letters_total", "Raw messages dead-lettered, by reason.", ["reason"]
)
# Each reason exists from the start at 0, so the first dead letter shows as an increase.
for _reason in ("undecodable", "invalid"):
    DEAD_LETTERS.labels(_reason)
DEAD_LETTER_REPLAYS = Counter(
    "pp_ingest_dead_letter_replays_total",
    "Dead letters asked to be replayed, by outcome (replayed, not_found, unavailable).",
    ["outcome"],
)
BATCH_EVENTS = Histogram(
    "pp_ingest_batch_size_events",
    "Events per batch request.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000),
)
DEDUPE_LOOKUP_FAILURES = Counter(
    "pp_ingest_dedupe_lookup_failures_total",
    "Duplicate lookups that failed or timed out; intake went on without them.",
)
HTTP_SECONDS = Histogram(
    "pp_ingest_http_request_seconds",
    "HTTP request latency, by method, route template and status class.",
    ["method", "route", "status_class"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENT_TYPES = frozenset(event_type.value for event_type in EventType)


def event_type_label(data: Any) -> str:
    """The event type of a rejected payload when it names a known one, else ``unknown``."""
    event_type = data.get("event_type") if isinstance(data, dict) else None
    # Any JSON value may stand there: a list or an object is not hashable.
    return event_type if isinstance(event_type, str) and event_type in EVENT_TYPES else "unknown"


class RequestMetrics(HttpMetrics):
    """ASGI middleware timing each HTTP request under its route template (``/v1/dead-letters/
    {dead_letter_id}``, not the path), so the label set stays small. The shared middleware
    wraps the request; ingest records its own histogram, named before the shared one."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, service="ingest")

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
        HTTP_SECONDS.labels(method, self.route(scope), f"{status // 100}xx").observe(seconds)


DSA_STATEMENTS = Counter(
    "pp_ingest_dsa_statements_total",
    "DSA statements of reasons imported, by format (json, csv, csv_v1) and outcome (accepted, "
    "duplicate, rejected).",
    ["format", "outcome"],
)
