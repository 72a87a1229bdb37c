"""The canonical event log (``ingest.events``, ``ingest.conflicts``): the bytes an event is
stored and published as, the hash that tells a duplicate from a conflict, and the SQL over
both tables. Intake reads it to answer duplicates; the raw-topic consumer writes it."""
