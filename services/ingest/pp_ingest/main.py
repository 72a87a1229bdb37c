"""The ingest app: HTTP intake, and the consumer that validates and stores the raw topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pp_ingest import consumer
from pp_ingest.api import ROUTERS
from pp_ingest.api.fastpath import SingleEvent
from pp_ingest.api.problems import install_unavailable_handler
from pp_ingest.dead_letters.service import STORE
from pp_ingest.intake.dedupe import HashLookups
from pp_ingest.intake.recent import RecentEvents
from pp_ingest.metrics import RequestMetrics
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.topics import Topic
from pp_shared.db import apply_migrations
from pp_shared.http_guards import install_http_guards
from pp_shared.identity import GatewayIdentity
from pp_shared.kafka import ensure_topics
from pp_shared.logging import configure_logging
from pp_shared.openapi import install_openapi
from pp_shared.problems import install_problem_handlers
from pp_shared.service import NO_OPENTELEMETRY, Runtime, attach_ops

SERVICE = "ingest"


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    configure_logging(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(SERVICE, settings)
        app.state.runtime = runtime
        try:
            pool = await runtime.open_pool()
            app.state.lookups = HashLookups(pool)
            app.state.recent = RecentEvents(
                max_size=settings.recent_events_max, max_age=settings.recent_events_seconds
            )
            await apply_migrations(
                pool, schema="ingest", package="pp_ingest", shared=["dead_letters"]
            )
            await ensure_topics(settings, list(Topic))
            producer = await runtime.open_producer()
            await runtime.consume(
                group=consumer.GROUP,
                topic=consumer.TOPIC,
                handler=consumer.raw_events_handler(pool, producer, settings),
                dead_letters=STORE,
                dead_letter_topic=consumer.DEAD_LETTER_TOPIC,
            )
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="PolicyPulse ingest",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
    )
    # First, so that the body limit runs inside the middleware added below.
    install_http_guards(app, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    # Added last, so it runs first: RequestMetrics never sees the requests it answers.
    app.add_middleware(SingleEvent)
    # Outermost: no /v1 request is read before its caller is known.
    app.add_middleware(GatewayIdentity, secret=settings.gateway_secret)
    install_problem_handlers(app)
    install_unavailable_handler(app, settings)
    attach_ops(app)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    return app
