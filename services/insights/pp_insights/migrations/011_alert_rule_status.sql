-- The last evaluation of each rule, so that "is my rule working?" has an answer on the rule
-- itself: when it ran, how many groups it judged and how, or the error that stopped it.
CREATE TABLE insights.alert_rule_status (
    rule_id          text PRIMARY KEY,
    evaluated_at     timestamptz NOT NULL,
    rule_version     integer     NOT NULL,
    outcomes         jsonb       NOT NULL,
    error            text,
    error_at         timestamptz
);
