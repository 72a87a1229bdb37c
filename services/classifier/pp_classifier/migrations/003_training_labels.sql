-- What the classifier learns from: escalation texts, and the clause a moderator applied.
-- Either may arrive first; training joins them.
CREATE TABLE classifier.texts (
    escalation_id text PRIMARY KEY,
    text          text        NOT NULL,
    language      text        NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The latest decision per escalation is its label ('none' for no_violation).
CREATE TABLE classifier.labels (
    escalation_id text PRIMARY KEY,
    clause_id     text        NOT NULL,
    decision_id   text        NOT NULL,
    decided_at    timestamptz NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX labels_stored_idx ON classifier.labels (stored_at);
