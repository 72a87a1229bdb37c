from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import cast

import pytest

from pp_shared.devstack.embedded import EmbeddedBroker, free_port
from pp_shared.devstack.launcher import watch
from pp_shared.devstack.stack import ServiceGroup

SCRIPT = """
import sys
from pp_shared.devstack.launcher import say
say("first line")
say("second line")
print("still running", file=sys.stderr)
"""


class TestSay:
    def test_a_closed_stdout_does_not_stop_the_launcher(self) -> None:
        read_end, write_end = os.pipe()
        os.close(read_end)  # every write to stdout now fails with EPIPE
        try:
            done = subprocess.run(
                [sys.executable, "-c", SCRIPT],
                stdout=write_end,
                stderr=subprocess.PIPE,
                timeout=60,
                check=False,
            )
        finally:
            os.close(write_end)
        assert (done.returncode, done.stderr.decode().strip()) == (0, "still running")


class RecordingGroup:
    """Stands in for the service group: counts the supervisor's restart checks."""

    def __init__(self) -> None:
        self.checks = 0

    def check_and_restart(self) -> None:
        self.checks += 1


class TestWatch:
    def test_a_dead_embedded_broker_stops_the_stack_with_a_clear_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        broker = EmbeddedBroker(port=free_port(), log_file=tmp_path / "broker.log")
        broker.start()
        group = RecordingGroup()
        try:
            assert broker.process is not None
            broker.process.kill()
            broker.process.wait(10)
            code = watch(
                threading.Event(),
                cast(ServiceGroup, group),
                broker,
                restart=True,
                log_dir=tmp_path,
                interval=0.01,
            )
        finally:
            broker.stop()
        assert code == 1
        assert group.checks == 0
        assert (
            f"policypulse: error: the embedded broker exited (code -9); events it held that "
            f"were not yet in Postgres are lost; see {tmp_path}."
        ) in capsys.readouterr().out

    def test_restarts_crashed_services_until_stopped(self, tmp_path: Path) -> None:
        stop = threading.Event()

        class StopAfterThree(RecordingGroup):
            def check_and_restart(self) -> None:
                super().check_and_restart()
                if self.checks == 3:
                    stop.set()

        group = StopAfterThree()
        code = watch(
            stop, cast(ServiceGroup, group), None, restart=True, log_dir=tmp_path, interval=0.01
        )
        assert (code, group.checks) == (0, 3)
