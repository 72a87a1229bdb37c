"""Launches (policy changes with a time and a scope) and their measured impact."""
