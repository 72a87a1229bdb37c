-- Retraining runs as a job: POST /v1/models/retrain starts one and answers at once, the
-- schedule starts them too, and anyone polls a job by its id on any replica. A job is
-- 'running' while the replica that started it holds the training lock; a 'running' job whose
-- lock is free was interrupted (its replica stopped).
CREATE TABLE classifier.retrain_jobs (
    id            text PRIMARY KEY,
    trigger       text        NOT NULL CHECK (trigger IN ('api', 'schedule')),
    state         text        NOT NULL CHECK (state IN ('running', 'done', 'failed', 'interrupted')),
    outcome       text        CHECK (outcome IN ('promoted', 'rejected', 'unchanged')),
    model_version text,
    reason        text,
    error         text,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX retrain_jobs_newest ON classifier.retrain_jobs (started_at DESC);
