"""The API commands of ``policypulse`` without a stack: the command line itself (help,
version and what it loads; how fast it answers: ``make bench-cli``), reading event files,
and the bearer key on the wire (checked by a real HTTP server that records what it
receives)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pp_shared.api_cli.rows import Row, read_rows

POLICYPULSE = str(Path(sys.executable).with_name("policypulse"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POLICYPULSE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


class TestCommandLine:
    def test_help_lists_every_command_and_loads_no_heavy_module(self) -> None:
        probe = (
            "import sys, contextlib, io\n"
            "from pp_shared.devstack.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            "heavy = ('numpy', 'scipy', 'sklearn', 'httpx', 'click', 'rich', 'pydantic')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
        assert loaded.stdout.strip() == "[]"
        shown = run("--help")
        assert shown.returncode == 0
        for name in ("up", "events", "insights", "rules", "breaches", "dead-letters", "models"):
            assert f"    {name} " in shown.stdout, name
        assert "classifier" in shown.stdout
        assert "taxonomy" in shown.stdout

    def test_version(self) -> None:
        shown = run("--version")
        assert (shown.returncode, shown.stdout) == (0, "policypulse 0.1.0\n")

    def test_each_api_command_has_its_own_help(self) -> None:
        shown = run("insights", "movers", "--help")
        assert shown.returncode == 0
        for option in ("--metric", "--dimension", "--from", "--to", "--csv", "--url", "--key"):
            assert option in shown.stdout, option
        assert "PP_API_URL" in shown.stdout
        assert "PP_API_KEY" in shown.stdout

    def test_a_usage_error_exits_2_naming_the_option(self) -> None:
        shown = run("insights", "movers", "--metric", "volume")
        assert shown.returncode == 2
        assert "Missing option '--dimension'" in shown.stderr


class TestEventFiles:
    def test_ndjson_rows_are_numbered_by_line_and_bad_lines_kept(self, tmp_path: Path) -> None:
        path = tmp_path / "e.ndjson"
        path.write_text('{"event_id": "a"}\n\n{not json\n{"event_id": "b"}\n')
        rows = read_rows(path, "ndjson")
        assert [(r.number, r.event_id, r.body is None) for r in rows] == [
            (1, "a", False),
            (3, None, True),
            (4, "b", False),
        ]
        assert (rows[1].problem or "").startswith("not valid JSON")

    def test_csv_cells_are_typed_by_the_event_schema_and_empty_ones_left_out(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "e.csv"
        path.write_text(
            "event_id,severity,schema_version,region,agrees,suggested_clause_id\n"
            "e1,3,1,DE,true,\n"
            "e2,high,1,FR,false,HATE.SLURS\n"
        )
        bodies = [json.loads(r.body or b"") for r in read_rows(path, "csv")]
        assert bodies == [
            {"event_id": "e1", "severity": 3, "schema_version": 1, "region": "DE", "agrees": True},
            {
                "event_id": "e2",
                "severity": "high",  # left for the API to name
                "schema_version": 1,
                "region": "FR",
                "agrees": False,
                "suggested_clause_id": "HATE.SLURS",
            },
        ]

    def test_a_json_file_is_an_array_or_one_event(self, tmp_path: Path) -> None:
        one = tmp_path / "one.json"
        one.write_text('{"event_id": "x"}')
        many = tmp_path / "many.json"
        many.write_text('[{"event_id": "x"}, {"event_id": "y"}]')
        assert read_rows(one, "json") == [Row(1, b'{"event_id":"x"}', event_id="x")]
        assert [r.number for r in read_rows(many, "json")] == [1, 2]


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []  # noqa: RUF012 - one list per test, reset by the fixture

    def do_GET(self) -> None:
        Recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b'{"type": "about:blank", "title": "Unauthorized", "status": 401}'
        self.send_response(401)
        self.send_header("content-type", "application/problem+json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class TestKey:
    def test_the_key_is_sent_as_a_bearer_token_and_never_printed(self, recorder: str) -> None:
        secret = "pp-test-key-5f1c"
        by_flag = run("models", "list", "--url", recorder, "--key", secret)
        by_env = run("rules", "list", env={"PP_API_URL": recorder, "PP_API_KEY": secret})
        without = run("breaches", "list", "--url", recorder, env={"PP_API_KEY": ""})
        assert [h.get("authorization") for h in Recorder.seen] == [
            f"Bearer {secret}",
            f"Bearer {secret}",
            None,
        ]
        for shown in (by_flag, by_env, without):
            assert shown.returncode == 1
            assert shown.stderr == "error: HTTP 401 Unauthorized\n"
            assert secret not in shown.stdout + shown.stderr

    def test_an_unreachable_api_is_named_without_a_trace(self, recorder: str) -> None:
        shown = run("models", "list", "--url", "http://127.0.0.1:9", "--key", "k")
        assert shown.returncode == 1
        assert shown.stderr == "error: cannot reach http://127.0.0.1:9: ConnectError\n"
