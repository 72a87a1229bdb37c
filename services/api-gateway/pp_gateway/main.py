"""The gateway app: checks every /v1 request (key, role, areas, rate), relays it to the
service that owns its route, answers its own routes (keys, audit), and serves the console
(``pp_gateway.console``) at ``/``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from pp_gateway import api
from pp_gateway.access import SERVICES, RouteTable
from pp_gateway.audit.writer import AuditWriter
from pp_gateway.console import routes as console_routes
from pp_gateway.console.web import HERE as CONSOLE_DIR
from pp_gateway.console.web import Console, Refused, SignInNeeded, handled
from pp_gateway.gate import ROUTE_KEY, Gate
from pp_gateway.guard import Guard
from pp_gateway.keys.service import KeyChecker
from pp_gateway.limits import RateLimiter
from pp_gateway.openapi import MergedOpenApi
from pp_gateway.relay import Relay
from pp_gateway.settings import GatewaySettings
from pp_shared.db import apply_migrations, create_pool
from pp_shared.http_metrics import HttpMetrics
from pp_shared.logging import configure_logging
from pp_shared.openapi import install_openapi
from pp_shared.problems import install_problem_handlers
from pp_shared.records import Records
from pp_shared.service import NO_OPENTELEMETRY, ops_router

SERVICE = "api-gateway"
log = logging.getLogger(__name__)


@asynccontextmanager
async def _background(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """``work`` as a task for the life of the block, cancelled at its end."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging(SERVICE, settings.log_level)
    table = RouteTable()
    guard = Guard(
        table,
        RateLimiter(scale=settings.rate_limit_scale),
        required=settings.gateway_auth == "required",
    )
    gate = Gate(settings, guard, None)

    def route_of(scope: Scope) -> str | None:
        """The route template of a /v1 request, for the shared HTTP metrics: what the relay
        found (None for other paths and for /v1 paths of no route)."""
        route: str | None = scope.get(ROUTE_KEY)
        return route

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, max_size=4)
        records = Records(settings.database_url, max_size=4)
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=15)
        timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_seconds)
        try:
            await apply_migrations(pool, schema="gateway", package="pp_gateway")
            if guard.required:
                guard.keys = KeyChecker(pool)
            else:
                log.warning("authentication is off: every request is an administrator's")
            if settings.gateway_secret is None:
                log.warning("no PP_GATEWAY_SECRET: the services cannot tell who is calling")
            audit = AuditWriter(pool)
            async with (
                audit.running(),
                aiohttp.ClientSession(
                    connector=connector,
                    timeout=timeout,
                    auto_decompress=False,
                    skip_auto_headers=("User-Agent",),
                ) as client,
                _background(merged.keep_fetching(client), "openapi-fetch"),
            ):
                gate.audit = audit
                app.state.client = client
                app.state.records = records
                app.state.gate = gate
                yield
        finally:
            gate.audit = None
            await records.close()
            await pool.close()

    app = FastAPI(
        title="PolicyPulse API",
        version="0.1.0",
        description=(
            "Public API of PolicyPulse: event intake and high-harm policy insights. Every "
            "/v1 request carries an API key (`Authorization: Bearer <key>`); the role each "
            "operation needs is in its description."
        ),
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
    )
    install_problem_handlers(app)

    async def checks() -> dict[str, bool]:
        client: aiohttp.ClientSession = app.state.client

        async def ready(name: str) -> bool:
            url = f"{getattr(settings, name + '_url')}/readyz"
            try:
                async with client.get(url, timeout=aiohttp.ClientTimeout(total=2.0)) as r:
                    return r.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        results = await asyncio.gather(*(ready(n) for n in SERVICES))
        if all(results) and len(merged.specs) < len(SERVICES):
            # The services are up: read the OpenAPI documents not read yet now, so that a
            # ready gateway publishes every operation.
            await merged.fetch(client)
        return dict(zip(SERVICES, results, strict=True))

    app.include_router(ops_router(checks))
    app.include_router(api.router)
    app.state.console = Console(secure_cookies=settings.console_secure_cookies)
    app.include_router(console_routes.router)
    app.mount("/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="console-static")
    app.add_exception_handler(SignInNeeded, handled)
    app.add_exception_handler(Refused, handled)
    install_openapi(app)
    urls = {name: getattr(settings, f"{name}_url") for name in SERVICES}
    merged = MergedOpenApi(app.openapi, urls)
    app.openapi = merged.document  # type: ignore[method-assign]
    app.state.openapi_documents = merged
    app.add_middleware(Relay, gate=gate)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept", "Idempotency-Key"],
        )
    # Added last, so it runs first: relayed and refused requests are counted too.
    app.add_middleware(HttpMetrics, service=SERVICE, route_of=route_of)
    return app
