-- The event log's key starts with the escalation: a batch's events belong to escalations
-- created around the same time, so their key entries land on a few recent index pages,
-- where random event ids scattered every insert over the whole index (at 21 million events,
-- far beyond shared buffers). The same index serves the facts refresh, which reads all the
-- events of the batch's escalations, so the separate escalation_id index goes.
--
-- Upstream, ingest stores each event id once with one body, so an event id always comes
-- with the same escalation and occurred_at, and (escalation_id, event_id, occurred_at)
-- dedupes exactly what event_id did.
ALTER TABLE insights.event_log DROP CONSTRAINT event_log_pkey;
ALTER TABLE insights.event_log ADD PRIMARY KEY (escalation_id, event_id, occurred_at);
DROP INDEX insights.event_log_escalation_idx;
