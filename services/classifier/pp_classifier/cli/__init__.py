"""The classifier's ``policypulse`` sub-commands (entry points in the service's pyproject)."""
