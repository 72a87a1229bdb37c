"""Ingest's dead letters, over the shared store (``pp_shared.dead_letters``): raw messages
that could not be decoded or validated, listed and replayed to the raw topic."""
