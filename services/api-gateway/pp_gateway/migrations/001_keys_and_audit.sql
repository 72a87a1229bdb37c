-- API keys: stored as the SHA-256 of the key (256 random bits: a fast hash is the right one),
-- found by their public prefix. Never deleted: a revoked key keeps its row, so the audit log's
-- prefixes always name a key.
CREATE TABLE gateway.api_keys (
    key_id        bigserial   PRIMARY KEY,
    prefix        text        NOT NULL UNIQUE,
    key_hash      bytea       NOT NULL,
    name          text        NOT NULL,
    owner         text        NOT NULL,
    role          text        NOT NULL
        CHECK (role IN ('ingest', 'analyst', 'policy_admin', 'calibration_lead', 'admin')),
    areas         text[],
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    revoked_by    text
);

-- Append-only: every mutating request and every denied one. Rows are never changed or
-- deleted (the trigger refuses it); retention, if ever, is a partition drop by an operator.
-- Event submissions (data, kept whole with their ids in ingest's event log) are one row per
-- key, route, status and minute, with their number in "requests"; every other change and
-- every refusal is a row of its own (requests = 1).
CREATE TABLE gateway.audit_log (
    entry_id      bigserial   PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor         text,
    key_prefix    text,
    role          text,
    method        text        NOT NULL,
    path          text        NOT NULL,
    route         text,
    target        text,
    status        integer     NOT NULL,
    outcome       text        NOT NULL,
    reason        text,
    requests      integer     NOT NULL DEFAULT 1 CHECK (requests >= 1)
);
CREATE INDEX audit_log_at ON gateway.audit_log (at DESC);
CREATE INDEX audit_log_actor_at ON gateway.audit_log (actor, at DESC);

CREATE FUNCTION gateway.audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gateway.audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON gateway.audit_log
    FOR EACH ROW EXECUTE FUNCTION gateway.audit_log_is_append_only();
CREATE TRIGGER audit_log_not_truncated
    BEFORE TRUNCATE ON gateway.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION gateway.audit_log_is_append_only();
