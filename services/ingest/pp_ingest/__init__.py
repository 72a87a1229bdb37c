"""PolicyPulse ingest: validation, idempotent storage of the canonical event log, dead letters."""
