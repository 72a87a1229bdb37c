"""RED metrics of a service's HTTP requests (rate, errors, duration), from one plain ASGI
middleware that every service adds in ``create_app``.

Labels stay low-cardinality: the route *template* (``/v1/rules/{rule_id}``, never the path
with its ids), the method (unknown methods as ``other``), the status code; a request that
matched no route is ``unmatched``. Paths answered before FastAPI's routing (the gateway's
relay) have no route in the scope; ``route_of`` names their template.

Ingest keeps its own ``pp_ingest_http_request_seconds`` (``pp_ingest.metrics``): its
single-event POST is answered before any middleware, and the recording rules in
``deploy/prometheus/rules`` join both families under one ``service`` label.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Those of ``pp_ingest_http_request_seconds``, so latency quantiles join across services."""

REQUESTS = Counter(
    "pp_http_requests_total",
    "HTTP requests answered, by service, method, route template and status code.",
    ["service", "method", "route", "status"],
)
DURATION = Histogram(
    "pp_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by service, method and route "
    "template.",
    ["service", "method", "route"],
    buckets=BUCKETS,
)

RouteOf = Callable[[Scope], "str | None"]
"""The route template of a request that FastAPI's router did not see, or None."""
_Children = tuple[Callable[[], None], Callable[[float], None]]


class HttpMetrics:
    """Counts and times every HTTP request under its route template. Add it last in
    ``create_app`` so that it runs first and sees every answer, errors included."""

    def __init__(self, app: ASGIApp, *, service: str, route_of: RouteOf | None = None) -> None:
        self.app = app
        self.service = service
        self.route_of = route_of
        # (method, route, status) -> the children's update methods, looked up once:
        # labels() costs more than both updates together.
        self._children: dict[tuple[str, str, int], _Children] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.observe(scope, status, time.perf_counter() - started)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:
            method = OTHER_METHOD
        key = (method, self.route(scope), status)
        children = self._children.get(key)
        if children is None:
            counter = REQUESTS.labels(self.service, method, key[1], str(status))
            histogram = DURATION.labels(self.service, method, key[1])
            children = self._children[key] = (counter.inc, histogram.observe)
        count, time_it = children
        count()
        time_it(seconds)

    def route(self, scope: Scope) -> str:
        template: str | None = getattr(scope.get("route"), "path", None)
        if template is None and self.route_of is not None:
            template = self.route_of(scope)
        return template or UNMATCHED
