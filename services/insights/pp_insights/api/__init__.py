"""HTTP adapter of insights: the query API under ``/v1/insights`` (``routes``) and its typed
query parameters (``params``). The alerts wing has its own (``alerts.api``)."""
