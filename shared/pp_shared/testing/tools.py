"""Command-line tools that tests run (promtool, the Prometheus server, amtool), from Debian's
packages: installed with apt-get where they are missing and the tests run as root on Debian
or Ubuntu (as ``make bench-tools`` installs wrk), else the test is skipped and says why."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest

_INSTALL_LOCK = threading.Lock()
_FAILED: dict[str, str] = {}


def debian_tool(binary: str, package: str) -> str:
    """The path of ``binary``, installing Debian's ``package`` first when it is missing."""
    found = shutil.which(binary)
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"{binary} is not installed and only root on Debian or Ubuntu installs it here "
            f"(apt-get install {package})"
        )
    with _INSTALL_LOCK:
        if package not in _FAILED and shutil.which(binary) is None:
            error = apt_install(package)
            if error:
                _FAILED[package] = error
    found = shutil.which(binary)
    if found is None:
        pytest.skip(f"{binary}: apt-get install {package} failed: {_FAILED.get(package, '?')}")
    return found


APT_GET = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
"""apt-get waiting for another install's lock (two test workers may install at once)."""


def apt_install(*packages: str, recommends: bool = False) -> str:
    """Install ``packages`` (with their recommended extras only if asked); the error output,
    if it failed."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    extras = [] if recommends else ["--no-install-recommends"]
    install = [*APT_GET, "install", "-y", "-qq", *extras, *packages]
    attempt = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if attempt.returncode != 0:
        # The package lists may be missing (a fresh container) or stale.
        update = subprocess.run(
            [*APT_GET, "update", "-qq"], env=env, capture_output=True, text=True, check=False
        )
        if update.returncode != 0:
            return update.stderr.strip()[-500:]
        attempt = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    return "" if attempt.returncode == 0 else attempt.stderr.strip()[-500:]
