-- Facts and rollups are derived from event_log and recomputed from it, so the first tables
-- (which only grew) give way to ones that hold every metric's numerator and denominator.
-- Dropping them makes a replica of the previous version fail its batches instead of
-- committing offsets for events the new tables would never see.
DROP TABLE insights.rollup_hourly;
DROP TABLE insights.escalations;

-- One row per escalation with its latest state, recomputed from event_log whenever an event
-- of the escalation arrives. Escalations whose escalation.created has not arrived yet have no
-- row; their other events wait in event_log.
CREATE TABLE insights.escalation_facts (
    escalation_id           text PRIMARY KEY,
    created_event_id        text        NOT NULL,
    created_at              timestamptz NOT NULL,
    area                    text        NOT NULL,
    clause_id               text        NOT NULL,
    region                  text        NOT NULL,
    language                text        NOT NULL,
    product_feature         text        NOT NULL,
    queue                   text,
    escalation_reason       text        NOT NULL,
    reporter_type           text        NOT NULL,
    content_type            text        NOT NULL,
    severity                smallint,
    taxonomy_version        text,
    decisions               integer     NOT NULL,
    first_decision_id       text,
    first_decision_at       timestamptz,
    first_action            text,
    first_clause_id         text,
    final_decision_id       text,
    final_decision_at       timestamptz,
    final_action            text,
    final_clause_id         text,
    decision_latency_s      double precision,
    appeals_resolved        integer     NOT NULL,
    appeals_overturned      integer     NOT NULL,
    qa_reviews              integer     NOT NULL,
    qa_disagreements        integer     NOT NULL,
    tag_agrees              boolean,
    refreshed_at            timestamptz NOT NULL DEFAULT now()
);
-- Rollup refreshes find the facts of one (bucket, dimensions) key through this index.
CREATE INDEX escalation_facts_key_idx ON insights.escalation_facts
    (clause_id, region, language, product_feature, escalation_reason, created_at);
CREATE INDEX escalation_facts_created_idx ON insights.escalation_facts (created_at);

-- Numerators and denominators per bucket and dimension key; never rates. A row exists only
-- while at least one escalation belongs to its key. queue '' stands for "no queue".
CREATE TABLE insights.rollup_hour (
    bucket             timestamptz NOT NULL,
    area               text        NOT NULL,
    clause_id          text        NOT NULL,
    region             text        NOT NULL,
    language           text        NOT NULL,
    product_feature    text        NOT NULL,
    queue              text        NOT NULL,
    escalation_reason  text        NOT NULL,
    volume             bigint      NOT NULL,
    policy_unclear     bigint      NOT NULL,
    decided            bigint      NOT NULL,
    appeals_resolved   bigint      NOT NULL,
    appeals_overturned bigint      NOT NULL,
    qa_reviews         bigint      NOT NULL,
    qa_disagreements   bigint      NOT NULL,
    tag_agreed         bigint      NOT NULL,
    latency_hist       bigint[]    NOT NULL,
    PRIMARY KEY (bucket, area, clause_id, region, language, product_feature, queue,
                 escalation_reason)
);

CREATE TABLE insights.rollup_day (LIKE insights.rollup_hour INCLUDING ALL);

-- Work that must finish before the consumer starts; a migration that changes how facts or
-- rollups are derived asks for a rebuild from event_log here.
CREATE TABLE insights.pending_rebuilds (
    name         text PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO insights.pending_rebuilds (name) VALUES ('facts_and_rollups');
