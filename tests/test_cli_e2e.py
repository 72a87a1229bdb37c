"""The ``policypulse`` commands for everyday work against the four services as real
processes, through the gateway, as a person would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing.apps import bearer, running_stack
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation

pytestmark = pytest.mark.e2e

POLICYPULSE = str(Path(sys.executable).with_name("policypulse"))


@pytest.fixture
def stack(service_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceGroup]:
    with running_stack(service_env, tmp_path / "logs") as group:
        yield group


class Cli:
    def __init__(self, url: str, key: str | None) -> None:
        self.url = url
        self.key = key or ""

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POLICYPULSE, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PP_API_URL": self.url, "PP_API_KEY": self.key, "COLUMNS": "250"},
            check=False,
        )


def write_csv(path: Path, events: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for e in events for k in e))
    lines = [",".join(columns)]
    lines += [",".join("" if e.get(c) is None else str(e[c]) for c in columns) for e in events]
    path.write_text("\n".join(lines) + "\n")


async def test_everyday_commands_against_a_running_stack(
    stack: ServiceGroup, tmp_path: Path
) -> None:
    gateway = stack.child("api-gateway").url
    cli = Cli(gateway, stack.api_key)

    # events send: CSV in batches of 2; row 4 is wrong in two fields.
    events = [
        escalation(event_id=f"e{n}", escalation_id=f"esc-{n}", suggested_clause_id="HATE.SLURS")
        for n in (1, 2, 3)
    ]
    events.append(escalation(event_id="e4", escalation_id="esc-4", region="Germany", severity=9))
    csv_file = tmp_path / "events.csv"
    write_csv(csv_file, events)
    report = tmp_path / "report.jsonl"
    sent = cli("events", "send", str(csv_file), "--batch-size", "2", "--report", str(report))
    assert sent.returncode == 1, sent.stderr
    assert "events.csv: 4 rows, 3 accepted, 0 duplicate, 1 rejected" in sent.stdout
    assert "/region" in sent.stdout
    assert "/severity" in sent.stdout
    (rejected,) = [json.loads(line) for line in report.read_text().splitlines()]
    assert (rejected["row"], rejected["event_id"], rejected["reason"]) == (4, "e4", "invalid")
    assert [e["pointer"] for e in rejected["errors"]] == ["/region", "/severity"]
    assert "4/4" in sent.stderr  # the progress bar reached the end

    # Sent again (NDJSON, the valid ones): answered duplicate, in flight or stored.
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text("".join(json.dumps(e) + "\n" for e in events[:3]))
    again = cli("events", "send", str(ndjson), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "events.ndjson: 3 rows, 0 accepted, 3 duplicate, 0 rejected" in again.stdout

    # insights: the three escalations, as CSV and as a table.
    async def volume() -> str:
        async with httpx.AsyncClient(base_url=gateway, headers=bearer(stack)) as client:
            r = await client.get("/v1/insights/volume", params={"interval": "day"})
            rows = r.json()["rows"]
            return str(sum(row["volume"] for row in rows))

    await eventually(volume, lambda v: v == "3", timeout=60)
    trend_args = ["--metric", "volume", "--interval", "day", "--group-by", "area"]
    trend_args += ["--from", "2026-11-20T00:00:00Z", "--to", "2026-11-21T00:00:00Z"]
    as_csv = cli("insights", "trends", *trend_args, "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == ["bucket,area,value", "2026-11-20T00:00:00Z,HATE,3"]
    as_table = cli("insights", "trends", *trend_args, "--filter", "region=DE")
    assert as_table.returncode == 0, as_table.stderr
    assert "2026-11-20T00:00:00Z" in as_table.stdout
    assert "HATE" in as_table.stdout
    card = cli(
        "insights", "card", "--area", "HATE", "--from", "2026-11-20T00:00:00Z",
        "--to", "2026-11-21T00:00:00Z", "--csv",
    )  # fmt: skip
    assert card.returncode == 0, card.stderr
    assert card.stdout.startswith("metric,")
    bad = cli(
        "insights", "movers", "--metric", "volume", "--dimension", "planet",
        "--from", "2026-11-20T00:00:00Z", "--to", "2026-11-21T00:00:00Z",
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: HTTP 422")
    assert "/query/dimension" in bad.stderr

    # rules: apply creates, applying again replaces; preview evaluates without saving.
    rule = {
        "id": "hate-volume",
        "name": "HATE volume",
        "metric": "volume",
        "scope": {"area": ["HATE"]},
        "window": "1h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 1000},
    }
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps(rule))
    created = cli("rules", "apply", str(rule_file))
    replaced = cli("rules", "apply", str(rule_file))
    assert created.returncode == replaced.returncode == 0, created.stderr + replaced.stderr
    assert "hate-volume" in created.stdout
    assert "created" in created.stdout
    assert "replaced" in replaced.stdout
    listed = cli("rules", "list", "--json")
    assert [(r["id"], r["version"]) for r in json.loads(listed.stdout)["rules"]] == [
        ("hate-volume", 2)
    ]
    previewed = cli("rules", "preview", str(rule_file), "--json")
    assert previewed.returncode == 0, previewed.stderr
    assert json.loads(previewed.stdout)["rule_id"] == "hate-volume"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**rule, "window": "90m"}))
    refused = cli("rules", "apply", str(wrong))
    assert refused.returncode == 1
    assert "/window" in refused.stderr

    # breaches and dead letters: none here; a missing one is named.
    assert "breaches: none" in cli("breaches", "list").stdout
    missing = cli("breaches", "ack", "999")
    assert (missing.returncode, missing.stderr.splitlines()[0]) == (1, "error: HTTP 404 Not found")
    assert "ingest dead letters: none" in cli("dead-letters", "list").stdout
    replay = cli("dead-letters", "replay", "12345", "--service", "classifier")
    assert replay.returncode == 1
    assert "0 replayed, 1 not found" in replay.stdout

    # models: the seed model; retraining waits for the job's outcome.
    models = cli("models", "list", "--json")
    (seed,) = json.loads(models.stdout)
    assert seed["status"] == "active"
    retrained = cli("models", "retrain")
    assert retrained.returncode == 0, retrained.stderr
    assert retrained.stdout.splitlines()[-1] == (
        f"unchanged: {seed['version']} (no new usable labels)"
    )
