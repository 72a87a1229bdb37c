"""Which upstream owns which public path."""

from __future__ import annotations

from pp_gateway.settings import GatewaySettings

# First path segment after /v1 -> upstream service.
ROUTES: dict[str, str] = {
    "events": "ingest",
    "events:batch": "ingest",
    "dead-letters": "ingest",
    "imports": "ingest",
    "taxonomy": "classifier",
    "classifier": "classifier",
    "models": "classifier",
    "insights": "insights",
    "rules": "insights",
    "breaches": "insights",
}


def upstream_for(settings: GatewaySettings, path: str) -> str | None:
    """The base URL of the service that serves ``/v1/<path>``, or None when none does."""
    head = path.split("/", 1)[0]
    service = ROUTES.get(head)
    if service is None:
        return None
    base: str = getattr(settings, f"{service}_url")
    return base.rstrip("/")
