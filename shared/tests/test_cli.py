from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from pp_shared.cli import say
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
