"""Test helpers of alerting: a manual clock, a local HTTP receiver standing in for Slack
(incoming webhooks and the Web API) and for JSON webhooks, an app that runs the alert tasks,
escalations folded into the rollups, and breach messages.

The tests import it relatively (``from .alerts_support import ...``): under pytest's
importlib mode the tests folder is a package of its own, and mypy checks it with them."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from aiohttp import web
from fastapi import FastAPI

from pp_insights.alerts.api import router
from pp_insights.alerts.delivery.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from pp_insights.alerts.runner import Alerts, alerts_running
from pp_insights.alerts.settings import AlertSettings
from pp_insights.facts import service as facts
from pp_insights_testing.harness import fold_events
from pp_shared.contracts.breaches import BreachMessage
from pp_shared.contracts.topics import Topic
from pp_shared.db import Pool, apply_migrations
from pp_shared.devstack.embedded import free_port
from pp_shared.http_guards import install_http_guards
from pp_shared.identity import GatewayIdentity
from pp_shared.kafka import ensure_topics
from pp_shared.problems import install_problem_handlers
from pp_shared.service import Runtime
from pp_shared.settings import ServiceSettings
from pp_shared.testing.apps import running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation


class AlertTestSettings(ServiceSettings, AlertSettings):
    """What the insights settings look like once they inherit AlertSettings."""


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return self.now


@dataclass
class Received:
    """One request the receiver accepted."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: ``/slack/<name>`` (incoming webhooks),
    ``/api/<method>`` (Slack Web API) and ``/hook/<name>`` (signed JSON webhooks).

    ``script`` holds responses ``(status, headers)`` to give before accepting again;
    ``hang`` makes requests wait until the test ends (a sender killed mid-delivery);
    ``stop()`` and ``start()`` take the server off and back on the same port."""

    secret: str = ""
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hang: bool = False
    hanging: int = 0
    bad_signatures: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _ts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{kind}/{name}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            self._release.set()
            await self._runner.cleanup()
            self._runner = None
            self._release = asyncio.Event()

    def of(self, prefix: str) -> list[Received]:
        return [r for r in self.received if r.path.startswith(prefix)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.hang:
            self.hanging += 1
            await self._release.wait()
            return web.Response(status=503)
        if self.script:
            status, headers = self.script.pop(0)
            if request.match_info["kind"] == "api":
                # The Web API answers errors as JSON with ok=false.
                error = {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}
                return web.json_response(error, status=status, headers=headers)
            return web.Response(status=status, headers=headers, text="scripted")
        headers = {k: v for k, v in request.headers.items()}
        kind = request.match_info["kind"]
        if kind == "hook" and self.secret:
            expected = sign(self.secret, headers.get(TIMESTAMP_HEADER, ""), body)
            if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
                self.bad_signatures += 1
                return web.Response(status=401, text="bad signature")
        self.received.append(Received(request.path, headers, body))
        if kind == "api":
            self._ts += 1
            fields = orjson.loads(body) if body.startswith(b"{") else dict(await request.post())
            channel = fields.get("channel", "C0")
            answer = {"ok": True, "channel": channel, "ts": f"1700000000.{self._ts:06d}"}
            return web.json_response(answer)
        return web.Response(text="ok")


def escalations(
    hour: datetime,
    *,
    clause: str,
    region: str,
    total: int,
    unclear: int,
    tag: str = "",
) -> list[dict[str, Any]]:
    """``total`` escalations created in ``hour`` for one clause and region, ``unclear`` of
    them with reason policy_unclear."""
    out = []
    for i in range(total):
        eid = f"{tag}{clause}-{region}-{hour:%Y%m%d%H}-{i}"
        out.append(
            escalation(
                event_id=eid,
                escalation_id=eid,
                occurred_at=(hour + timedelta(minutes=i % 60)).isoformat(),
                suggested_clause_id=clause,
                region=region,
                language=region.lower(),
                escalation_reason="policy_unclear" if i < unclear else "other",
            )
        )
    return out


async def fold(pool: Pool, events: Sequence[dict[str, Any]]) -> None:
    """Fold events into facts and rollups as the consumer does, in batches of a thousand."""
    for start in range(0, len(events), 1000):
        await fold_events(pool, events[start : start + 1000])


def hour_at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def wait_for_passes(alerts: Alerts, **at_least: int) -> None:
    """Wait until each named task completed at least that many runs."""

    async def probe() -> dict[str, int]:
        return dict(alerts.passes)

    await eventually(probe, lambda p: all(p[k] >= n for k, n in at_least.items()))


@dataclass
class RunningApp:
    app: FastAPI
    client: httpx.AsyncClient
    alerts: Alerts
    runtime: Runtime


@contextlib.asynccontextmanager
async def alerts_app(
    settings: AlertTestSettings, clock: ManualClock, *, migrate: bool = True
) -> AsyncIterator[RunningApp]:
    """An app with the lifespan insights gives alerting (pool, migrations, producer,
    ``alerts_running``) and the alerts router, on a manual clock; with
    ``settings.gateway_secret`` set, it answers signed callers only, as insights does
    (``pp_shared.testing.identity.SignedAs`` signs a client's requests)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime("insights", settings)
        app.state.runtime = runtime
        try:
            pool = await runtime.open_pool()
            if migrate:
                await apply_migrations(pool, schema="insights", package="pp_insights")
                await facts.finish_pending_rebuilds(pool)
            await ensure_topics(settings, [Topic.BREACHES])
            producer = await runtime.open_producer()
            async with alerts_running(pool, producer, settings, clock=clock) as alerts:
                app.state.alerts = alerts
                # The tasks' first runs happen at start; tests begin once they are over,
                # so that nothing a test writes is seen by a run it did not ask for.
                await wait_for_passes(alerts, evaluate=1, send=1)
                yield
        finally:
            await runtime.close()

    app = FastAPI(lifespan=lifespan)
    install_http_guards(app, max_body_bytes=1024 * 1024)
    app.add_middleware(GatewayIdentity, secret=settings.gateway_secret)
    install_problem_handlers(app)
    app.include_router(router)
    app.state.alerts_clock = clock
    async with running_app(app) as client:
        yield RunningApp(app, client, app.state.alerts, app.state.runtime)


def breach_message(**over: Any) -> BreachMessage:
    """A breach message as the outbox holds it: a firing breach of a threshold rule, with the
    fields of ``over`` instead."""
    message = {
        "breach_id": 7,
        "transition": "firing",
        "state": "firing",
        "rule_id": "r",
        "rule_version": 2,
        "rule_name": "Overturns",
        "metric": "overturn_rate",
        "severity": "high",
        "scope": {"filters": {}, "group": {}},
        "fingerprint": "0123456789abcdef",
        "evidence": {"value": 0.5, "sample": 40, "op": ">", "threshold": 0.3},
        "peak_evidence": {"value": 0.5, "sample": 40, "op": ">", "threshold": 0.3},
        "opened_at": "2026-11-20T10:00:00Z",
        "firing_at": "2026-11-20T10:00:00Z",
        "resolved_at": None,
        "resolved_reason": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "breach_url": "/v1/breaches/7",
    }
    return BreachMessage.model_validate({**message, **over})
