"""The console's one way to the data: an in-process request to the gateway's own ``/v1``
API with the session's key. It passes the relay like any client's request (key, route, role,
areas, rate; the signed identity; metrics and audit), so a page shows and does exactly what
its key may through the API, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.types import ASGIApp, Message

JSON = "application/json"
CSV = "text/csv"
Params = list[tuple[str, str]] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def detail(self) -> str:
        """What a refused request's problem says, for the page."""
        if self.headers.get("content-type", "").startswith(("application/problem+json", JSON)):
            problem = self.json()
            if isinstance(problem, dict):
                detail = problem.get("detail") or problem.get("title") or ""
                errors = problem.get("errors") or []
                more = "; ".join(
                    f"{e.get('pointer', '')} {e.get('detail', '')}".strip()
                    for e in errors[:5]
                    if isinstance(e, dict)
                )
                return f"{detail} ({more})" if more else str(detail)
        return self.body[:300].decode("utf-8", "replace")


def query_string(params: Params | None) -> str:
    """``params`` as a query string; list values repeat their name, None is left out."""
    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    items = params.items() if isinstance(params, dict) else params
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((name, str(v)) for v in value)
        else:
            pairs.append((name, str(value)))
    return urlencode(pairs)


async def call(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    key: str,
    query: str = "",
    body: bytes = b"",
    accept: str = JSON,
    client: tuple[str, int] | None = None,
) -> Answer:
    """``method path?query`` through ``app`` (the gateway, whose relay checks and routes it),
    with ``key`` as the bearer key."""
    headers = [
        (b"authorization", b"Bearer " + key.encode("ascii")),
        (b"accept", accept.encode("ascii")),
        (b"host", b"console.internal"),
    ]
    if body:
        headers.append((b"content-type", JSON.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": ("console.internal", 80),
        "state": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    answer_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                answer_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(status, answer_headers, b"".join(chunks))
