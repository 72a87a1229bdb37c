"""Contracts: what producers and consumers agree on (the wire format of events, the
breach message, topic names, JSON Schemas, the DSA statement-of-reasons model)."""
