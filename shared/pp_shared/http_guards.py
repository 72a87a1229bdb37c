"""What every service checks before a route reads a request, whatever the route.

- **Body size** (:class:`BodyLimit`): a body over the service's ``max_body_bytes`` is a 413,
  answered from its Content-Length before a byte of it is read, or as soon as the streamed
  chunks pass the limit.
- **Media type** (:func:`guard_request`): a POST, PUT or PATCH must carry a Content-Type its
  route reads, even with an empty body, and so must a DELETE that carries a body; anything
  else is a 415. A route reads what its OpenAPI ``requestBody`` declares, else JSON
  (``application/json`` or ``application/*+json``; parameters such as ``charset`` are
  ignored). This keeps browsers from writing across sites: a form or ``text/plain`` POST
  needs no CORS preflight, a JSON one does. (A DELETE without a body is left alone: a
  browser preflights every DELETE.)
- **Query parameters** (:func:`guard_request`): a name the route does not declare is a 422
  naming it, so a misspelt filter never widens an answer. A route declares its parameters
  in its signature and dependencies, or (read from ``request.query_params`` by hand) in
  ``openapi_extra["parameters"]``.

``install_http_guards`` puts all of it on an app.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params, get_validation_alias
from fastapi.routing import APIRoute
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pp_shared.asgi import read_body
from pp_shared.problems import InvalidInput, PayloadTooLarge, UnsupportedMediaType, json_pointer

JSON = "application/json"
JSON_SUFFIX = "+json"
CONTENT_TYPE_POINTER = "/headers/content-type"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def media_type(content_type: str) -> str:
    """``application/json`` of ``Application/JSON; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    """``application/json`` or a structured ``application/*+json`` type."""
    return media == JSON or (media.startswith("application/") and media.endswith(JSON_SUFFIX))


JSON_TYPES = (JSON, f"application/*{JSON_SUFFIX}")


def unsupported_media_type(found: str | None, expected: str) -> UnsupportedMediaType:
    error: dict[str, Any] = {
        "pointer": CONTENT_TYPE_POINTER,
        "detail": "missing" if found is None else "not a media type this endpoint reads",
        "expected": expected,
    }
    if found is not None:
        error["found"] = found
    return UnsupportedMediaType(f"the Content-Type must be one of: {expected}", errors=[error])


_JSON_EXPECTED = ", ".join(JSON_TYPES)


def require_json(scope: Scope) -> None:
    """UnsupportedMediaType unless the request says its body is JSON: the check of
    :func:`guard_request`, for plain ASGI handlers that serve a JSON route themselves. One
    pass over the headers; the usual ``application/json`` costs one comparison."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            if value == b"application/json" or is_json(media_type(value.decode("latin-1"))):
                return
            raise unsupported_media_type(value.decode("latin-1"), _JSON_EXPECTED)
    raise unsupported_media_type(None, _JSON_EXPECTED)


# --- body size -----------------------------------------------------------------------------


def _may_carry_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key == b"content-length":
            return value != b"0"
        if key == b"transfer-encoding":
            return True
    return False


class BodyLimit:
    """Answers 413 (problem+json) for a request body over ``max_bytes``, from its
    Content-Length before reading any of it, else as soon as the streamed chunks pass the
    limit; a body within it is handed on whole. Requests without a body pass untouched."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_carry_body(scope["headers"]):
            await self.app(scope, receive, send)
            return
        disconnected = False

        async def watched() -> Message:
            nonlocal disconnected
            message = await receive()
            disconnected = disconnected or message["type"] == "http.disconnect"
            return message

        try:
            body = await read_body(scope, watched, self.max_bytes)
        except PayloadTooLarge as problem:
            await problem.response(scope["path"])(scope, receive, send)
            return
        if disconnected:
            return  # nobody is waiting for an answer to half a request
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` as one message, then hands on to ``receive``."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# --- media type and query parameters --------------------------------------------------------


@dataclass(frozen=True)
class RouteRules:
    """What a route reads: its query parameters, and the media types of its body."""

    query: frozenset[str]
    query_expected: str
    media_types: frozenset[str]
    json: bool
    media_expected: str

    @classmethod
    def of(cls, route: APIRoute) -> RouteRules:
        extra = route.openapi_extra or {}
        query = _declared_query(route.dependant) + [
            p["name"] for p in extra.get("parameters", []) if p.get("in") == "query"
        ]
        query = list(dict.fromkeys(query))
        content = (extra.get("requestBody") or {}).get("content") or {JSON: {}}
        media_types = frozenset(media_type(m) for m in content)
        json = JSON in media_types
        expected = [*(JSON_TYPES if json else ()), *sorted(media_types - {JSON})]
        return cls(
            query=frozenset(query),
            query_expected=", ".join(query) if query else "no query parameters",
            media_types=media_types,
            json=json,
            media_expected=", ".join(expected),
        )


def _declared_query(dependant: Dependant) -> list[str]:
    """The query parameter names of a route and of all its dependencies, in order, with
    parameter models spread into their fields."""
    fields = []
    pending = [dependant]
    while pending:
        current = pending.pop(0)
        fields.extend(current.query_params)
        pending.extend(current.dependencies)
    return [get_validation_alias(f) for f in get_flat_params(Dependant(query_params=fields))]


# By route identity (routes compare by value and do not hash), dropped with the route.
_RULES: dict[int, tuple[weakref.ref[APIRoute], RouteRules]] = {}


def rules_of(route: APIRoute) -> RouteRules:
    """The rules of ``route``, worked out on its first request."""
    key = id(route)
    cached = _RULES.get(key)
    if cached is not None and cached[0]() is route:
        return cached[1]
    rules = RouteRules.of(route)
    _RULES[key] = (weakref.ref(route, lambda _: _RULES.pop(key, None)), rules)
    return rules


async def guard_request(request: Request) -> None:
    """The media-type and query-parameter checks of the route that matched ``request``."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    rules = rules_of(route)
    if request.method in WRITES:
        _check_media_type(request, rules)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in rules.query]
    if unknown:
        raise InvalidInput(
            f"{len(unknown)} unknown query parameter(s)",
            errors=[
                {
                    "pointer": json_pointer(["query", name]),
                    "detail": "unknown parameter",
                    "expected": rules.query_expected,
                }
                for name in unknown
            ],
        )


def _check_media_type(request: Request, rules: RouteRules) -> None:
    headers = request.headers
    if request.method == "DELETE" and not _may_carry_body(request.scope["headers"]):
        return
    found = headers.get("content-type")
    media = media_type(found) if found is not None else ""
    if media in rules.media_types or (rules.json and is_json(media)):
        return
    raise unsupported_media_type(found, rules.media_expected)


def install_http_guards(app: FastAPI, *, max_body_bytes: int) -> None:
    """Guard every route of ``app``: call it before including routers (the check is an
    app-wide dependency, which applies to the routes included after it), and before adding
    middleware that should run before the body limit (middleware added later runs first)."""
    if any(type(route) is not Route for route in app.router.routes):
        raise RuntimeError("install_http_guards must run before any route is added")
    app.router.dependencies.insert(0, Depends(guard_request))
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
