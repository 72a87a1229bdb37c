"""The gateway app: routes /v1 requests to the owning service and relays the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import APIRouter, FastAPI, Request, Response

from pp_gateway.routing import ROUTES, upstream_for
from pp_gateway.settings import GatewaySettings
from pp_shared.logging import configure_logging
from pp_shared.problems import NotFound, PayloadTooLarge, Unavailable, install_problem_handlers
from pp_shared.service import ops_router

SERVICE = "api-gateway"
_FORWARD_REQUEST = ("content-type", "accept", "idempotency-key")
_FORWARD_RESPONSE = ("content-type", "retry-after", "location")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=15)
        timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_seconds)
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
        ) as client:
            app.state.client = client
            yield

    app = FastAPI(
        title="PolicyPulse API",
        version="0.1.0",
        description="Public API of PolicyPulse: event intake and high-harm policy insights.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)

    async def checks() -> dict[str, bool]:
        client: aiohttp.ClientSession = app.state.client
        names = sorted(set(ROUTES.values()))

        async def ready(name: str) -> bool:
            url = f"{getattr(settings, name + '_url')}/readyz"
            try:
                async with client.get(url, timeout=aiohttp.ClientTimeout(total=2.0)) as r:
                    return r.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        results = await asyncio.gather(*(ready(n) for n in names))
        return dict(zip(names, results, strict=True))

    app.include_router(ops_router(checks))
    app.include_router(_proxy_router(settings))
    return app


def _proxy_router(settings: GatewaySettings) -> APIRouter:
    router = APIRouter()

    @router.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def relay(path: str, request: Request) -> Response:
        """Relay a public /v1 request to the service that owns it."""
        base = upstream_for(settings, path)
        if base is None:
            raise NotFound(f"no API at /v1/{path}")
        declared = int(request.headers.get("content-length") or 0)
        if declared > settings.max_body_bytes:
            raise PayloadTooLarge(f"the body may be at most {settings.max_body_bytes} bytes")
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            raise PayloadTooLarge(f"the body may be at most {settings.max_body_bytes} bytes")
        client: aiohttp.ClientSession = request.app.state.client
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARD_REQUEST}
        url = f"{base}/v1/{path}"
        if request.url.query:
            url += f"?{request.url.query}"  # as sent: repeated parameters stay repeated
        try:
            async with client.request(request.method, url, data=body, headers=headers) as up:
                content = await up.read()
                out_headers = {
                    k: v for k, v in up.headers.items() if k.lower() in _FORWARD_RESPONSE
                }
                status = up.status
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise Unavailable(
                "the service behind this path is unreachable",
                headers={"Retry-After": "5"},
                extra={"reason": type(exc).__name__},
            ) from exc
        return Response(content, status_code=status, headers=out_headers)

    return router
