"""RFC 9457 problem details: one error base class, one renderer, field paths as JSON pointers."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://policypulse.dev/problems/"
MAX_LISTED_ERRORS = 100
"""An answer lists at most this many errors in all: enough to show a sender what is wrong,
and the answer stays in proportion to the request (a body of 10,000 bad items or a header of a
million unknown columns once answered tens of megabytes). When errors are left out, the answer
says so with ``errors_total`` (every error found) and ``errors_truncated: true``."""


def json_pointer(loc: Iterable[int | str]) -> str:
    """RFC 6901 pointer for a pydantic error location."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


def field_errors(
    errors: Sequence[ErrorDetails] | Sequence[dict[str, Any]], *, strip: int = 0
) -> list[dict[str, Any]]:
    """Turn pydantic errors into ``{pointer, detail, expected, found}`` items.

    ``strip`` drops leading location parts (``body``, the union tag) that are not fields.
    """
    out: list[dict[str, Any]] = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if not _is_union_tag(p)][strip:]
        ctx = err.get("ctx") or {}
        if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            # The discriminator itself is wrong or missing: point at it.
            loc = [*loc, str(ctx.get("discriminator", "")).strip("'")]
        item: dict[str, Any] = {"pointer": json_pointer(loc), "detail": err.get("msg", "")}
        if "expected_tags" in ctx:
            item["expected"] = str(ctx["expected_tags"])
        elif "expected" in ctx:
            item["expected"] = str(ctx["expected"])
        elif "pattern" in ctx:
            item["expected"] = f"a string matching {ctx['pattern']}"
        if "input" in err and err.get("type") not in ("missing", "union_tag_not_found"):
            found = err["input"]
            if isinstance(found, str) and len(found) > 80:
                found = found[:80] + "…"
            if err.get("type") == "union_tag_invalid":
                found = ctx.get("tag", found)
            if isinstance(found, float) and not math.isfinite(found):
                found = str(found)  # JSON has no NaN or Infinity: the answer could not say it
            item["found"] = (
                found if isinstance(found, str | int | float | bool) else type(found).__name__
            )
        out.append(item)
    return out


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the discriminator value ("escalation.created") into locations.
    return (
        isinstance(part, str)
        and "." in part
        and part.split(".")[0]
        in {
            "escalation",
            "decision",
            "appeal",
            "qa",
        }
    )


