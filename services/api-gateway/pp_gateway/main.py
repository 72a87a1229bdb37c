"""The gateway app: routes /v1 requests to the owning service and relays the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI
from starlette.types import Scope

from pp_gateway.relay import Relay
from pp_gateway.routing import ROUTES
from pp_gateway.settings import GatewaySettings
from pp_shared.http_metrics import HttpMetrics
from pp_shared.logging import configure_logging
from pp_shared.problems import install_problem_handlers
from pp_shared.service import NO_OPENTELEMETRY, ops_router

SERVICE = "api-gateway"


def relayed_route(scope: Scope) -> str | None:
    """The route template of a relayed request, for its metrics: ``/v1/<first segment>``,
    with ``/{path}`` when more follows; None when no service serves the first segment."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    if not raw.startswith(b"/v1/"):
        return None
    head, slash, _ = raw[len(b"/v1/") :].partition(b"/")
    name = head.decode("latin-1")
    if name not in ROUTES:
        return None
    return f"/v1/{name}/{{path}}" if slash else f"/v1/{name}"


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
        description=(
            "Public API of PolicyPulse: event intake and high-harm policy insights. Every "
            "/v1 path is relayed to the service that owns it; each service documents its own "
            "paths at its /docs (ingest: events, imports, dead letters; classifier: taxonomy, "
            "models; insights: insights, rules, breaches)."
        ),
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
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
    app.add_middleware(Relay, settings=settings)
    # Added last, so it runs first: relayed requests are counted too.
    app.add_middleware(HttpMetrics, service=SERVICE, route_of=relayed_route)
    return app
