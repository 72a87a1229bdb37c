-- Threshold rules, their breaches and the alert outbox. Rules are versioned data: every
-- change is a new row in alert_rule_versions, alert_rules holds the current one.
CREATE TABLE insights.alert_rules (
    rule_id    text PRIMARY KEY,
    version    integer     NOT NULL,
    spec       jsonb       NOT NULL,
    enabled    boolean     NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL,
    updated_by text        NOT NULL
);

CREATE TABLE insights.alert_rule_versions (
    rule_id    text        NOT NULL,
    version    integer     NOT NULL,
    spec       jsonb       NOT NULL,
    deleted    boolean     NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by text        NOT NULL,
    PRIMARY KEY (rule_id, version)
);

-- The health of each channel of a rule as the sender last saw it: bad configuration
-- (an invalid, unreachable or refused target) shows here and in the metrics.
CREATE TABLE insights.alert_channel_status (
    rule_id       text        NOT NULL,
    channel       text        NOT NULL,
    last_ok_at    timestamptz,
    last_error_at timestamptz,
    last_error    text,
    failures      integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_id, channel)
);

CREATE TABLE insights.breaches (
    breach_id          bigserial PRIMARY KEY,
    rule_id            text        NOT NULL,
    rule_version       integer     NOT NULL,
    fingerprint        text        NOT NULL,
    scope              jsonb       NOT NULL,
    state              text        NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity           text        NOT NULL,
    opened_at          timestamptz NOT NULL,
    firing_at          timestamptz,
    resolved_at        timestamptz,
    resolved_reason    text,
    last_breaching_at  timestamptz NOT NULL,
    last_evaluated_at  timestamptz NOT NULL,
    evidence           jsonb       NOT NULL,
    peak_evidence      jsonb       NOT NULL,
    firing_notified    boolean     NOT NULL DEFAULT false,
    acknowledged_at    timestamptz,
    acknowledged_by    text,
    silenced_until     timestamptz,
    silence_reason     text,
    silenced_by        text
);
-- At most one open breach per rule and scope: a breach that fires again while open is the
-- same breach.
CREATE UNIQUE INDEX breaches_open_idx ON insights.breaches (rule_id, fingerprint)
    WHERE state <> 'resolved';
CREATE INDEX breaches_state_idx ON insights.breaches (state, opened_at DESC);

CREATE TABLE insights.breach_events (
    event_id  bigserial PRIMARY KEY,
    breach_id bigint      NOT NULL REFERENCES insights.breaches,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL,
    actor     text        NOT NULL,
    detail    jsonb       NOT NULL
);
CREATE INDEX breach_events_breach_idx ON insights.breach_events (breach_id, event_id);

-- Written in the same transaction as the breach change it announces; the sender delivers
-- each row once, in id order per breach and channel.
CREATE TABLE insights.alert_outbox (
    outbox_id       bigserial PRIMARY KEY,
    breach_id       bigint      NOT NULL REFERENCES insights.breaches,
    rule_id         text        NOT NULL,
    channel         text        NOT NULL,
    channel_type    text        NOT NULL,
    transition      text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    last_error      text,
    progress        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_outbox_due_idx ON insights.alert_outbox (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX alert_outbox_breach_idx ON insights.alert_outbox (breach_id, channel, outbox_id);

CREATE TABLE insights.alert_delivery_attempts (
    attempt_id    bigserial PRIMARY KEY,
    outbox_id     bigint      NOT NULL REFERENCES insights.alert_outbox,
    at            timestamptz NOT NULL,
    outcome       text        NOT NULL,
    status_code   integer,
    error         text,
    retry_after_s double precision
);
CREATE INDEX alert_delivery_attempts_outbox_idx
    ON insights.alert_delivery_attempts (outbox_id, attempt_id);
