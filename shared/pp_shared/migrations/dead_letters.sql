-- A service's dead letters: records it could not process, byte for byte, with the reason.
-- Keyed by their broker position so a replayed batch stores each once. "{schema}" is the
-- service's schema (ingest's migrations made the same table first).
CREATE TABLE IF NOT EXISTS "{schema}".dead_letters (
    id              bigserial   PRIMARY KEY,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    reason          text        NOT NULL,
    errors          jsonb       NOT NULL,
    raw_value       bytea,
    raw_key         bytea,
    headers         jsonb       NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz,
    UNIQUE (topic, kafka_partition, kafka_offset)
);
CREATE INDEX IF NOT EXISTS dead_letters_reason_idx ON "{schema}".dead_letters (reason, id);
CREATE INDEX IF NOT EXISTS dead_letters_received_idx ON "{schema}".dead_letters (received_at, id);
CREATE INDEX IF NOT EXISTS dead_letters_unreplayed_idx ON "{schema}".dead_letters (id)
    WHERE replayed_at IS NULL;
