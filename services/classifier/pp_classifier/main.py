"""The classifier app: ``create_app()`` and the lifespan that wires the replica's layers, the
periodic refresh and retraining, and the consumer of validated events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pp_classifier import api, consumer
from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy import service as taxonomy_service
from pp_classifier.training.jobs import Retrainer
from pp_classifier.training.service import Replica
from pp_shared.contracts.topics import Topic
from pp_shared.db import apply_migrations
from pp_shared.http_guards import install_http_guards
from pp_shared.http_metrics import HttpMetrics
from pp_shared.identity import GatewayIdentity
from pp_shared.kafka import Record, ensure_topics
from pp_shared.logging import configure_logging
from pp_shared.openapi import install_openapi
from pp_shared.problems import install_problem_handlers
from pp_shared.service import NO_OPENTELEMETRY, Runtime, attach_ops

SERVICE = "classifier"
GROUP = "pp-classifier"


def create_app(settings: ClassifierSettings | None = None) -> FastAPI:
    settings = settings or ClassifierSettings()
    configure_logging(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(SERVICE, settings)
        app.state.runtime = runtime
        try:
            pool = await runtime.open_pool()
            await apply_migrations(
                pool, schema="classifier", package="pp_classifier", shared=["dead_letters"]
            )
            await taxonomy_service.publish_seed(pool)
            replica = Replica(settings)
            await replica.start(pool, await taxonomy_service.get(pool))
            app.state.replica = replica
            retrainer = Retrainer(replica, pool, runtime.open_records())
            app.state.retrainer = retrainer
            runtime.run_periodic(
                "layers-refresh", settings.taxonomy_refresh_seconds, lambda: replica.refresh(pool)
            )
            runtime.run_periodic("retrain", settings.retrain_check_seconds, retrainer.run_if_due)
            await ensure_topics(settings, list(Topic))
            producer = await runtime.open_producer()
            announce = consumer.taxonomy_sender(producer, settings)
            app.state.announce = announce
            await taxonomy_service.announce_pending(pool, send=announce)
            runtime.run_periodic(
                "taxonomy-announce",
                settings.taxonomy_refresh_seconds,
                lambda: taxonomy_service.announce_pending(pool, send=announce),
            )

            async def handle(records: Sequence[Record]) -> None:
                await consumer.tag_batch(
                    pool, producer, settings, layers=replica.layers, records=records
                )

            await runtime.consume(
                group=GROUP,
                topic=Topic.EVENTS_VALIDATED,
                handler=handle,
                dead_letters=api.DEAD_LETTERS,
                dead_letter_topic=Topic.CLASSIFIER_DEAD_LETTER,
            )
            yield
        finally:
            retrainer_ = getattr(app.state, "retrainer", None)
            if retrainer_ is not None:
                await retrainer_.close()
            await runtime.close()

    app = FastAPI(
        title="PolicyPulse classifier",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
    )
    install_http_guards(app, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(GatewayIdentity, secret=settings.gateway_secret)
    app.add_middleware(HttpMetrics, service=SERVICE)
    install_problem_handlers(app)
    attach_ops(app)
    app.include_router(api.router)
    app.include_router(api.models_router)
    app.include_router(api.tag_router)
    app.include_router(api.dead_letter_routes)
    install_openapi(
        app,
        responses={
            "GET /v1/taxonomy": {404: "No taxonomy is published yet."},
            "GET /v1/taxonomy/diff": {404: "One of the two versions is not published."},
            "POST /v1/taxonomy/versions": {
                409: "The version is published with other content, or is not newer than the latest."
            },
            "GET /v1/models/active": {404: "No model is active."},
            "POST /v1/models/retrain": {
                409: "Another replica is starting a training; ask again shortly."
            },
            "GET /v1/models/retrain/jobs/{job_id}": {404: "No such job."},
        },
    )
    return app
