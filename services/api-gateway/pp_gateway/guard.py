"""Who may do what: the checks every ``/v1`` request passes before it is relayed, in order.

1. **Authentication**: ``Authorization: Bearer <key>``; missing, malformed, unknown, revoked
   or expired gives the same 401.
2. **Route**: the role table (:mod:`pp_gateway.access`) finds the route of the raw path; none
   gives 404, another method's gives 405 with ``Allow``.
3. **Role**: the key's role must grant the route's permission, else 403 naming the roles
   that may.
4. **Areas**: a key restricted to policy areas is refused (403, naming the areas it has)
   routes whose answers cannot be kept to them, and any ``area`` query parameter outside
   them; where the route filters by ``area`` and the request names none, the key's areas are
   added to the query.
5. **Rate**: the key's token bucket (:mod:`pp_gateway.limits`), else 429 with
   ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from pp_gateway.access import GRANTS, Role, Route, RouteTable, Scoping
from pp_gateway.keys.service import KeyChecker
from pp_gateway.limits import RateLimiter
from pp_shared.identity import Identity
from pp_shared.problems import (
    Forbidden,
    NotFound,
    ProblemError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)

BEARER = b"bearer "
ANONYMOUS_ADMIN = Identity(actor="anonymous", role="admin", key_prefix="", areas=None)
"""The caller of every request when authentication is off (``PP_GATEWAY_AUTH=off``: for
measuring what authentication costs, never for serving)."""


class MethodNotAllowed(ProblemError):
    status_code = 405
    problem_type = "method-not-allowed"
    title = "Method not allowed"


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused request: the problem to answer and the reason counted and audited."""

    problem: ProblemError
    reason: str


@dataclass(frozen=True, slots=True)
class Admitted:
    identity: Identity
    route: Route
    query: bytes
    """The query string to relay: the client's, with the key's areas added where needed."""


def bearer_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            if value[:7].lower() != BEARER:
                return None
            return value[7:].strip().decode("latin-1")
    return None


class Guard:
    def __init__(self, table: RouteTable, limiter: RateLimiter, *, required: bool = True) -> None:
        """``required`` False: authentication is off, every caller is
        :data:`ANONYMOUS_ADMIN`. Keys are checked by ``keys``, set once the database is open."""
        self.table = table
        self.limiter = limiter
        self.required = required
        self.keys: KeyChecker | None = None

    def forget(self, prefix: str) -> None:
        """Drop what is remembered of a key (it was just revoked)."""
        if self.keys is not None:
            self.keys.forget(prefix)

    async def identify(self, headers: list[tuple[bytes, bytes]]) -> Identity | Denial:
        if not self.required:
            return ANONYMOUS_ADMIN
        if self.keys is None:
            return Denial(Unavailable("the gateway is starting"), "starting")
        key = bearer_key(headers)
        identity = await self.keys.identify(key) if key else None
        if identity is None:
            reason = "missing key" if key is None else "invalid key"
            return Denial(
                Unauthorized("send a valid API key as 'Authorization: Bearer <key>'"), reason
            )
        return identity

    def route(self, method: str, path: str) -> Route | Denial:
        route = self.table.match(method, path)
        if route is not None:
            return route
        methods = self.table.methods_at(path)
        if methods:
            allowed = ", ".join(methods)
            problem: ProblemError = MethodNotAllowed(
                f"{method} is not served at this path; it serves {allowed}",
                headers={"Allow": allowed},
            )
            return Denial(problem, "method not allowed")
        return Denial(NotFound(f"no API at {path}"), "no route")

    def admit(self, identity: Identity, route: Route, query: bytes) -> Admitted | Denial:
        if route.permission not in GRANTS.get(Role(identity.role), frozenset()):
            roles = ", ".join(r.value for r in route.roles)
            return Denial(
                Forbidden(
                    f"this key's role ({identity.role}) may not {route.method} {route.path}; "
                    f"roles that may: {roles}",
                    extra={"roles_needed": [r.value for r in route.roles]},
                ),
                "role",
            )
        if identity.areas is not None:
            scoped = self._scoped_query(identity.areas, route, query)
            if isinstance(scoped, Denial):
                return scoped
            query = scoped
        wait = self.limiter.take(identity.key_prefix, identity.role) if self.required else 0.0
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return Denial(
                TooManyRequests(
                    f"this key's rate limit is spent; retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                ),
                "rate",
            )
        return Admitted(identity, route, query)

    @staticmethod
    def _scoped_query(areas: frozenset[str], route: Route, query: bytes) -> bytes | Denial:
        shown = ", ".join(sorted(areas))
        if route.scoping is Scoping.UNRESTRICTED:
            return Denial(
                Forbidden(
                    f"{route.method} {route.path} may show any area's data: it needs a key "
                    f"without an area restriction (this key's areas: {shown})",
                    extra={"areas_needed": "all"},
                ),
                "area",
            )
        if route.scoping is not Scoping.QUERY:
            return query
        asked = [v for k, v in parse_qsl(query.decode("latin-1")) if k == "area"]
        outside = sorted({a for a in asked if a not in areas})
        if outside:
            return Denial(
                Forbidden(
                    f"this key may see the areas {shown}, not {', '.join(outside)}",
                    extra={"areas_needed": outside},
                ),
                "area",
            )
        if asked:
            return query
        added = "&".join(f"area={quote(a)}" for a in sorted(areas)).encode("ascii")
        return query + b"&" + added if query else added
