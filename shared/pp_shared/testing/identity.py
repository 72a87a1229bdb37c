"""Callers as the gateway forwards them, for tests of a service built with a gateway secret:
an ``httpx`` auth that signs each request as the gateway relays it, and the callers the
tests use."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

from pp_shared.identity import Identity, identity_headers

SECRET = SecretStr("test-gateway-secret-0123456789abcdef")
"""The gateway secret of tests (``settings.model_copy(update={"gateway_secret": SECRET})``)."""


def analyst(actor: str = "alice", *areas: str) -> Identity:
    """An analyst's key: every area, or only ``areas``."""
    return Identity(actor, "analyst", "pp_test01", frozenset(areas) if areas else None)


def policy_admin(actor: str = "pat", *areas: str) -> Identity:
    """A policy admin's key: every area, or only ``areas``."""
    return Identity(actor, "policy_admin", "pp_test02", frozenset(areas) if areas else None)


def signed_headers(
    identity: Identity,
    method: str,
    path: str,
    *,
    secret: SecretStr = SECRET,
    now: float | None = None,
) -> dict[str, str]:
    """The identity headers the gateway adds to ``method path`` (the raw path, with its query
    string if any), signed with ``secret`` at ``now`` (the wall clock by default)."""
    raw, _, query = path.encode("ascii").partition(b"?")
    key = secret.get_secret_value().encode()
    pairs = identity_headers(key, identity, method, raw, now, query)
    return {key.decode("ascii"): value.decode("ascii") for key, value in pairs}


class SignedAs(httpx.Auth):
    """Signs every request of a client (``auth=SignedAs(identity)``) as the gateway would."""

    def __init__(self, identity: Identity, secret: SecretStr = SECRET) -> None:
        self.identity = identity
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raw = request.url.raw_path.decode("ascii")
        request.headers.update(
            signed_headers(self.identity, request.method, raw, secret=self.secret)
        )
        yield request
