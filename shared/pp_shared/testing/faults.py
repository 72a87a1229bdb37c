"""A TCP proxy that tests cut and restore, to take a server away without losing its state.

Stopping the embedded broker would also wipe its memory storage (topics, logs, committed
offsets), which no real Kafka outage does. Putting this proxy between the services and the
broker models what an outage is: the network path fails, connections drop and new ones are
refused, and when the path comes back the broker still holds everything it acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class FaultProxy:
    """Forward ``listen_host:listen_port`` to ``target``; ``cut()`` and ``restore()`` the path.

    The proxy runs its own event loop in a thread so that it keeps forwarding while the
    test's code blocks (fixtures that start processes synchronously, for instance).
    """

    def __init__(self, target_host: str, target_port: int, *, host: str, port: int) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        self.restore()
        return self

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def cut(self) -> None:
        """Refuse new connections and reset the open ones, as a failed network path does."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again."""
        self._call(self._listen())

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, self.host, self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink, (writer, up_writer)))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        both: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            with contextlib.suppress(ConnectionError):  # a side went away: close both below
                while chunk := await source.read(256 * 1024):
                    sink.write(chunk)
                    await sink.drain()
        finally:
            # Abort rather than close: a cut path resets, it does not say goodbye.
            for end in both:
                end.transport.abort()
