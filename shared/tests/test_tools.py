"""debian_tool: a found tool is used as is, a missing one is installed by root with apt-get,
and otherwise the test is skipped with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from pp_shared.testing import tools


class FakeSystem:
    """``shutil.which``, ``os.geteuid`` and ``subprocess.run`` as a machine would answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, uid: int, apt: bool) -> None:
        self.installed: set[str] = set()
        self.commands: list[list[str]] = []
        self.failing: set[str] = set()
        self.apt = apt
        monkeypatch.setattr(shutil, "which", self.which)
        monkeypatch.setattr(os, "geteuid", lambda: uid)
        monkeypatch.setattr(subprocess, "run", self.run)
        monkeypatch.setattr(tools, "_FAILED", {})

    def which(self, name: str) -> str | None:
        if name == "apt-get":
            return "/usr/bin/apt-get" if self.apt else None
        return f"/usr/bin/{name}" if name in self.installed else None

    def run(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        verb = command[3]  # after apt-get -o DPkg::Lock::Timeout=...
        if verb == "install" and command[-1] not in self.failing:
            self.installed.add("promtool")
            return subprocess.CompletedProcess(command, 0, "", "")
        if verb == "update":
            return subprocess.CompletedProcess(command, 0, "", "")
        return subprocess.CompletedProcess(command, 100, "", "E: Unable to locate package")


class TestDebianTool:
    def test_an_installed_tool_is_used_as_is(self, monkeypatch: pytest.MonkeyPatch) -> None:
        system = FakeSystem(monkeypatch, uid=1000, apt=False)
        system.installed.add("promtool")
        assert tools.debian_tool("promtool", "prometheus") == "/usr/bin/promtool"
        assert system.commands == []

    def test_root_installs_a_missing_tool(self, monkeypatch: pytest.MonkeyPatch) -> None:
        system = FakeSystem(monkeypatch, uid=0, apt=True)
        assert tools.debian_tool("promtool", "prometheus") == "/usr/bin/promtool"
        assert system.commands == [
            ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq",
             "--no-install-recommends", "prometheus"]
        ]  # fmt: skip

    def test_without_root_the_test_is_skipped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        system = FakeSystem(monkeypatch, uid=1000, apt=True)
        with pytest.raises(pytest.skip.Exception, match=r"apt-get install prometheus"):
            tools.debian_tool("promtool", "prometheus")
        assert system.commands == []

    def test_a_failed_install_skips_with_apt_gets_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        system = FakeSystem(monkeypatch, uid=0, apt=True)
        system.failing.add("prometheus")
        with pytest.raises(pytest.skip.Exception, match="Unable to locate package"):
            tools.debian_tool("promtool", "prometheus")
        # Once more after refreshing the package lists, then never again in this session.
        assert [c[3] for c in system.commands] == ["install", "update", "install"]
        with pytest.raises(pytest.skip.Exception):
            tools.debian_tool("promtool", "prometheus")
        assert len(system.commands) == 3
