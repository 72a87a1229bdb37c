"""The insights app: consumes tagged events into facts and rollups, serves the query API."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from pp_insights import consumer, dead_letters
from pp_insights.alerts.api import router as alerts_router
from pp_insights.alerts.runner import alerts_running
from pp_insights.api import enforceability as enforceability_api
from pp_insights.api import launches as launches_api
from pp_insights.api.routes import router
from pp_insights.calibration.api import router as calibration_router
from pp_insights.facts import service as facts
from pp_insights.settings import InsightsSettings
from pp_shared.contracts.topics import Topic
from pp_shared.db import apply_migrations
from pp_shared.http_guards import install_http_guards
from pp_shared.http_metrics import HttpMetrics
from pp_shared.identity import GatewayIdentity
from pp_shared.kafka import ensure_topics
from pp_shared.logging import configure_logging
from pp_shared.openapi import install_openapi
from pp_shared.problems import install_problem_handlers
from pp_shared.service import NO_OPENTELEMETRY, Runtime, attach_ops

SERVICE = "insights"


def create_app(settings: InsightsSettings | None = None) -> FastAPI:
    settings = settings or InsightsSettings()
    configure_logging(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(SERVICE, settings)
        app.state.runtime = runtime
        try:
            pool = await runtime.open_pool()
            await apply_migrations(
                pool, schema="insights", package="pp_insights", shared=["dead_letters"]
            )
            await facts.finish_pending_rebuilds(pool)
            retain = functools.partial(
                facts.retain, pool, keep=timedelta(days=settings.detail_retention_days)
            )
            await retain()
            runtime.run_periodic("retention", settings.retention_interval_seconds, retain)
            await ensure_topics(settings, list(Topic))
            producer = await runtime.open_producer()

            await runtime.consume(
                group=consumer.GROUP,
                topic=consumer.TOPIC,
                handler=consumer.batch_handler(pool),
                dead_letters=dead_letters.DEAD_LETTERS,
                dead_letter_topic=Topic.INSIGHTS_DEAD_LETTER,
            )
            records = runtime.open_records()
            await runtime.consume(
                group=consumer.TAXONOMY_GROUP,
                topic=consumer.TAXONOMY_TOPIC,
                handler=consumer.taxonomy_handler(records),
                dead_letters=dead_letters.DEAD_LETTERS,
                dead_letter_topic=Topic.INSIGHTS_DEAD_LETTER,
            )
            async with alerts_running(pool, producer, settings):
                yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="PolicyPulse insights",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
    )
    install_http_guards(app, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(GatewayIdentity, secret=settings.gateway_secret)
    app.add_middleware(HttpMetrics, service=SERVICE)
    install_problem_handlers(app)
    attach_ops(app)
    app.include_router(dead_letters.router)
    app.include_router(router)
    app.include_router(alerts_router)
    app.include_router(calibration_router)
    app.include_router(launches_api.router)
    app.include_router(enforceability_api.router)
    resolved = "The breach is resolved."
    install_openapi(
        app,
        responses={
            "POST /v1/rules": {409: "A rule with this id exists; PUT changes it."},
            "POST /v1/breaches/{breach_id}/ack": {409: resolved},
            "POST /v1/breaches/{breach_id}/silence": {409: resolved},
            "DELETE /v1/breaches/{breach_id}/silence": {409: resolved},
            "GET /v1/launches/{launch_id}": {404: "No launch with this id."},
            "GET /v1/launches/{launch_id}/impact": {404: "No launch with this id."},
            "POST /v1/calibration/exercises/{exercise_id}/close": {
                409: "The exercise is closed already."
            },
        },
    )
    return app
