"""Small pieces for the plain ASGI handlers that serve the hottest paths."""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Scope

from pp_shared.problems import PayloadTooLarge


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, when it sent a valid one."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body; PayloadTooLarge as soon as it (or its Content-Length) passes
    ``limit``, so an oversized body is never held in memory."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body may be at most {limit} bytes")
