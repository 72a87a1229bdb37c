"""Run one service's ASGI app with uvicorn, with JSON logs from the first line on."""

from __future__ import annotations

from typing import Protocol

import uvicorn

from pp_shared.logging import configure_logging

KEEP_ALIVE_SECONDS = 75


class _Serveable(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def log_level(self) -> str: ...


def serve(factory: str, settings: _Serveable, *, service: str, port: int) -> None:
    """``factory`` is ``module:create_app``; the app reads its own settings again."""
    configure_logging(service, settings.log_level)
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        # Longer than any client pool's idle timeout (the gateway keeps 15 s), so a client never
        # reuses a connection the server is closing at that moment.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
