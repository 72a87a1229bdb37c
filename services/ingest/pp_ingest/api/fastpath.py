"""``POST /v1/events`` answered before FastAPI's routing.

The single-event route is the hottest path upstream tools call. Routing, the request and
response wrappers and the middleware stack cost more per call than validating and
producing the event, so this plain ASGI handler serves it; the FastAPI route of the same
path (:mod:`pp_ingest.api.events`) documents it in the OpenAPI schema and answers through
:func:`accept_one` too.
"""

from __future__ import annotations

import time

import orjson
from aiokafka import AIOKafkaProducer
from starlette.types import ASGIApp, Receive, Scope, Send

from pp_ingest.api.problems import unavailable
from pp_ingest.errors import DependencyUnavailable
from pp_ingest.intake.dedupe import HashLookups
from pp_ingest.intake.recent import RecentEvents
from pp_ingest.intake.service import submit
from pp_ingest.metrics import HTTP_SECONDS
from pp_ingest.settings import IngestSettings
from pp_shared.asgi import read_body
from pp_shared.http_guards import require_json
from pp_shared.problems import ProblemError

PATH = "/v1/events"
_JSON = [(b"content-type", b"application/json")]


async def accept_one(
    lookups: HashLookups,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
    recent: RecentEvents,
) -> tuple[int, bytes]:
    """Status and JSON answer for one submitted event (problems are raised)."""
    receipt = await submit(lookups, producer, settings, body=body, recent=recent)
    answer = orjson.dumps({"event_id": receipt.event_id, "status": receipt.status})
    return (200 if receipt.status == "duplicate" else 202), answer


class SingleEvent:
    """Serves ``POST /v1/events``; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        try:
            runtime = scope["app"].state.runtime
            settings: IngestSettings = runtime.settings
            require_json(scope)
            body = await read_body(scope, receive, settings.max_body_bytes)
            state = scope["app"].state
            status, content = await accept_one(
                state.lookups, runtime.producer, settings, body=body, recent=state.recent
            )
        except (ProblemError, DependencyUnavailable) as exc:
            problem = exc if isinstance(exc, ProblemError) else unavailable(exc, settings)
            status = problem.status_code
            await problem.response(PATH)(scope, receive, send)
        else:
            headers = [*_JSON, (b"content-length", str(len(content)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
        finally:
            HTTP_SECONDS.labels("POST", PATH, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
