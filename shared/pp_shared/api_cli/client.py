"""The public API as the commands call it: a base URL, an optional key sent as a bearer token,
and RFC 9457 problem documents turned into readable errors. The key is never printed."""

from __future__ import annotations

from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
PROBLEM_JSON = "application/problem+json"
MAX_SHOWN_ERRORS = 20


class ApiError(Exception):
    """The API answered with an error (``status``, its problem document if any), or could
    not be reached (``status`` 0)."""

    def __init__(self, status: int, message: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problem = problem


class Api:
    """A blocking client of the public API."""

    def __init__(self, url: str, key: str | None, *, timeout: float = 60.0) -> None:
        headers = {"user-agent": "policypulse-cli"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The answer; ApiError for a status of 400 or more (unless listed in ``ok``) or when
        the API cannot be reached."""
        sent = dict(headers or {})
        if json is not None or (content is not None and "content-type" not in sent):
            sent.setdefault("content-type", "application/json")
        if method in ("POST", "PUT", "PATCH") and json is None and content is None:
            # Every POST states its media type, with or without a body.
            sent.setdefault("content-type", "application/json")
        try:
            response = self.http.request(
                method, path, params=params, json=json, content=content, headers=sent
            )
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach {self.url}: {type(exc).__name__}") from exc
        if response.status_code >= 400 and response.status_code not in ok:
            raise error_of(response)
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()


def error_of(response: httpx.Response) -> ApiError:
    """An ApiError for an error answer, with its problem document when it has one."""
    problem: dict[str, Any] | None = None
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media in (PROBLEM_JSON, "application/json"):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            problem = body
    if problem is not None:
        message = str(problem.get("detail") or problem.get("title") or "error")
    else:
        message = response.reason_phrase or "error"
    return ApiError(response.status_code, message, problem)


def describe(error: ApiError) -> str:
    """The error as lines a person reads: status, title, detail and each field error with
    its pointer (the first ones, and how many more there are)."""
    if error.status == 0:
        return f"error: {error.message}"
    problem = error.problem or {}
    title = problem.get("title")
    head = f"error: HTTP {error.status}"
    if title:
        head += f" {title}"
    lines = [head, f"  {error.message}"] if error.message != title else [head]
    errors = problem.get("errors") or []
    for item in errors[:MAX_SHOWN_ERRORS]:
        lines.append("  " + field_error(item))
    total = problem.get("errors_total", len(errors))
    if total > min(len(errors), MAX_SHOWN_ERRORS):
        lines.append(f"  ... and {total - min(len(errors), MAX_SHOWN_ERRORS)} more")
    return "\n".join(lines)


def field_error(item: dict[str, Any]) -> str:
    """``/pointer: detail (expected ...; found ...)``."""
    pointer = item.get("pointer", "")
    text = f"{pointer or '(body)'}: {item.get('detail', '')}"
    notes = [f"{k} {item[k]!r}" for k in ("expected", "found") if k in item]
    if notes:
        text += f" ({'; '.join(notes)})"
    return text
