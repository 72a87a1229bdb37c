-- Published taxonomy versions. Rows are never updated: a change is a new version.
CREATE TABLE classifier.taxonomy_versions (
    version       text PRIMARY KEY,
    version_key   integer[]   NOT NULL UNIQUE,
    content       jsonb       NOT NULL,
    content_sha256 bytea      NOT NULL,
    published_by  text        NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
