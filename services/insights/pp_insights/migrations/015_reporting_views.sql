-- What Grafana reads: read-only views in a schema of their own, so dashboards never depend on
-- insights' tables (which change with every performance fix), and a role that can read these
-- views and nothing else. Dashboards: deploy/grafana/dashboards/policy-insights.json and
-- breaches.json; services/insights/tests/test_reporting.py holds their queries equal to the
-- query API.
CREATE SCHEMA IF NOT EXISTS reporting;

-- Rollup counters per bucket and dimensions, hourly and daily (grain 'hour' or 'day'; weeks
-- are summed from days). Numerators and denominators only: sum them over any buckets and
-- dimensions, then divide. A filter on grain reads one rollup table only.
CREATE VIEW reporting.policy_rollup AS
SELECT 'hour'::text AS grain, bucket, area, clause_id, region, language, product_feature, queue,
       escalation_reason, volume, policy_unclear, decided, appeals_resolved, appeals_overturned,
       qa_reviews, qa_disagreements, tag_agreed, latency_bins, latency_counts
FROM insights.rollup_hour
UNION ALL
SELECT 'day'::text, bucket, area, clause_id, region, language, product_feature, queue,
       escalation_reason, volume, policy_unclear, decided, appeals_resolved, appeals_overturned,
       qa_reviews, qa_disagreements, tag_agreed, latency_bins, latency_counts
FROM insights.rollup_day;

COMMENT ON VIEW reporting.policy_rollup IS
    'Escalations per bucket (grain hour or day) and dimensions: counters of DOMAIN.md metrics'
    ' (volume, policy_unclear, decided, appeals_resolved, appeals_overturned, qa_reviews,'
    ' qa_disagreements, tag_agreed) and the decision latency histogram as non-empty bins'
    ' (latency_bins, ascending) with their counts (latency_counts); see'
    ' reporting.latency_quantile. Decisions, appeals and QA reviews count in the bucket and'
    ' dimensions of their escalation.';

-- Breaches of threshold rules with their rule's name and metric. Acknowledgement is measured
-- from firing (or opening, for a breach acknowledged before it fired) and never negative.
CREATE VIEW reporting.breaches AS
SELECT b.breach_id,
       b.rule_id,
       r.spec ->> 'name' AS rule_name,
       r.spec ->> 'metric' AS metric,
       b.rule_version,
       b.severity,
       b.state,
       coalesce(b.scope -> 'group' ->> 'area',
                CASE WHEN jsonb_array_length(b.scope -> 'filters' -> 'area') = 1
                     THEN b.scope -> 'filters' -> 'area' ->> 0 END) AS area,
       coalesce(b.scope -> 'group' ->> 'clause_id',
                CASE WHEN jsonb_array_length(b.scope -> 'filters' -> 'clause_id') = 1
                     THEN b.scope -> 'filters' -> 'clause_id' ->> 0 END) AS clause_id,
       b.scope,
       b.opened_at,
       b.firing_at,
       b.resolved_at,
       b.resolved_reason,
       b.acknowledged_at,
       b.silenced_until,
       greatest(0, extract(epoch FROM b.acknowledged_at - coalesce(b.firing_at, b.opened_at)))
           ::double precision AS seconds_to_acknowledge
FROM insights.breaches b
LEFT JOIN insights.alert_rules r USING (rule_id);

COMMENT ON VIEW reporting.breaches IS
    'Breaches of threshold rules (state pending, firing or resolved), with area and clause when'
    ' the breach is about one, and seconds from firing to acknowledgement.';

-- The UTC hour, day or ISO week (from Monday) that holds ts, as the query API buckets it.
CREATE FUNCTION reporting.bucket_start(ts timestamptz, step text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_trunc(step, ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

-- The first bucket boundary at or after ts (the query API answers whole buckets).
CREATE FUNCTION reporting.bucket_end(ts timestamptz, step text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN date_trunc(step, ts AT TIME ZONE 'UTC') = ts AT TIME ZONE 'UTC' THEN ts
                ELSE (date_trunc(step, ts AT TIME ZONE 'UTC') + ('1 ' || step)::interval)
                     AT TIME ZONE 'UTC' END
$$;

-- The rollup a comparison of [start, stop) reads, as the query API's cards choose it: the
-- daily one when both bounds, widened to whole hours, fall on UTC midnights.
CREATE FUNCTION reporting.range_grain(start timestamptz, stop timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN reporting.bucket_start(start, 'hour') = reporting.bucket_start(start, 'day')
                 AND reporting.bucket_end(stop, 'hour') = reporting.bucket_start(stop, 'day')
                THEN 'day' ELSE 'hour' END
$$;

-- A quantile of decision latency in seconds from summed histogram bins, exactly as the query
-- API computes it (pp_insights.metrics_def.LogHistogram.quantile: bin 0 is [0, 1 s), bin i
-- [1.25^(i-1), 1.25^i), bin 68 from 1.25^67 on; geometric interpolation inside a bin).
-- bins ascending, each with its count; NULL without any count.
CREATE FUNCTION reporting.latency_quantile(bins smallint[], counts bigint[], q double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    last_bin CONSTANT integer := 68;
    ratio CONSTANT double precision := 1.25;
    total bigint;
    target double precision;
    below bigint := 0;
    fraction double precision;
    b integer;
    c bigint;
BEGIN
    SELECT sum(x) INTO total FROM unnest(counts) AS x;
    IF total IS NULL OR total = 0 THEN
        RETURN NULL;
    END IF;
    target := q * total;
    FOR i IN 1 .. coalesce(array_length(bins, 1), 0) LOOP
        b := bins[i];
        c := counts[i];
        IF c > 0 AND below + c >= target THEN
            fraction := (target - below) / c;
            IF b = 0 THEN
                RETURN fraction;
            ELSIF b >= last_bin THEN
                RETURN power(ratio, last_bin - 1);
            END IF;
            RETURN power(ratio, b - 1) * power(power(ratio, b) / power(ratio, b - 1), fraction);
        END IF;
        below := below + c;
    END LOOP;
    RETURN power(ratio, last_bin - 1);
END
$$;

-- The role Grafana's data source logs in as is a member of pp_reporting (its password is set
-- where it is created, by deploy/postgres/init on a new database, or by the operator). The
-- service's own role may lack CREATEROLE (a managed Postgres): then an operator creates
-- pp_reporting and runs the grants below.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pp_reporting') THEN
        BEGIN
            CREATE ROLE pp_reporting NOLOGIN;
        EXCEPTION
            WHEN duplicate_object THEN NULL;  -- another database's migration made it meanwhile
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'pp_reporting not created: % may not create roles', current_user;
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pp_reporting') THEN
        GRANT USAGE ON SCHEMA reporting TO pp_reporting;
        GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO pp_reporting;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reporting TO pp_reporting;
        ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO pp_reporting;
    END IF;
END
$$;
