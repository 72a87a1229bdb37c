"""The /v1 relay as a plain ASGI middleware, in front of FastAPI's routing.

Every public request passes through here, so it skips what a FastAPI route costs per call
(routing, dependency resolution, the request and response wrappers): on the single-event
path those cost more than relaying the request itself.
"""

from __future__ import annotations

import aiohttp
from starlette.types import ASGIApp, Receive, Scope, Send

from pp_gateway.routing import upstream_for
from pp_gateway.settings import GatewaySettings
from pp_shared.asgi import read_body
from pp_shared.problems import NotFound, ProblemError, Unavailable

PREFIX = "/v1/"
_FORWARD_REQUEST = frozenset({b"content-type", b"accept", b"idempotency-key"})
_FORWARD_RESPONSE = frozenset({"content-type", "retry-after", "location"})


class Relay:
    """Relays ``/v1/*`` to the service that owns the path; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            status, headers, content = await self._relay(scope, receive)
        except ProblemError as problem:
            await problem.response(scope["path"])(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _relay(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        path = scope["path"][len(PREFIX) :]
        base = upstream_for(self.settings, path)
        if base is None:
            raise NotFound(f"no API at /v1/{path}")
        body = await read_body(scope, receive, self.settings.max_body_bytes)
        forward = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"]
            if key in _FORWARD_REQUEST
        }
        url = f"{base}/v1/{path}"
        query: bytes = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")  # as sent: repeated parameters stay repeated
        client: aiohttp.ClientSession = scope["app"].state.client
        try:
            async with client.request(scope["method"], url, data=body, headers=forward) as upstream:
                content = await upstream.read()
                headers = [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in upstream.headers.items()
                    if k.lower() in _FORWARD_RESPONSE
                ]
                headers.append((b"content-length", str(len(content)).encode()))
                return upstream.status, headers, content
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise Unavailable(
                "the service behind this path is unreachable",
                headers={"Retry-After": "5"},
                extra={"reason": type(exc).__name__},
            ) from exc
