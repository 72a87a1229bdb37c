-- QA verdicts: a reviewer who disagrees with a decision and names the correct clause gives
-- the strongest label there is; training prefers it to the decision's clause. The latest
-- review per escalation counts (one that agrees leaves the decision's clause in force).
CREATE TABLE classifier.qa_labels (
    escalation_id text PRIMARY KEY,
    decision_id   text        NOT NULL,
    agrees        boolean     NOT NULL,
    clause_id     text,
    reviewed_at   timestamptz NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX qa_labels_stored_idx ON classifier.qa_labels (stored_at);
