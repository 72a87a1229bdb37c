-- Rollup rows are kept by applying each batch's change to them (the facts it removed
-- subtracted, the facts it wrote added) instead of being recomputed from all their facts.
-- This adds a change to a row's sparse latency histogram: both sides are ascending bins with
-- their counts; the sum keeps only bins whose count is not zero, so that a row's form stays
-- the one a recomputation would give.
--
-- A change holds a bin or two, a row up to about forty: each changed bin is found with
-- array_position and its count changed in place. (A merge walking both arrays in PL/pgSQL
-- cost 26 us per 40-bin row against 3.5 us for a 2-bin one.)
CREATE FUNCTION insights.sparse_add(
    bins smallint[], counts bigint[], delta_bins smallint[], delta_counts bigint[],
    OUT sum_bins smallint[], OUT sum_counts bigint[]
)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k integer;
    pos integer;
    b smallint;
    c bigint;
BEGIN
    sum_bins := coalesce(bins, '{}');
    sum_counts := coalesce(counts, '{}');
    FOR k IN 1 .. coalesce(cardinality(delta_bins), 0) LOOP
        b := delta_bins[k];
        c := delta_counts[k];
        pos := array_position(sum_bins, b);
        IF pos IS NOT NULL THEN
            IF sum_counts[pos] + c = 0 THEN
                sum_bins := sum_bins[:pos - 1] || sum_bins[pos + 1:];
                sum_counts := sum_counts[:pos - 1] || sum_counts[pos + 1:];
            ELSE
                sum_counts[pos] := sum_counts[pos] + c;
            END IF;
        ELSIF c <> 0 THEN
            pos := 1;
            WHILE pos <= cardinality(sum_bins) AND sum_bins[pos] < b LOOP
                pos := pos + 1;
            END LOOP;
            sum_bins := sum_bins[:pos - 1] || b || sum_bins[pos:];
            sum_counts := sum_counts[:pos - 1] || c || sum_counts[pos:];
        END IF;
    END LOOP;
END $$;
