"""Breaches: rule evaluation over the hourly rollups, the breach lifecycle and the outbox rows
each change writes, and what the ``/v1/breaches`` routes do (detail, acknowledgements,
silences)."""
