"""``policypulse up``: the whole system on one machine, on the embedded stack (or servers
of your own), supervised until Ctrl-C. Part of the development stack; the command line
itself (``pp_shared.devstack.cli``) imports this module only when ``up`` runs."""

from __future__ import annotations

import argparse
import fcntl
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pp_shared.devstack.embedded import (
    EMBEDDED_SESSION_TIMEOUT_MS,
    EmbeddedBroker,
    EmbeddedPostgres,
)
from pp_shared.devstack.stack import SERVICES, ServiceGroup, drain, python_env


class LauncherSettings(BaseSettings):
    """What ``policypulse up`` reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore")

    database_url: str | None = Field(default=None, description="Use this Postgres, not embedded.")
    kafka_bootstrap_servers: str | None = Field(default=None, description="Use this broker.")
    data_dir: Path = Field(default=Path(".policypulse"), description="Embedded data and logs.")
    embedded_kafka_port: int = 9092


_output = {"open": True}


def say(msg: str) -> None:
    """Progress for the person at the terminal. When stdout has gone (``make up | tee`` whose
    tee died of the same Ctrl-C), the launcher keeps stopping its children and writes no
    more: a lost progress line must never leave an orphaned database or broker behind."""
    if not _output["open"]:
        return
    try:
        print(f"policypulse: {msg}", flush=True)
    except (BrokenPipeError, ValueError):
        _output["open"] = False
        # Point fd 1 at /dev/null so the interpreter's final flush cannot fail either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def cmd_up(args: argparse.Namespace) -> int:
    settings = LauncherSettings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_data_dir(data_dir)
    if lock is None:
        say(f"error: another 'policypulse up' is running on {data_dir}; stop it first")
        return 1
    t0 = time.monotonic()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        say(f"received {signal.Signals(signum).name}; stopping")
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    env = python_env()
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    group: ServiceGroup | None = None
    try:
        if settings.database_url:
            say("using PostgreSQL from PP_DATABASE_URL")
        else:
            postgres = EmbeddedPostgres(data_dir / "pg")
            env["PP_DATABASE_URL"] = postgres.start()
            _write_private(data_dir / "database.url", env["PP_DATABASE_URL"])
            say(f"embedded PostgreSQL 18 ready (data: {postgres.data_dir})")
        if settings.kafka_bootstrap_servers:
            say(f"using Kafka at {settings.kafka_bootstrap_servers}")
        else:
            broker = EmbeddedBroker(
                port=settings.embedded_kafka_port, log_file=data_dir / "logs" / "broker.log"
            )
            (data_dir / "logs").mkdir(exist_ok=True)
            env["PP_KAFKA_BOOTSTRAP_SERVERS"] = broker.start()
            # One machine, one member per group: a short session makes group joins fast.
            env.setdefault("PP_KAFKA_SESSION_TIMEOUT_MS", str(EMBEDDED_SESSION_TIMEOUT_MS))
            say(f"embedded Kafka-protocol broker ready on {broker.bootstrap_servers}")
        env.setdefault("PP_GATEWAY_SECRET", _gateway_secret(data_dir))
        group = ServiceGroup(env, log_dir=data_dir / "logs", out=say)
        group.start(timeout=args.timeout)
        say(f"all services ready in {time.monotonic() - t0:.1f} s")
        _first_admin_key(data_dir, env)
        for child in group.children:
            say(f"  {child.spec.name:<12} {child.url}  (/healthz /readyz /metrics)")
        say(f"  API docs     {group.child('api-gateway').url}/docs")
        say(f"  logs         {data_dir / 'logs'}")
        say("press Ctrl-C to stop")
        return watch(stop, group, broker, restart=not args.no_restart, log_dir=data_dir / "logs")
    except (RuntimeError, TimeoutError, OSError) as exc:
        say(f"error: {exc}")
        return 1
    finally:
        _shutdown(group, broker, postgres, env)


def watch(
    stop: threading.Event,
    group: ServiceGroup,
    broker: EmbeddedBroker | None,
    *,
    restart: bool,
    log_dir: Path,
    interval: float = 0.5,
) -> int:
    """Supervise until ``stop`` is set (exit code 0), restarting crashed services. When the
    embedded broker dies, return 1: its topics, logs and offsets lived in memory, and
    consumers carrying on against a new, empty broker would hold stale positions. A clean
    start of the whole stack is the safe way back (Postgres keeps its data)."""
    while not stop.wait(interval):
        if broker is not None and broker.exited():
            say(
                f"error: the embedded broker exited (code {broker.exit_code}); events it held "
                f"that were not yet in Postgres are lost; see {log_dir}. Stopping; run "
                "'make up' again to start afresh"
            )
            return 1
        if restart:
            group.check_and_restart()
    return 0


def _write_private(path: Path, text: str) -> None:
    """A file only its owner can read (a database URL, a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _gateway_secret(data_dir: Path) -> str:
    """The secret the gateway signs callers' identities with, made once per data directory."""
    path = data_dir / "gateway.secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        secret = secrets.token_urlsafe(32)
        _write_private(path, secret)
        return secret


def _first_admin_key(data_dir: Path, env: dict[str, str]) -> None:
    """On the first start of a data directory, a development admin key, printed once."""
    marker = data_dir / "admin-key.created"
    if marker.exists():
        return
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "pp_gateway.keys",
            "create",
            "--role",
            "admin",
            "--name",
            "development admin",
            "--owner",
            "dev-admin",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if made.returncode != 0:
        say(f"error: could not create the development admin key: {made.stderr.strip()}")
        return
    marker.write_text("the development admin key was printed at the first start\n")
    key = made.stdout.strip().splitlines()[-1]
    say("a development admin key, shown this once (policypulse keys create makes more):")
    say(f"  export PP_API_KEY={key}")


def _lock_data_dir(data_dir: Path) -> IO[str] | None:
    """An exclusive lock on the data dir. The kernel drops it when the process dies, so a
    killed launcher never leaves a lock behind that blocks the next start."""
    handle = (data_dir / "launcher.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _shutdown(
    group: ServiceGroup | None,
    broker: EmbeddedBroker | None,
    postgres: EmbeddedPostgres | None,
    env: dict[str, str],
) -> None:
    # Ignore further Ctrl-C so a second press does not leave half-stopped children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if group is not None:
        group.stop(["api-gateway"])
        if broker is not None and not broker.exited():
            groups = {s.consumes[0]: s.consumes[1].value for s in SERVICES if s.consumes}
            say("draining the pipeline (the embedded broker keeps messages in memory)")
            drain(env["PP_KAFKA_BOOTSTRAP_SERVERS"], groups, timeout=15.0, say=say)
        group.stop()
    if broker is not None:
        broker.stop()
    if postgres is not None:
        postgres.stop()
        (postgres.data_dir.parent / "database.url").unlink(missing_ok=True)
    say("stopped")
