"""The HTTP adapter of ingest: each route reads the request, calls the domain and shapes the
answer.

- ``POST /v1/events``: :mod:`~pp_ingest.api.fastpath` (before routing; documented in
  :mod:`~pp_ingest.api.events`)
- ``POST /v1/events:batch``: :mod:`~pp_ingest.api.events`
- ``POST /v1/imports/dsa``: :mod:`~pp_ingest.api.imports`
- ``/v1/dead-letters`` (list, get, replay): :mod:`~pp_ingest.api.dead_letters`
- ``GET /v1/conflicts``: :mod:`~pp_ingest.api.conflicts`
"""

from pp_ingest.api import conflicts, dead_letters, events, imports

ROUTERS = (events.router, imports.router, dead_letters.router, conflicts.router)
"""In the order the app includes them (and its OpenAPI lists them)."""
