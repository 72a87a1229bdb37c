-- Each taxonomy version announced on pp.taxonomy.published.v1 (insights records it as a
-- launch): a version without a row here is announced by the next publish or refresh, so a
-- broker outage at publish time delays the announcement, never loses it.
CREATE TABLE classifier.taxonomy_announcements (
    version      text PRIMARY KEY REFERENCES classifier.taxonomy_versions (version),
    announced_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The draft simulation reads the texts stored in a window, and whether each escalation's
-- tag was declared upstream (a draft cannot change those).
CREATE INDEX texts_stored_idx ON classifier.texts (stored_at);
CREATE INDEX tags_escalation_idx ON classifier.tags (escalation_id);
