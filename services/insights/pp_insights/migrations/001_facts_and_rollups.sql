-- Every tagged event once (the idempotency guard for everything below).
CREATE TABLE insights.event_log (
    event_id      text PRIMARY KEY,
    event_type    text        NOT NULL,
    escalation_id text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    body          jsonb       NOT NULL,
    tags          jsonb       NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_log_escalation_idx ON insights.event_log (escalation_id);

-- One row per escalation.
CREATE TABLE insights.escalations (
    escalation_id     text PRIMARY KEY,
    created_at        timestamptz NOT NULL,
    area              text NOT NULL,
    clause_id         text NOT NULL,
    region            text NOT NULL,
    language          text NOT NULL,
    product_feature   text NOT NULL,
    queue             text,
    escalation_reason text NOT NULL,
    reporter_type     text NOT NULL,
    severity          smallint
);
CREATE INDEX escalations_created_idx ON insights.escalations (created_at);

-- Hourly counts, grown only from escalation rows actually inserted above.
CREATE TABLE insights.rollup_hourly (
    bucket            timestamptz NOT NULL,
    area              text NOT NULL,
    clause_id         text NOT NULL,
    region            text NOT NULL,
    language          text NOT NULL,
    product_feature   text NOT NULL,
    escalation_reason text NOT NULL,
    volume            bigint NOT NULL,
    PRIMARY KEY (bucket, area, clause_id, region, language, product_feature, escalation_reason)
);
