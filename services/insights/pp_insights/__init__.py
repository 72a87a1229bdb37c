"""PolicyPulse insights: facts, rollups and the metrics policy managers query."""
