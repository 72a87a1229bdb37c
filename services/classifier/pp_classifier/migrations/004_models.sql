-- Trained clause models: the seed model and every retrained candidate, promoted or not, with
-- the evaluation that decided. Exactly one model is active; the others stay for audit.
CREATE TABLE classifier.models (
    version          text PRIMARY KEY,
    taxonomy_version text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('active', 'retired', 'rejected')),
    reason           text        NOT NULL,
    artifact         bytea       NOT NULL,
    metadata         jsonb       NOT NULL,
    evaluation       jsonb       NOT NULL,
    training_texts   integer     NOT NULL,
    decision_labels  integer     NOT NULL,
    -- The newest label a training saw: retraining counts the labels stored after it.
    labels_through   timestamptz,
    trained_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    promoted_at      timestamptz
);
CREATE UNIQUE INDEX models_one_active ON classifier.models ((status)) WHERE status = 'active';
