"""PolicyPulse classifier: maps each escalation to high-harm policy clauses."""
