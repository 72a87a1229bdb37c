-- Readers sum the sparse latency bins (latency_bins, latency_counts) since 005; the dense
-- 69-bin latency_hist was still written beside them and made every rollup row about twice
-- as wide, so scans of the counters read twice the pages. The dense form is built from the
-- sparse one where an answer needs it (insights.dense_histogram). Rows written before keep
-- the dropped column's bytes until they are next rewritten (refreshes replace rows; VACUUM
-- FULL reclaims the space at once).
ALTER TABLE insights.rollup_hour DROP COLUMN latency_hist;
ALTER TABLE insights.rollup_day DROP COLUMN latency_hist;
ALTER TABLE insights.rollup_day_clause_region DROP COLUMN latency_hist;
