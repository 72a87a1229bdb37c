"""The relay forwards exactly the paths it publishes, byte for byte, and refuses the rest.

The gateway runs under uvicorn (as in production) and is spoken to over a plain socket, so
each request target reaches it exactly as written here; the services behind it are one real
HTTP server that records the raw request target of every request it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import uvicorn
from aiohttp import web
from starlette.types import Message

from pp_gateway.main import create_app
from pp_shared.identity import Identity, signature
from pp_shared.testing.apps import running_app

from .support import SECRET, gateway_settings, make_key

BAD_PATH = "https://policypulse.dev/problems/bad-path"


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    target: str  # the raw request target: path and query, still percent-encoded
    body: bytes


@dataclass
class Recorder:
    """A real HTTP server standing in for every service behind the gateway."""

    seen: list[Seen] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "application/json", "X-Upstream-Only": "1"}
    )
    body: bytes = b'{"ok":true}'
    headers_seen: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.raw_path == "/openapi.json":
            # The gateway reading the services' documents, apart from the requests it relays.
            return web.Response(status=404)
        self.seen.append(Seen(request.method, request.raw_path, await request.read()))
        self.headers_seen.append({k.lower(): v for k, v in request.headers.items()})
        return web.Response(status=self.status, headers=self.headers, body=self.body)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@contextlib.asynccontextmanager
async def recorder_server() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    runner = web.ServerRunner(web.Server(recorder.handle, access_log=None), handle_signals=False)
    await runner.setup()
    sock = listening_socket()
    await web.SockSite(runner, sock).start()
    try:
        yield recorder, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


@contextlib.asynccontextmanager
async def gateway_server(upstream: str, database_url: str) -> AsyncIterator[int]:
    """The gateway under uvicorn on a socket that is listening before the server starts, so
    a client may connect at once (it is accepted once the lifespan has started)."""
    settings = gateway_settings(database_url, upstream)
    config = uvicorn.Config(create_app(settings), log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    sock = listening_socket()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


@dataclass
class Stack:
    recorder: Recorder
    port: int
    key: str

    async def send(self, method: str, target: bytes, body: bytes = b"") -> Answer:
        """One HTTP/1.1 request with ``target`` written into the request line as is."""
        return await asyncio.wait_for(self._send(method, target, body), timeout=10)

    async def _send(self, method: str, target: bytes, body: bytes) -> Answer:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            head = b"%s %s HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n" % (
                method.encode(),
                target,
            )
            head += b"Authorization: Bearer %s\r\n" % self.key.encode()
            if body:
                head += b"Content-Type: application/json\r\n"
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            response = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        head_bytes, _, content = response.partition(b"\r\n\r\n")
        status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Answer(int(status_line.split(" ")[1]), headers, content)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    key = await make_key(database_url)
    async with (
        recorder_server() as (recorder, upstream),
        gateway_server(upstream, database_url) as port,
    ):
        yield Stack(recorder, port, key)


REFUSED = [
    pytest.param(
        "GET",
        b"/v1/dead-letters/..%2F..%2Fmetrics",
        'path segment 2 ("..%2F..%2Fmetrics") contains an encoded "/" (%2F)',
        id="encoded-slash-to-ingest-metrics",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/..%2f..%2fopenapi.json",
        'path segment 2 ("..%2f..%2fopenapi.json") contains an encoded "/" (%2F)',
        id="encoded-slash-lowercase-to-insights-openapi",
    ),
    pytest.param(
        "POST",
        b"/v1/events/..%2Fdead-letters:replay",
        'path segment 2 ("..%2Fdead-letters:replay") contains an encoded "/" (%2F)',
        id="encoded-slash-to-unpublished-replay",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/x%3Fadmin=1",
        'path segment 2 ("x%3Fadmin=1") contains an encoded "?" (%3F)',
        id="encoded-question-mark-smuggles-a-query",
    ),
    pytest.param(
        "DELETE",
        b"/v1/rules/%23x",
        'path segment 2 ("%23x") contains an encoded "#" (%23)',
        id="encoded-hash-truncates-the-path",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/..%5c..%5Cmetrics",
        'path segment 2 ("..%5c..%5Cmetrics") contains an encoded "\\" (%5C)',
        id="encoded-backslash",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/..\\..\\metrics",
        'path segment 2 ("..\\..\\metrics") contains a "\\"',
        id="literal-backslash",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/%2E%2E/%2e%2E/metrics",
        'path segment 2 ("%2E%2E") is "." or ".."',
        id="encoded-dot-dot-segment",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/.%2e/metrics",
        'path segment 2 (".%2e") is "." or ".."',
        id="half-encoded-dot-dot-segment",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/../../metrics",
        'path segment 2 ("..") is "." or ".."',
        id="literal-dot-dot-segment",
    ),
    pytest.param(
        "GET",
        b"/v1/../metrics",
        'path segment 1 ("..") is "." or ".."',
        id="dot-dot-as-the-first-segment",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/a/%2E",
        'path segment 3 ("%2E") is "." or ".."',
        id="encoded-dot-segment-at-the-end",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/a%00b",
        'path segment 2 ("a%00b") contains an encoded control character (%00)',
        id="encoded-nul",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/a%0d%0AX-Injected:%201",
        'path segment 2 ("a%0d%0AX-Injected:%201") contains an encoded control character (%0D)',
        id="encoded-crlf",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/a%7f",
        'path segment 2 ("a%7f") contains an encoded control character (%7F)',
        id="encoded-del",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/a%zz",
        'path segment 2 ("a%zz") contains a "%" that is not followed by two hex digits',
        id="malformed-escape",
    ),
    pytest.param(
        "GET",
        b"/v1/rules/a%4",
        'path segment 2 ("a%4") contains a "%" that is not followed by two hex digits',
        id="truncated-escape",
    ),
]


@pytest.mark.parametrize(("method", "target", "detail"), REFUSED)
async def test_refused_path_is_400_problem_and_never_reaches_upstream(
    stack: Stack, method: str, target: bytes, detail: str
) -> None:
    body = b'{"ids": [1]}' if method == "POST" else b""
    answer = await stack.send(method, target, body)
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": BAD_PATH,
        "title": "The request path is not allowed",
        "status": 400,
        "detail": detail,
    }
    assert stack.recorder.seen == []


async def test_refusal_quotes_only_a_short_prefix_of_the_segment(stack: Stack) -> None:
    answer = await stack.send("GET", b"/v1/rules/" + b"a" * 5000 + b"%2F" + b"b" * 5000)
    assert answer.status == 400
    assert answer.json()["detail"] == (
        'path segment 2 ("' + "a" * 24 + '…") contains an encoded "/" (%2F)'
    )
    assert stack.recorder.seen == []


async def test_path_with_allowed_escapes_reaches_upstream_byte_for_byte(stack: Stack) -> None:
    target = b"/v1/rules/r%20x~caf%C3%A9%c3%a9t%C3%a9HATE.PROTECTED_ATTR~1!$&'()*+,;=:@/versions"
    answer = await stack.send("GET", target)
    assert answer.status == 200
    assert answer.json() == {"ok": True}
    assert stack.recorder.seen == [Seen("GET", target.decode(), b"")]


async def test_batch_path_with_colon_reaches_upstream_with_its_body(stack: Stack) -> None:
    body = b'[{"event_id": "a"}, {"event_id": "b"}]'
    answer = await stack.send("POST", b"/v1/events:batch", body)
    assert answer.status == 200
    assert stack.recorder.seen == [Seen("POST", "/v1/events:batch", body)]


async def test_query_reaches_upstream_as_sent(stack: Stack) -> None:
    target = (
        b"/v1/insights/volume?group_by=area&group_by=clause&interval=hour"
        b"&q=%2F..%2f%2e%2E&empty=&flag&x=%c3%a9+y"
    )
    answer = await stack.send("GET", target)
    assert answer.status == 200
    assert stack.recorder.seen == [Seen("GET", target.decode(), b"")]


async def test_dots_inside_a_segment_are_not_dot_segments(stack: Stack) -> None:
    target = b"/v1/taxonomy/versions/...a..b.hidden.v1.2."
    answer = await stack.send("GET", target)
    assert answer.status == 200
    assert stack.recorder.seen == [Seen("GET", target.decode(), b"")]


async def test_route_is_found_by_the_raw_path(stack: Stack) -> None:
    # %72 is "r": decoded this is /v1/rules/x, but /v1/%72ules is not a published path.
    answer = await stack.send("GET", b"/v1/%72ules/x")
    assert answer.status == 404
    assert answer.json()["detail"] == "no API at /v1/%72ules/x"
    assert stack.recorder.seen == []


async def test_encoded_slash_after_v1_is_not_relayed(stack: Stack) -> None:
    # Decoded, /v1%2Frules/x is /v1/rules/x; raw, it is not under /v1/ at all.
    answer = await stack.send("GET", b"/v1%2Frules/x")
    assert answer.status == 404
    assert stack.recorder.seen == []


async def test_405_from_upstream_carries_allow(stack: Stack) -> None:
    stack.recorder.status = 405
    stack.recorder.headers = {
        "Content-Type": "application/problem+json",
        "Allow": "GET, HEAD",
        "X-Upstream-Only": "1",
    }
    stack.recorder.body = b'{"status":405}'
    answer = await stack.send("DELETE", b"/v1/rules/r1")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert answer.headers["content-type"] == "application/problem+json"
    assert "x-upstream-only" not in answer.headers
    assert answer.body == b'{"status":405}'
    assert stack.recorder.seen == [Seen("DELETE", "/v1/rules/r1", b"")]


async def test_a_method_the_route_table_lacks_is_405_with_allow(stack: Stack) -> None:
    answer = await stack.send("DELETE", b"/v1/rules")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json()["detail"] == "DELETE is not served at this path; it serves GET, POST"
    assert stack.recorder.seen == []


async def test_replay_routes_reach_their_service(stack: Stack) -> None:
    body = b'{"ids": [1]}'
    for path in (b"/v1/dead-letters:replay", b"/v1/insights/dead-letters:replay"):
        answer = await stack.send("POST", path, body)
        assert answer.status == 200
    assert [s.target for s in stack.recorder.seen] == [
        "/v1/dead-letters:replay",
        "/v1/insights/dead-letters:replay",
    ]


async def test_identity_reaches_upstream_signed_and_the_key_does_not(stack: Stack) -> None:
    answer = await stack.send("GET", b"/v1/rules")
    assert answer.status == 200
    headers = stack.recorder.headers_seen[0]
    assert "authorization" not in headers
    identity = headers["x-pp-identity"].encode()
    expected = signature(SECRET.encode(), identity, b"GET", b"/v1/rules")
    assert headers["x-pp-identity-signature"].encode() == expected
    decoded = Identity.decode(identity)
    assert decoded is not None
    assert decoded[0] == Identity("tester", "admin", stack.key[:12], None)


@pytest.mark.parametrize(
    ("path", "status", "seen"),
    [
        pytest.param("/v1/rules/a b:d", 200, ["/v1/rules/a%20b:d"], id="relayed"),
        pytest.param("/v1/rules/../../metrics", 400, [], id="dot-segments-refused"),
        pytest.param("/v1/rules/a?b", 400, [], id="decoded-question-mark-refused"),
    ],
)
async def test_without_raw_path_the_decoded_path_is_quoted_again(
    path: str, status: int, seen: list[str], database_url: str
) -> None:
    """An ASGI server that gives no raw_path: the decoded path is percent-encoded again and
    checked like a raw one."""
    key = await make_key(database_url)
    async with recorder_server() as (recorder, upstream):
        app = create_app(gateway_settings(database_url, upstream))
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "query_string": b"",
            "headers": [(b"authorization", b"Bearer " + key.encode())],
            "server": ("test", 80),
            "client": ("test", 1),
        }
        async with running_app(app):
            await app(scope, receive, send)
    assert sent[0]["status"] == status
    assert [s.target for s in recorder.seen] == seen
