-- Most rollup rows hold one or two escalations, so their 69-bin latency histogram is nearly
-- all zeros, and summing histograms over many rows spent its time unnesting zeros (a 30-day
-- area card unnests millions of them). Each row also keeps its non-empty bins, ascending,
-- with their counts; readers sum those. latency_hist stays the dense form of the same counts.
ALTER TABLE insights.rollup_hour
    ADD COLUMN latency_bins smallint[] NOT NULL DEFAULT '{}',
    ADD COLUMN latency_counts bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE insights.rollup_day
    ADD COLUMN latency_bins smallint[] NOT NULL DEFAULT '{}',
    ADD COLUMN latency_counts bigint[] NOT NULL DEFAULT '{}';

UPDATE insights.rollup_hour r
SET latency_bins = s.bins, latency_counts = s.counts
FROM insights.rollup_hour x
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg((u.i - 1)::smallint ORDER BY u.i), '{}') AS bins,
           coalesce(array_agg(u.c ORDER BY u.i), '{}') AS counts
    FROM unnest(x.latency_hist) WITH ORDINALITY AS u(c, i) WHERE u.c > 0
) s
WHERE (r.bucket, r.area, r.clause_id, r.region, r.language, r.product_feature, r.queue,
       r.escalation_reason)
    = (x.bucket, x.area, x.clause_id, x.region, x.language, x.product_feature, x.queue,
       x.escalation_reason)
  AND x.decided > 0;

UPDATE insights.rollup_day r
SET latency_bins = s.bins, latency_counts = s.counts
FROM insights.rollup_day x
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg((u.i - 1)::smallint ORDER BY u.i), '{}') AS bins,
           coalesce(array_agg(u.c ORDER BY u.i), '{}') AS counts
    FROM unnest(x.latency_hist) WITH ORDINALITY AS u(c, i) WHERE u.c > 0
) s
WHERE (r.bucket, r.area, r.clause_id, r.region, r.language, r.product_feature, r.queue,
       r.escalation_reason)
    = (x.bucket, x.area, x.clause_id, x.region, x.language, x.product_feature, x.queue,
       x.escalation_reason)
  AND x.decided > 0;
