"""The /v1 relay as a plain ASGI middleware, in front of FastAPI's routing.

Every public request passes through here, so it skips what a FastAPI route costs per call
(routing, dependency resolution, the request and response wrappers): on the single-event
path those cost more than relaying the request itself.

The relay publishes exactly the paths of the services behind it, so it works on the path as
the client sent it (``raw_path``, still percent-encoded), never on the decoded ``path``:
decoded, ``/v1/dead-letters/..%2F..%2Fmetrics`` is a traversal to ingest's ``/metrics``,
``%3F`` starts a query and ``%23`` a fragment, and the HTTP client or the service would act
on them. The rule:

- A request is checked and relayed when its raw path starts with ``/v1/``; its route, and
  with it the service, is found in the role table by the raw path, each template parameter
  matching one raw segment (``/v1/%72ules`` is not ``/v1/rules``).
- A raw path is refused with 400 (problem type ``bad-path``, naming the segment and why) and
  nothing is sent upstream when a segment contains an encoded slash (``%2F``), a backslash
  (``\\`` or ``%5C``), a ``?`` or ``#`` (literal or ``%3F``, ``%23``), a control character
  (literal, or ``%00``-``%1F``, ``%7F``), a space or a non-ASCII byte, or a ``%`` that is not
  followed by two hex digits; or when a segment is ``.`` or ``..``, literal or with ``%2E``.
  Hex digits match in either case.
- The upstream URL is built with ``encoded=True`` from the raw path and the raw query string,
  so aiohttp neither re-quotes nor collapses anything: the service receives the path and the
  query byte for byte as the client sent them (repeated parameters stay repeated).

One precompiled regular expression finds the first refused byte sequence in one pass over
the raw path; a path that passes costs that search and nothing else.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import aiohttp
from starlette.types import ASGIApp, Receive, Scope, Send
from yarl import URL

from pp_gateway.access import GATEWAY
from pp_gateway.gate import IDENTITY_STATE, ROUTE_KEY, Call, Gate, body_limit
from pp_gateway.guard import Denial
from pp_shared.asgi import read_body
from pp_shared.problems import BadPath, ProblemError, Unavailable

PREFIX = b"/v1/"
_FORWARD_REQUEST = frozenset({b"content-type", b"accept", b"idempotency-key"})
# Never forwarded: "authorization" (the key stays here) and the identity headers, which only
# the gateway writes, signed.
_FORWARD_RESPONSE = frozenset({"content-type", "retry-after", "location", "allow"})

# The leftmost match is the first reason to refuse a raw path. Alternatives, in order: an
# escape of "/", "\", "?", "#" or a control character, or a "%" without two hex digits; a
# byte that is never sent as is (control, space, non-ASCII, "\", "?", "#"); a "." or ".."
# segment (the match starts at the "/" before it).
_UNSAFE_PATH = re.compile(
    rb"%(?:2[fF]|5[cC]|3[fF]|23|[01][0-9a-fA-F]|7[fF]|(?![0-9a-fA-F]{2}))"
    rb"|[\x00-\x20\x7f-\xff\\?#]"
    rb"|/(?:\.|%2[eE]){1,2}(?=/|\Z)"
)
# A query string is relayed as sent; these bytes could not be (servers refuse them anyway).
_UNSAFE_QUERY = re.compile(rb"[\x00-\x20\x7f-\xff]")
_ESCAPES = {
    b"2F": 'an encoded "/" (%2F)',
    b"5C": 'an encoded "\\" (%5C)',
    b"3F": 'an encoded "?" (%3F)',
    b"23": 'an encoded "#" (%23)',
}
_LITERALS = {ord("\\"): 'a "\\"', ord("?"): 'a "?"', ord("#"): 'a "#"'}
_QUOTED_CHARS = 24  # of a refused segment, in the problem's detail
# Kept as is when a decoded path has to be encoded again: RFC 3986 sub-delims, ":" and "@".
_PATH_SAFE = "/!$&'()*+,;=:@"


class Relay:
    """Checks and relays ``/v1/*`` (:mod:`pp_gateway.guard`); everything else goes to ``app``.
    Routes the gateway answers itself (keys, audit) go to ``app`` too, with the caller in the
    request's state."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate
        self.settings = gate.settings
        # Upstream base URL -> (scheme, authority, path prefix), parsed once.
        self._bases: dict[str, tuple[str, str, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw: bytes | None = scope.get("raw_path")
        if raw is None:
            raw = quote(scope["path"], safe=_PATH_SAFE).encode("ascii")
        if not raw.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        call = Call(scope, raw)
        try:
            answer = await self._checked(call, scope, receive, send)
        except BadPath as problem:
            # No instance: the detail already quotes as much of the path as is shown.
            call.denied(problem, "bad path")
            await problem.response()(scope, receive, send)
        except ProblemError as problem:
            call.failed(problem)
            await problem.response(scope["path"])(scope, receive, send)
        else:
            if answer is not None:
                status, headers, content = answer
                call.status = status
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": content})
        finally:
            self.gate.finish(call)

    async def _checked(
        self, call: Call, scope: Scope, receive: Receive, send: Send
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        guard = self.gate.guard
        identity = await guard.identify(scope["headers"])
        if isinstance(identity, Denial):
            raise call.denied(identity.problem, identity.reason)
        call.identity = identity
        unsafe = _UNSAFE_PATH.search(call.raw, len(PREFIX) - 1)
        if unsafe is not None:
            raise _refusal(call.raw, unsafe)
        path = call.raw.decode("ascii")  # the check let only ASCII through
        route = guard.route(scope["method"], path)
        if isinstance(route, Denial):
            raise call.denied(route.problem, route.reason)
        call.route = route
        scope[ROUTE_KEY] = route.path
        query: bytes = scope.get("query_string", b"")
        if query and (bad := _UNSAFE_QUERY.search(query)) is not None:
            raise BadPath(f"the query string contains the byte 0x{bad[0][0]:02X}")
        admitted = guard.admit(identity, route, query)
        if isinstance(admitted, Denial):
            raise call.denied(admitted.problem, admitted.reason)
        if route.service == GATEWAY:
            scope.setdefault("state", {})[IDENTITY_STATE] = identity
            await self.app(scope, receive, call.watch(send))
            return None
        return await self._relay(call, scope, receive, admitted.query, path)

    async def _relay(
        self, call: Call, scope: Scope, receive: Receive, query: bytes, path: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        assert call.route is not None
        assert call.identity is not None
        service = call.route.service
        breaker = self.gate.breakers[service]
        wait = breaker.allow()
        if wait > 0:
            problem = Unavailable(
                f"the {service} service is failing; the gateway is not sending it requests "
                "for a moment",
                headers={"Retry-After": str(max(1, round(wait)))},
                extra={"reason": "circuit open"},
            )
            raise call.denied(problem, "circuit open")
        body = await read_body(scope, receive, body_limit(call.route, self.settings))
        forward = [
            (key.decode("latin-1"), value.decode("latin-1"))
            for key, value in scope["headers"]
            if key in _FORWARD_REQUEST
        ]
        if self.gate.secret is not None:
            forward.extend(self.gate.signed(call.identity, scope["method"], call.raw, query))
        base = getattr(self.settings, f"{service}_url").rstrip("/")
        url = self._upstream_url(base, path, query.decode("ascii"))
        client: aiohttp.ClientSession = scope["app"].state.client
        try:
            async with client.request(scope["method"], url, data=body, headers=forward) as upstream:
                content = await upstream.read()
                headers = [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in upstream.headers.items()
                    if k.lower() in _FORWARD_RESPONSE
                ]
                headers.append((b"content-length", str(len(content)).encode()))
                breaker.succeeded()
                return upstream.status, headers, content
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            breaker.failed()
            raise Unavailable(
                "the service behind this path is unreachable",
                headers={"Retry-After": "5"},
                extra={"reason": type(exc).__name__},
            ) from exc

    def _upstream_url(self, base: str, path: str, query: str) -> URL:
        """``base`` + ``path`` + ``?query``, all taken as already encoded."""
        parts = self._bases.get(base)
        if parts is None:
            parsed = URL(base)
            parts = (parsed.scheme, parsed.raw_authority, parsed.raw_path.rstrip("/"))
            self._bases[base] = parts
        scheme, authority, prefix = parts
        return URL.build(
            scheme=scheme,
            authority=authority,
            path=prefix + path,
            query_string=query,
            encoded=True,
        )


def _refusal(raw: bytes, unsafe: re.Match[bytes]) -> BadPath:
    """The problem for a raw path refused at ``unsafe``: which segment, and why."""
    found = unsafe[0]
    start = unsafe.start()
    if found[0] == ord("/"):
        start += 1
        reason = 'is "." or ".."'
    elif found == b"%":
        reason = 'contains a "%" that is not followed by two hex digits'
    elif found[0] == ord("%"):
        code = found[1:].upper()
        control = "an encoded control character (%" + code.decode("ascii") + ")"
        reason = "contains " + _ESCAPES.get(code, control)
    else:
        literal = f"a control character, space or non-ASCII byte (0x{found[0]:02X})"
        reason = "contains " + _LITERALS.get(found[0], literal)
    first = raw.rfind(b"/", 0, start) + 1
    end = raw.find(b"/", start)
    segment = raw[first : end if end >= 0 else len(raw)]
    shown = segment[:_QUOTED_CHARS].decode("ascii", "backslashreplace")
    if len(segment) > _QUOTED_CHARS:
        shown += "…"
    number = raw.count(b"/", len(PREFIX) - 1, first)
    return BadPath(f'path segment {number} ("{shown}") {reason}')
