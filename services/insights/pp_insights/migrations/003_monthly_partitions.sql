-- The event log, the facts and the hourly rollups are partitioned by UTC month, so that
-- retention drops whole partitions instead of deleting rows; daily rollups stay whole and
-- keep answering days whose detail is gone. Rows are copied as they are: nothing derived
-- changes, so no rebuild is needed.

-- Creates the month's partition of each partitioned table unless it exists. Callers hold
-- the 'insights.partitions' advisory lock, so two writers never race to create one.
CREATE FUNCTION insights.ensure_month_partitions(at_time timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamp := date_trunc('month', at_time AT TIME ZONE 'UTC');
    lo timestamptz := month_start AT TIME ZONE 'UTC';
    hi timestamptz := (month_start + interval '1 month') AT TIME ZONE 'UTC';
    suffix text := to_char(month_start, 'YYYY_MM');
    parent text;
BEGIN
    FOREACH parent IN ARRAY ARRAY['event_log', 'escalation_facts', 'rollup_hour'] LOOP
        IF to_regclass(format('insights.%I', parent || '_' || suffix)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE insights.%I PARTITION OF insights.%I FOR VALUES FROM (%L) TO (%L)',
                parent || '_' || suffix, parent, lo, hi);
        END IF;
    END LOOP;
END $$;

-- Everything before this instant has been dropped by retention (NULL: nothing yet). Events
-- older than it are not stored again, and rebuilds keep the daily rollups before it.
CREATE TABLE insights.retention (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    dropped_before timestamptz
);
INSERT INTO insights.retention (only_row) VALUES (true);

ALTER TABLE insights.event_log RENAME TO event_log_v2;
ALTER TABLE insights.escalation_facts RENAME TO escalation_facts_v2;
ALTER TABLE insights.rollup_hour RENAME TO rollup_hour_v2;
ALTER TABLE insights.event_log_v2 RENAME CONSTRAINT event_log_pkey TO event_log_v2_pkey;
ALTER TABLE insights.escalation_facts_v2
    RENAME CONSTRAINT escalation_facts_pkey TO escalation_facts_v2_pkey;
ALTER TABLE insights.rollup_hour_v2 RENAME CONSTRAINT rollup_hour_pkey TO rollup_hour_v2_pkey;
ALTER INDEX insights.event_log_escalation_idx RENAME TO event_log_v2_escalation_idx;
ALTER INDEX insights.escalation_facts_key_idx RENAME TO escalation_facts_v2_key_idx;
ALTER INDEX insights.escalation_facts_created_idx RENAME TO escalation_facts_v2_created_idx;

-- The key must hold the partition column. Upstream, ingest stores each event id once with
-- one body, so an event id always comes with the same occurred_at and (event_id,
-- occurred_at) dedupes exactly what event_id did.
CREATE TABLE insights.event_log (
    event_id      text        NOT NULL,
    event_type    text        NOT NULL,
    escalation_id text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    body          jsonb       NOT NULL,
    tags          jsonb       NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX event_log_escalation_idx ON insights.event_log (escalation_id);

-- One row per escalation still: the refresh deletes and reinserts an escalation's row under
-- the refresh lock (its created_at, hence its partition, can move when a second
-- escalation.created arrives), which no unique index across partitions could check.
CREATE TABLE insights.escalation_facts (
    LIKE insights.escalation_facts_v2 INCLUDING DEFAULTS,
    PRIMARY KEY (escalation_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX escalation_facts_key_idx ON insights.escalation_facts
    (clause_id, region, language, product_feature, escalation_reason, created_at);
CREATE INDEX escalation_facts_created_idx ON insights.escalation_facts (created_at);

CREATE TABLE insights.rollup_hour (LIKE insights.rollup_hour_v2 INCLUDING ALL)
    PARTITION BY RANGE (bucket);

SELECT insights.ensure_month_partitions(month)
FROM (
    SELECT DISTINCT date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
    FROM (
        SELECT occurred_at AS t FROM insights.event_log_v2
        UNION ALL SELECT created_at FROM insights.escalation_facts_v2
        UNION ALL SELECT bucket FROM insights.rollup_hour_v2
    ) AS times
) AS months;

INSERT INTO insights.event_log SELECT * FROM insights.event_log_v2;
INSERT INTO insights.escalation_facts SELECT * FROM insights.escalation_facts_v2;
INSERT INTO insights.rollup_hour SELECT * FROM insights.rollup_hour_v2;
DROP TABLE insights.event_log_v2, insights.escalation_facts_v2, insights.rollup_hour_v2;
