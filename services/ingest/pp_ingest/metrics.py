from prometheus_client import Counter, Histogram

EVENTS = Counter(
    "pp_ingest_events_total",
    "Events seen by ingest, by type and outcome.",
    ["path", "event_type", "outcome"],
)
PRODUCE_SECONDS = Histogram(
    "pp_ingest_produce_seconds",
    "Time from send to the broker's ack (acks=all).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2),
)
DEAD_LETTERS = Counter(
    "pp_ingest_dead_letters_total", "Raw messages dead-lettered, by reason.", ["reason"]
)
