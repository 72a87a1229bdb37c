-- Agreement in production: one row per QA review, with the moderator's decision it reviewed,
-- recomputed from event_log with the escalation's facts (facts/repository.py refresh_facts).
-- Kept in the bucket and dimensions of the escalation, as every QA counter is, so that
-- Cohen's kappa moderator against reviewer stands beside the QA disagreement rate.
--
-- moderator_clause: the reviewed decision's clause ('none' for a decision without one), NULL
-- while that decision has not arrived. reviewer_clause: the same when the reviewer agrees,
-- else the correct_clause_id the reviewer named, NULL when they named none.
CREATE TABLE insights.qa_review_facts (
    escalation_id     text        NOT NULL,
    review_event_id   text        NOT NULL,
    created_at        timestamptz NOT NULL,
    reviewed_at       timestamptz NOT NULL,
    area              text        NOT NULL,
    clause_id         text        NOT NULL,
    region            text        NOT NULL,
    language          text        NOT NULL,
    product_feature   text        NOT NULL,
    queue             text,
    escalation_reason text        NOT NULL,
    decision_id       text        NOT NULL,
    moderator_id      text,
    reviewer_id       text        NOT NULL,
    agrees            boolean     NOT NULL,
    moderator_clause  text,
    reviewer_clause   text,
    PRIMARY KEY (escalation_id, review_event_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX qa_review_facts_created_idx ON insights.qa_review_facts (created_at);

-- Its monthly partitions come and go with the event log's (retention drops them together).
CREATE OR REPLACE FUNCTION insights.ensure_month_partitions(at_time timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamp := date_trunc('month', at_time AT TIME ZONE 'UTC');
    lo timestamptz := month_start AT TIME ZONE 'UTC';
    hi timestamptz := (month_start + interval '1 month') AT TIME ZONE 'UTC';
    suffix text := to_char(month_start, 'YYYY_MM');
    parent text;
BEGIN
    FOREACH parent IN ARRAY ARRAY['event_log', 'escalation_facts', 'rollup_hour',
                                  'qa_review_facts'] LOOP
        IF to_regclass(format('insights.%I', parent || '_' || suffix)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE insights.%I PARTITION OF insights.%I FOR VALUES FROM (%L) TO (%L)',
                parent || '_' || suffix, parent, lo, hi);
        END IF;
    END LOOP;
END $$;

-- The months that already have partitions get this table's.
SELECT insights.ensure_month_partitions(
    (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz)
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE n.nspname = 'insights' AND p.relname = 'event_log';

-- The reviews already in the event log get their rows by a rebuild before the consumer starts.
INSERT INTO insights.pending_rebuilds (name) VALUES ('qa_review_facts') ON CONFLICT DO NOTHING;
