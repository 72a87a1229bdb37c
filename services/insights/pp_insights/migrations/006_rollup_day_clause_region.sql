-- A coarse daily cube: rollup_day summed over language, product feature, queue and
-- escalation reason. Keyed by all seven dimensions, rollup_day holds nearly a row per
-- escalation; this one holds at most one per day, clause and region, and answers every
-- query whose filters, groups and dimensions are only area, clause and region. Like
-- rollup_day it is never partitioned and kept whole by retention.
CREATE TABLE insights.rollup_day_clause_region (
    bucket             timestamptz NOT NULL,
    area               text        NOT NULL,
    clause_id          text        NOT NULL,
    region             text        NOT NULL,
    volume             bigint      NOT NULL,
    policy_unclear     bigint      NOT NULL,
    decided            bigint      NOT NULL,
    appeals_resolved   bigint      NOT NULL,
    appeals_overturned bigint      NOT NULL,
    qa_reviews         bigint      NOT NULL,
    qa_disagreements   bigint      NOT NULL,
    tag_agreed         bigint      NOT NULL,
    latency_hist       bigint[]    NOT NULL,
    latency_bins       smallint[]  NOT NULL,
    latency_counts     bigint[]    NOT NULL,
    PRIMARY KEY (bucket, area, clause_id, region)
);

WITH bins AS (
    SELECT r.bucket, r.area, r.clause_id, r.region, u.b, sum(u.c)::bigint AS c
    FROM insights.rollup_day r, unnest(r.latency_bins, r.latency_counts) AS u(b, c)
    GROUP BY 1, 2, 3, 4, 5
),
hist AS (
    SELECT bucket, area, clause_id, region, array_agg(b ORDER BY b) AS bins,
           array_agg(c ORDER BY b) AS counts
    FROM bins GROUP BY 1, 2, 3, 4
),
totals AS (
    SELECT bucket, area, clause_id, region, sum(volume)::bigint AS volume,
           sum(policy_unclear)::bigint AS policy_unclear, sum(decided)::bigint AS decided,
           sum(appeals_resolved)::bigint AS appeals_resolved,
           sum(appeals_overturned)::bigint AS appeals_overturned,
           sum(qa_reviews)::bigint AS qa_reviews, sum(qa_disagreements)::bigint AS qa_disagreements,
           sum(tag_agreed)::bigint AS tag_agreed,
           max(cardinality(latency_hist)) AS bins_total
    FROM insights.rollup_day GROUP BY 1, 2, 3, 4
)
INSERT INTO insights.rollup_day_clause_region
SELECT t.bucket, t.area, t.clause_id, t.region, t.volume, t.policy_unclear, t.decided,
       t.appeals_resolved, t.appeals_overturned, t.qa_reviews, t.qa_disagreements, t.tag_agreed,
       insights.dense_histogram(h.bins, h.counts, t.bins_total),
       coalesce(h.bins, '{}'), coalesce(h.counts, '{}')
FROM totals t LEFT JOIN hist h USING (bucket, area, clause_id, region);
