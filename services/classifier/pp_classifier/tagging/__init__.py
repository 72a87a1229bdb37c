"""Tagging escalations with policy clauses: text normalisation, lexicon rules, the layers
(rules, then the model) a batch is tagged with, and the tags stored per event."""
