"""The ingest app: HTTP intake, and the consumer that validates and stores the raw topic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pp_ingest import api, service
from pp_ingest.fastpath import SingleEvent
from pp_ingest.metrics import RequestMetrics
from pp_ingest.settings import IngestSettings
from pp_shared.db import apply_migrations
from pp_shared.http_guards import install_http_guards
from pp_shared.kafka import Record, ensure_topics
from pp_shared.logging import configure_logging
from pp_shared.openapi import install_openapi
from pp_shared.problems import install_problem_handlers
from pp_shared.service import NO_OPENTELEMETRY, Runtime, attach_ops
from pp_shared.topics import Topic

SERVICE = "ingest"
GROUP = "pp-ingest"


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    configure_logging(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(SERVICE, settings)
        app.state.runtime = runtime
        try:
            pool = await runtime.open_pool()
            app.state.lookups = service.HashLookups(pool)
            await apply_migrations(
                pool, schema="ingest", package="pp_ingest", shared=["dead_letters"]
            )
            await ensure_topics(settings, list(Topic))
            producer = await runtime.open_producer()

            async def handle(records: Sequence[Record]) -> None:
                await service.process_raw_batch(pool, producer, settings, records=records)

            await runtime.consume(
                group=GROUP,
                topic=Topic.EVENTS_RAW,
                handler=handle,
                dead_letters=service.dead_letters.STORE,
                dead_letter_topic=Topic.EVENTS_DEAD_LETTER,
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
    install_problem_handlers(app)
    attach_ops(app)
    app.include_router(api.router)
    app.include_router(api.dead_letter_routes)
    install_openapi(app)
    return app