def listed_errors(errors: Sequence[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    """The ``errors`` member of an answer: the first :data:`MAX_LISTED_ERRORS` of ``errors``,
    with ``errors_total`` and ``errors_truncated`` when some were left out. ``total`` counts
    errors found but not handed in (a caller that stopped building them at the limit)."""
    listed = list(errors[:MAX_LISTED_ERRORS])
    total = max(len(errors), total or 0)
    if total == len(listed):
        return {"errors": listed}
    return {"errors": listed, "errors_total": total, "errors_truncated": True}


def truncate_item_errors(items: Sequence[Any], total: int) -> dict[str, Any]:
    """Keep the first :data:`MAX_LISTED_ERRORS` errors of an answer with one entry per item
    (each item a dict, its errors, if any, in ``errors``), in item order: the item on which the
    limit falls keeps the errors that fit, the items after it lose ``errors`` (and keep their
    status and reason). ``total`` is the number of errors of all items. Returns the members to
    add to the answer: none when nothing was left out."""
    if total <= MAX_LISTED_ERRORS:
        return {}
    room = MAX_LISTED_ERRORS
    for item in items:
        errors = item.get("errors")
        if errors is None:
            continue
        if len(errors) <= room:
            room -= len(errors)
        elif room > 0:
            item["errors"] = errors[:room]
            room = 0
        else:
            del item["errors"]
    return {"errors_total": total, "errors_truncated": True}


class ProblemError(Exception):
    """A domain error that renders as a problem document with its HTTP status."""

    status_code: int = 400
    problem_type: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        errors_total: int | None = None,
    ) -> None:
        """``errors`` may hold every error (the answer lists the first
        :data:`MAX_LISTED_ERRORS`), or only the first ones with ``errors_total`` counting all."""
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.errors_total = errors_total
        self.headers = headers or {}
        self.extra = extra or {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.problem_type,
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body.update(listed_errors(self.errors, self.errors_total))
        body.update(self.extra)
        return body

    def response(self, instance: str | None = None) -> JSONResponse:
        """The problem document as an answer, with its status and headers."""
        return problem_response(self.status_code, self.to_problem(instance), self.headers)


class InvalidInput(ProblemError):
    status_code = 422
    problem_type = "validation-error"
    title = "The request does not match the contract"


class BadPath(ProblemError):
    """A request path that could mean something else to the server behind the gateway."""

    status_code = 400
    problem_type = "bad-path"
    title = "The request path is not allowed"


class Unauthorized(ProblemError):
    """No credentials, or credentials that do not hold: the same answer whatever the reason,
    so that it tells nothing about which keys exist."""

    status_code = 401
    problem_type = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="policypulse"', **kwargs.pop("headers", {})}
        super().__init__(detail, headers=headers, **kwargs)


class Forbidden(ProblemError):
    status_code = 403
    problem_type = "forbidden"
    title = "Not allowed for this key"


class TooManyRequests(ProblemError):
    status_code = 429
    problem_type = "rate-limited"
    title = "Too many requests"


class NotFound(ProblemError):
    status_code = 404
    problem_type = "not-found"
    title = "Not found"


class PayloadTooLarge(ProblemError):
    status_code = 413
    problem_type = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaType(ProblemError):
    status_code = 415
    problem_type = "unsupported-media-type"
    title = "The body's media type is not one this endpoint reads"


class InternalError(ProblemError):
    status_code = 500
    problem_type = "internal-error"
    title = "Internal error"


class Unavailable(ProblemError):
    status_code = 503
    problem_type = "unavailable"
    title = "A dependency is unavailable; retry later"


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method the API documents at the request's path (the router stops at the first
    route whose path matches, so its own 405 names that route's methods alone). A path
    written out wins over a template that also matches it (``/v1/rules/preview`` is not
    ``/v1/rules/{rule_id}``)."""
    app = request.app
    table: list[tuple[re.Pattern[str], int, frozenset[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if table is None:
        table = [
            (
                re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"),
                path.count("{"),
                frozenset(m.upper() for m in item if m in _HTTP_METHODS),
            )
            for path, item in app.openapi().get("paths", {}).items()
        ]
        app.state.allowed_methods = table
    matches = [
        (params, methods) for pattern, params, methods in table if pattern.match(request.url.path)
    ]
    fewest = min((params for params, _ in matches), default=0)
    allowed = set().union(*(methods for params, methods in matches if params == fewest))
    return ", ".join(sorted(allowed))


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def install_problem_handlers(app: FastAPI) -> None:
    """Render domain errors, request validation errors and HTTP errors as problem details,
    and anything else as a logged 500 problem."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return exc.response(request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError | ValidationError)
        found = exc.errors()
        # Only the errors that are listed are rendered.
        errs = field_errors(found[:MAX_LISTED_ERRORS])
        problem = InvalidInput(
            f"{len(found)} field(s) failed validation", errors=errs, errors_total=len(found)
        )
        return problem_response(422, problem.to_problem(request.url.path))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        body = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem_response(exc.status_code, body, headers)

    async def on_unhandled(request: Request, exc: Exception) -> JSONResponse:
        # The last resort (Starlette raises the error again once this answer is sent, for the
        # server to log as well). Never the body or the query string: they may hold content.
        route = request.scope.get("route")
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={
                "method": request.method,
                "route": getattr(route, "path", "unmatched"),
                "error": type(exc).__name__,
            },
        )
        problem = InternalError("the request failed on an unexpected error; it was logged")
        return problem.response(request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
