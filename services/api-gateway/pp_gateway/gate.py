"""What the relay keeps for the life of the gateway (the guard, a breaker per service, the
audit writer, the identity secret) and what it notes of each request (:class:`Call`): its
caller, route and answer, counted in the gateway's metrics and written to the audit log."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter, Histogram
from starlette.types import Message, Scope, Send

from pp_gateway.access import SERVICES, Route
from pp_gateway.audit.writer import SUBMISSIONS, AuditWriter, Entry
from pp_gateway.guard import Guard
from pp_gateway.limits import Breaker
from pp_gateway.settings import GatewaySettings
from pp_shared.identity import Identity, identity_headers
from pp_shared.problems import ProblemError

ROUTE_KEY = "pp.route"
"""Where the relay leaves the route template of a /v1 request in its scope, for the shared
HTTP metrics."""
IDENTITY_STATE = "pp_identity"
"""Where the caller of a route the gateway answers itself is kept in the request's state (the
key :func:`pp_shared.identity.caller` reads)."""
READS = frozenset({"GET", "HEAD", "OPTIONS"})
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "pp_gateway_requests",
    "Public /v1 requests by route template, method, answer status and the caller's role.",
    ["route", "method", "status", "role"],
)
LATENCY = Histogram(
    "pp_gateway_request_duration_seconds",
    "Time from a /v1 request's arrival at the gateway to its answer, by route and role.",
    ["route", "role"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DENIED = Counter(
    "pp_gateway_denied",
    "Requests refused by the gateway's checks, by reason (missing key, invalid key, role, "
    "area, rate, no route, method not allowed, bad path, circuit open).",
    ["reason"],
)


def body_limit(route: Route, settings: GatewaySettings) -> int:
    """The largest body a route takes: imports and batches up to ``max_body_bytes``, any
    other route a 1 MiB document."""
    if route.path in ("/v1/events:batch", "/v1/imports/dsa"):
        return settings.max_body_bytes
    return min(settings.max_body_bytes, 1024 * 1024)


@dataclass(slots=True)
class Call:
    scope: Scope
    raw: bytes
    started: float = field(default_factory=time.perf_counter)
    identity: Identity | None = None
    route: Route | None = None
    status: int = 500
    denial: str | None = None

    def denied(self, problem: ProblemError, reason: str) -> ProblemError:
        self.status = problem.status_code
        self.denial = reason
        return problem

    def failed(self, problem: ProblemError) -> None:
        self.status = problem.status_code

    def watch(self, send: Send) -> Send:
        """``send``, noting the status of an answer the gateway's own routes give."""

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            await send(message)

        return noting


class Gate:
    def __init__(
        self,
        settings: GatewaySettings,
        guard: Guard,
        audit: AuditWriter | None,
    ) -> None:
        self.settings = settings
        self.guard = guard
        self.audit = audit
        secret = settings.gateway_secret
        self.secret = secret.get_secret_value().encode() if secret is not None else None
        self.breakers = {
            name: Breaker(settings.breaker_failures, settings.breaker_cooldown_seconds)
            for name in SERVICES
        }
        self._signed: dict[
            tuple[Identity, str, bytes, bytes], tuple[int, list[tuple[str, str]]]
        ] = {}
        self._children: dict[
            tuple[str, str, int, str], tuple[Callable[[], None], Callable[[float], None]]
        ] = {}

    def signed(
        self, identity: Identity, method: str, raw: bytes, query: bytes
    ) -> list[tuple[str, str]]:
        """The identity headers of a relayed request, signed once a second per caller, method,
        path and query (an upstream tool sends thousands of the same a second)."""
        assert self.secret is not None
        now = int(time.time())
        key = (identity, method, raw, query)
        hit = self._signed.get(key)
        if hit is not None and hit[0] == now:
            return hit[1]
        headers = [
            (name.decode("ascii"), value.decode("ascii"))
            for name, value in identity_headers(self.secret, identity, method, raw, now, query)
        ]
        if len(self._signed) >= 4096:
            self._signed.clear()
        self._signed[key] = (now, headers)
        return headers

    def finish(self, call: Call) -> None:
        route = call.route.path if call.route is not None else UNMATCHED
        role = call.identity.role if call.identity is not None else "none"
        method = call.scope["method"]
        key = (route, method, call.status, role)
        children = self._children.get(key)
        if children is None:
            children = (
                REQUESTS.labels(route, method, str(call.status), role).inc,
                LATENCY.labels(route, role).observe,
            )
            self._children[key] = children
        count, observe = children
        count()
        observe(time.perf_counter() - call.started)
        if call.denial is not None:
            DENIED.labels(call.denial).inc()
        if self.audit is None or (call.denial is None and method in READS):
            return
        identity = call.identity
        if call.denial is None and route in SUBMISSIONS and identity is not None:
            outcome = _outcome(call)
            minute = int(time.time()) // 60
            self.audit.count(
                (
                    minute,
                    identity.actor,
                    identity.key_prefix,
                    identity.role,
                    method,
                    route,
                    call.status,
                    outcome,
                )
            )
            return
        self.audit.add(_entry(call, route))


def _outcome(call: Call) -> str:
    if call.denial is not None:
        return "denied"
    return "failed" if call.status >= 500 else "allowed"


def _entry(call: Call, route: str) -> Entry:
    identity = call.identity
    return Entry(
        at=datetime.now(UTC),
        actor=identity.actor if identity else None,
        key_prefix=identity.key_prefix if identity else None,
        role=identity.role if identity else None,
        method=call.scope["method"],
        path=call.raw.decode("ascii", "backslashreplace")[:500],
        route=None if route == UNMATCHED else route,
        target=_target(call),
        status=call.status,
        outcome=_outcome(call),
        reason=call.denial,
    )


def _target(call: Call) -> str | None:
    """The values of the route's path parameters (the rule, breach or key acted on)."""
    if call.route is None or "{" not in call.route.path:
        return None
    template = call.route.path.split("/")
    given = call.raw.decode("ascii", "backslashreplace").split("/")
    values = [g for t, g in zip(template, given, strict=False) if t.startswith("{")]
    return "/".join(values)[:200] or None
