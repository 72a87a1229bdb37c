-- The canonical event log: each event_id once, with the hash of its canonical body so a
-- re-send with a different body is told apart from a harmless duplicate.
CREATE TABLE ingest.events (
    event_id      text PRIMARY KEY,
    event_type    text        NOT NULL,
    escalation_id text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    body          jsonb       NOT NULL,
    body_sha256   bytea       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_escalation_idx ON ingest.events (escalation_id);

-- Same event_id, different body: rejected and kept for the upstream team to inspect.
CREATE TABLE ingest.conflicts (
    id            bigserial PRIMARY KEY,
    event_id      text        NOT NULL,
    body          jsonb       NOT NULL,
    body_sha256   bytea       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, body_sha256)
);

-- Raw messages that could not be decoded or validated. Keyed by their broker position so a
-- replayed batch stores each once.
CREATE TABLE ingest.dead_letters (
    id            bigserial PRIMARY KEY,
    topic         text        NOT NULL,
    kafka_partition integer   NOT NULL,
    kafka_offset  bigint      NOT NULL,
    reason        text        NOT NULL,
    errors        jsonb       NOT NULL,
    raw_value     bytea,
    raw_key       bytea,
    headers       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, kafka_partition, kafka_offset)
);
