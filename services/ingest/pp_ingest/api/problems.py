"""The answers of domain errors that do not carry an HTTP status: a dependency that did not
answer in time is a 503 with Retry-After, the same on every route (the fast path's included),
and its OpenAPI description."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from pp_ingest.errors import DependencyUnavailable
from pp_ingest.settings import IngestSettings
from pp_shared.problems import Unavailable

PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body or batch over the limit (10 MiB, 10,000 events)."},
    422: {"description": "Not JSON / not UTF-8, or (single event) not a valid event."},
    503: {"description": "The broker did not acknowledge in time; retry after Retry-After."},
}
"""The error answers of the routes that take events, for their OpenAPI."""


def unavailable(exc: DependencyUnavailable, settings: IngestSettings) -> Unavailable:
    """The 503 problem for ``exc``: send the same request again after Retry-After."""
    return Unavailable(
        exc.detail,
        headers={"Retry-After": str(settings.retry_after_seconds)},
        extra={"reason": exc.reason},
    )


def install_unavailable_handler(app: FastAPI, settings: IngestSettings) -> None:
    """Answer DependencyUnavailable from any route with :func:`unavailable`."""

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DependencyUnavailable)
        return unavailable(exc, settings).response(request.url.path)

    app.add_exception_handler(DependencyUnavailable, on_unavailable)
