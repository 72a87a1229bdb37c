"""HTTP intake of events: validate each event, answer duplicates and conflicts from the event
log, seal what was validated, and hand the rest to the raw topic (single events, batches and
the events a DSA import maps statements to)."""
