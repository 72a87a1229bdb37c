"""What the benchmarks (``tests/bench``) share: a private Postgres, a process's CPU time, a
server to wait for, and the report of a run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pp_shared.devstack.embedded import EmbeddedPostgres


@contextlib.contextmanager
def private_postgres(name: str, data_dir: Path | None = None) -> Iterator[str]:
    """An embedded Postgres of the benchmark's own, its URL: the data in ``data_dir`` (kept
    for the next run), else in a temporary directory removed afterwards. Stopped with
    SIGTERM, the run still stops the server."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix=f"pp-bench-{name}-") as tmp:
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        pg = EmbeddedPostgres((data_dir or Path(tmp)) / "pg", database="policypulse")
        url = pg.start()
        try:
            yield url
        finally:
            pg.stop()


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time process ``pid`` has used, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_listening(
    port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 60.0
) -> None:
    """Return once something accepts connections on ``port``; fail when ``process`` exits or
    ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def write_report(
    out: Path, benchmark: str, args: argparse.Namespace, results: Mapping[str, object]
) -> None:
    """Write ``results`` with when, on what machine and with which parameters they were
    measured (the command line's ``args``)."""
    report = {
        "benchmark": benchmark,
        "at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "parameters": {k: str(v) for k, v in vars(args).items()},
        "results": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
