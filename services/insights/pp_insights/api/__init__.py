"""HTTP adapter of insights: the query API under ``/v1/insights`` (``routes``). The alerts
wing has its own (``alerts.api``)."""
