"""What every service has in common: health, readiness and metrics endpoints, and a runtime
that owns the database pool (and the SQLModel sessions' engine, where a service has record-style
tables), the Kafka producer and the consumer loops for the app's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.db import Pool, create_pool, database_reachable
from pp_shared.dead_letters import DeadLetterStore
from pp_shared.kafka import BatchHandler, BatchLoop, broker_reachable, make_consumer, make_producer
from pp_shared.settings import ServiceSettings

if TYPE_CHECKING:
    from pp_shared.records import Records

log = logging.getLogger(__name__)

READINESS = Gauge(
    "pp_readiness_check_passing",
    "1 while a readiness check passes, 0 while it fails, by check (database, broker, "
    "consumer<n>; on the gateway, each upstream service), as of the last /readyz or scrape.",
    ["check"],
)
PERIODIC_FAILURES = Counter(
    "pp_periodic_task_failures_total",
    "Runs of a periodic task (model retraining, taxonomy refresh, retention) that failed; the "
    "task runs again at its next tick.",
    ["service", "task"],
)
READINESS_REFRESH_SECONDS = 1.0
"""A scrape runs the readiness checks (a database round trip and a broker metadata request)
at most this often: tools that poll /metrics for a counter must not load the broker."""

NO_OPENTELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}
"""FastAPI's own OpenTelemetry instrumentation, off: the services report to Prometheus, and
FastAPI looks up the global OpenTelemetry providers on every request to decide whether to
trace it (measured: 10 to 20 us of a 100 us routed request)."""


@dataclass
class Runtime:
    """The long-lived resources of one service process."""

    service: str
    settings: ServiceSettings
    pool: Pool | None = None
    records: Records | None = None
    producer: AIOKafkaProducer | None = None
    loops: list[BatchLoop] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def open_pool(self) -> Pool:
        self.pool = await create_pool(
            self.settings.database_url, max_size=self.settings.db_pool_max
        )
        return self.pool

    def open_records(self) -> Records:
        """The engine of the SQLModel sessions (``pp_shared.records``), created on the first
        call and the same afterwards; its connections open as sessions need them."""
        if self.records is None:
            # Imported here: SQLAlchemy is not loaded by services without record tables.
            from pp_shared.records import Records

            self.records = Records(self.settings.database_url, max_size=self.settings.db_pool_max)
        return self.records

    async def open_producer(self, **overrides: Any) -> AIOKafkaProducer:
        self.producer = make_producer(self.settings, **overrides)
        await self.producer.start()
        return self.producer

    def run_loop(self, loop: BatchLoop) -> None:
        """Run a consumer loop as a task; a crash of the loop is logged and ends the process,
        so the supervisor restarts it instead of leaving a zombie consumer."""
        self.loops.append(loop)
        task = asyncio.create_task(self._guard(loop), name=f"{self.service}-consumer")
        self.tasks.append(task)

    async def consume(
        self,
        *,
        group: str,
        topic: Topic,
        handler: BatchHandler,
        dead_letters: DeadLetterStore,
        dead_letter_topic: Topic,
    ) -> None:
        """Start this service's consumer of ``topic`` as a group member, handling batches
        with ``handler``; records that fail on their own go to ``dead_letters`` and
        ``dead_letter_topic``. Needs the pool and the producer open."""
        if self.pool is None or self.producer is None:
            raise RuntimeError("open the pool and the producer before consuming")
        consumer = make_consumer(self.settings, group=group, topics=[topic])
        await consumer.start()
        sink = dead_letters.sink(
            self.pool, self.producer, topic_name(dead_letter_topic, self.settings.topic_prefix)
        )
        self.run_loop(BatchLoop(consumer, handler, service=self.service, dead_letter=sink))

    def run_periodic(
        self, name: str, interval: float, job: Callable[[], Awaitable[object]]
    ) -> None:
        """Run ``job`` every ``interval`` seconds for the app's lifetime. A failing run is
        logged, counted and retried at the next tick (a database blip must not end the job)."""
        # Created now, so the series exists at 0 and its first failure shows as an increase.
        failures = PERIODIC_FAILURES.labels(self.service, name)

        async def periodic() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await job()
                except Exception:
                    failures.inc()
                    log.exception("periodic job failed", extra={"job": name})

        self.tasks.append(asyncio.create_task(periodic(), name=f"{self.service}-{name}"))

    async def _guard(self, loop: BatchLoop) -> None:
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("consumer loop crashed; stopping the process")
            import os
            import signal

            os.kill(os.getpid(), signal.SIGTERM)
            raise

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for loop in self.loops:
            await loop.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()
        if self.records is not None:
            await self.records.close()
        if self.pool is not None:
            await self.pool.close()

    async def readiness(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        if self.pool is not None:
            checks["database"] = await database_reachable(self.pool)
        if self.producer is not None:
            checks["broker"] = await broker_reachable(self.producer)
        for i, loop in enumerate(self.loops):
            checks[f"consumer{i}"] = loop.healthy
        return checks


_READINESS: dict[str, Any] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not_ready"]},
        "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
    },
}
_READINESS_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": _READINESS}}},
    503: {
        "description": "Not ready: a check failed.",
        "content": {"application/json": {"schema": _READINESS}},
    },
}


def ops_router(get_checks: Callable[[], Any]) -> APIRouter:
    """``/healthz``, ``/readyz`` and ``/metrics``; ``get_checks`` returns readiness checks."""
    router = APIRouter(tags=["operations"])
    refreshed = [-float("inf")]

    async def current_checks() -> dict[str, bool]:
        checks: dict[str, bool] = await get_checks()
        for name, passing in checks.items():
            READINESS.labels(name).set(1 if passing else 0)
        refreshed[0] = time.monotonic()
        return checks

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz", responses=_READINESS_ANSWERS)
    async def readyz() -> JSONResponse:
        """Database and broker reachable, consumers healthy."""
        checks = await current_checks()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this process, with its readiness checks as they are now."""
        if time.monotonic() - refreshed[0] >= READINESS_REFRESH_SECONDS:
            try:
                await current_checks()
            except Exception:
                # The metrics are served all the same; the gauge keeps its last values.
                log.exception("readiness checks failed")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def attach_ops(app: FastAPI) -> None:
    async def checks() -> dict[str, bool]:
        runtime: Runtime = app.state.runtime
        return await runtime.readiness()

    app.include_router(ops_router(checks))
