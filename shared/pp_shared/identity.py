"""Who is calling: the identity the gateway authenticated, forwarded to the services, signed.

The gateway checks the caller's API key and forwards who it is in one header, with an HMAC
over that header, the method, the raw path and the query string as relayed
(``PP_GATEWAY_SECRET``, shared by the gateway and the services, never sent): a signed request
cannot be replayed with another query (another ``area``, say) or path::

    x-pp-identity: v1;<actor>;<role>;<key prefix>;<areas, comma-separated, or *>;<unix time>
    x-pp-identity-signature: <hex HMAC-SHA256>

A service with the secret set accepts a ``/v1`` request only with a valid signature no older
than :data:`MAX_AGE_SECONDS` (401 otherwise): identity headers that did not come from the
gateway are never trusted, and a service reached around the gateway serves nobody. A service
without the secret (a service's own tests, in process) treats every caller as
:data:`INTERNAL`: everything, all areas, recorded as ``api``.

Actors, roles and prefixes are restricted to ``[A-Za-z0-9_.@:-]``, so the header needs no
escaping; areas are upper-case words.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from pp_shared.problems import Unauthorized

__all__ = [
    "ACTOR_PATTERN",
    "AREA_PATTERN",
    "INTERNAL",
    "ActorDep",
    "CallerDep",
    "GatewayIdentity",
    "Identity",
    "caller",
    "identity_headers",
]

IDENTITY_HEADER = b"x-pp-identity"
SIGNATURE_HEADER = b"x-pp-identity-signature"
MAX_AGE_SECONDS = 300
"""How old a signed identity may be: the gateway signs each request as it relays it, so this
only has to cover clock differences between hosts."""
ACTOR_PATTERN = r"^[A-Za-z0-9_.@:-]{1,100}$"
_ACTOR = re.compile(ACTOR_PATTERN)
AREA_PATTERN = r"^[A-Z][A-Z0-9_]{0,31}$"
"""A policy area's name, as keys are restricted to and identities carry."""
_AREA = re.compile(AREA_PATTERN)
_STATE_KEY = "pp_identity"


@dataclass(frozen=True, slots=True)
class Identity:
    """A caller: the key's owner (``actor``), its role and key prefix, and the policy areas it
    may see (``None``: every area)."""

    actor: str
    role: str
    key_prefix: str
    areas: frozenset[str] | None

    @property
    def scoped(self) -> bool:
        return self.areas is not None

    def sees(self, area: str | None) -> bool:
        """Whether data of ``area`` may be shown. Data of no area (``None``) is shown only to
        an unrestricted caller: it may hold any area's."""
        if self.areas is None:
            return True
        return area is not None and area in self.areas

    def sees_all(self, areas: Iterable[str | None]) -> bool:
        return all(self.sees(a) for a in areas)

    def encode(self, issued_at: int) -> bytes:
        areas = "*" if self.areas is None else ",".join(sorted(self.areas))
        value = f"v1;{self.actor};{self.role};{self.key_prefix};{areas};{issued_at}"
        return value.encode("ascii")

    @classmethod
    def decode(cls, value: bytes) -> tuple[Identity, int] | None:
        """The identity and its time in a header value, or None when malformed."""
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return None
        parts = text.split(";")
        if len(parts) != 6 or parts[0] != "v1" or not parts[5].isdigit():
            return None
        _, actor, role, prefix, areas_text, issued = parts
        if not (_ACTOR.match(actor) and _ACTOR.match(role)):
            return None
        if prefix and not _ACTOR.match(prefix):
            return None
        areas: frozenset[str] | None = None
        if areas_text != "*":
            names = areas_text.split(",") if areas_text else []
            if not all(_AREA.match(n) for n in names):
                return None
            areas = frozenset(names)
        return cls(actor, role, prefix, areas), int(issued)


INTERNAL = Identity(actor="api", role="admin", key_prefix="", areas=None)
"""The caller of a service that has no gateway secret: its own tests, in process."""


def signature(
    secret: bytes, identity: bytes, method: bytes, raw_path: bytes, query: bytes = b""
) -> bytes:
    message = b"\n".join((identity, method, raw_path, query))
    return hmac.new(secret, message, hashlib.sha256).hexdigest().encode("ascii")


def identity_headers(
    secret: bytes,
    identity: Identity,
    method: str,
    raw_path: bytes,
    now: float | None = None,
    query: bytes = b"",
) -> list[tuple[bytes, bytes]]:
    """The two headers the gateway adds to a relayed request of ``raw_path?query``."""
    value = identity.encode(int(time.time() if now is None else now))
    given = signature(secret, value, method.encode("ascii"), raw_path, query)
    return [(IDENTITY_HEADER, value), (SIGNATURE_HEADER, given)]


class GatewayIdentity:
    """ASGI middleware of every service: puts the caller of each ``/v1`` request in the
    request's state, or answers 401 when the secret is set and the signature is missing,
    wrong or stale. Other paths (probes, ``/metrics``, ``/docs``) pass untouched."""

    def __init__(self, app: ASGIApp, secret: SecretStr | None) -> None:
        self.app = app
        self.secret = secret.get_secret_value().encode() if secret is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        identity = INTERNAL if self.secret is None else self._verified(scope)
        if identity is None:
            problem = Unauthorized(
                "this service answers requests relayed by the gateway only; "
                "send them to the gateway with an API key"
            )
            await problem.response(scope["path"])(scope, receive, send)
            return
        scope.setdefault("state", {})[_STATE_KEY] = identity
        await self.app(scope, receive, send)

    def _verified(self, scope: Scope) -> Identity | None:
        assert self.secret is not None
        value = given = None
        for key, header in scope["headers"]:
            if key == IDENTITY_HEADER:
                value = header
            elif key == SIGNATURE_HEADER:
                given = header
        if value is None or given is None:
            return None
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        expected = signature(self.secret, value, scope["method"].encode("ascii"), raw, query)
        if not hmac.compare_digest(expected, given):
            return None
        decoded = Identity.decode(value)
        if decoded is None:
            return None
        identity, issued = decoded
        if abs(time.time() - issued) > MAX_AGE_SECONDS:
            return None
        return identity


async def caller(request: Request) -> Identity:
    """The caller of a request (FastAPI dependency): the verified identity the middleware
    stored, or :data:`INTERNAL` where the middleware is not installed. A coroutine: FastAPI
    runs a plain function dependency in a worker thread, a hop that costs more than this."""
    identity = request.scope.get("state", {}).get(_STATE_KEY)
    return identity if isinstance(identity, Identity) else INTERNAL


CallerDep = Annotated[Identity, Depends(caller)]


async def actor(identity: CallerDep) -> str:
    """Who does what a request does: the owner of the caller's key (``api`` for the internal
    caller)."""
    return identity.actor


ActorDep = Annotated[str, Depends(actor)]
