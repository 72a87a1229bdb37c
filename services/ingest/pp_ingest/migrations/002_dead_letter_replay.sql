-- Dead letters can be replayed to the raw topic; replayed_at says when it last happened.
ALTER TABLE ingest.dead_letters ADD COLUMN replayed_at timestamptz;

-- Headers become {key, value, encoding} objects, so a value that is not UTF-8 is kept
-- byte for byte (base64) and a replay writes back exactly what was received. Rows stored
-- before held [key, text] pairs.
UPDATE ingest.dead_letters
SET headers = (
    SELECT coalesce(
        jsonb_agg(
            jsonb_build_object('key', h ->> 0, 'value', h ->> 1, 'encoding', 'utf-8')
            ORDER BY n
        ),
        '[]'::jsonb
    )
    FROM jsonb_array_elements(headers) WITH ORDINALITY AS e(h, n)
)
WHERE jsonb_typeof(headers -> 0) = 'array';

-- The list API pages by id, filtered by reason, by time, or by whether a row was replayed.
CREATE INDEX dead_letters_reason_idx ON ingest.dead_letters (reason, id);
CREATE INDEX dead_letters_received_idx ON ingest.dead_letters (received_at, id);
CREATE INDEX dead_letters_unreplayed_idx ON ingest.dead_letters (id) WHERE replayed_at IS NULL;
