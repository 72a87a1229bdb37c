-- Tags as first made for each escalation event. A redelivered event gets the stored tags
-- back, so a replay never re-tags history with a newer taxonomy or model.
CREATE TABLE classifier.tags (
    event_id      text PRIMARY KEY,
    escalation_id text        NOT NULL,
    tags          jsonb       NOT NULL,
    tagged_at     timestamptz NOT NULL DEFAULT now()
);
