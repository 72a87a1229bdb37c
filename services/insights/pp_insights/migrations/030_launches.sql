-- Launches: a change of policy that moderators act on from a moment on (a new taxonomy
-- version, or a guidance change recorded through the API), with its scope. An empty scope
-- list (or a NULL area) does not restrict: a launch without any scope touches everything.
CREATE TABLE insights.launches (
    id                bigserial   PRIMARY KEY,
    title             text        NOT NULL,
    description       text        NOT NULL DEFAULT '',
    launched_at       timestamptz NOT NULL,
    area              text,
    clause_ids        text[]      NOT NULL DEFAULT '{}',
    regions           text[]      NOT NULL DEFAULT '{}',
    languages         text[]      NOT NULL DEFAULT '{}',
    product_features  text[]      NOT NULL DEFAULT '{}',
    -- The taxonomy version it came with; a version is recorded once (announcements repeat).
    taxonomy_version  text        UNIQUE,
    recorded_by       text        NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
-- Trend markers and overlap warnings look launches up by time.
CREATE INDEX launches_launched_at_idx ON insights.launches (launched_at);
