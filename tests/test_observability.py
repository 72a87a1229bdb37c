"""Observability as code, checked without servers: the Prometheus configuration and rules
(promtool check and promtool's unit tests of every alert), the Alertmanager configuration
(amtool), and every Grafana dashboard (its JSON, data sources, queries and variables).
promtool and amtool come from Debian's packages; see pp_shared.testing.tools."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import pp_classifier.metrics
import pp_ingest.metrics
import pp_insights.alerts.metrics
import pp_insights.metrics
import pp_shared.http_metrics
import pp_shared.kafka
import pp_shared.service
from pp_shared.testing.tools import debian_tool

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy/prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))

# Importing these modules is what registers every metric a rule or panel may name.
METRIC_MODULES = (
    pp_ingest.metrics,
    pp_classifier.metrics,
    pp_insights.metrics,
    pp_insights.alerts.metrics,
    pp_shared.kafka,
    pp_shared.http_metrics,
    pp_shared.service,
)
# Labels Prometheus adds to every scraped series, and those a metric type adds.
TARGET_LABELS = frozenset({"job", "instance"})
SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_RANGE = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SERIES = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$")


@functools.cache
def registered() -> dict[str, MetricWrapperBase]:
    """Every exposed ``pp_*`` series name, mapped to the metric that produces it."""
    assert METRIC_MODULES
    series: dict[str, MetricWrapperBase] = {}
    for collector in list(REGISTRY._collector_to_names):
        if not isinstance(collector, MetricWrapperBase) or not collector._name.startswith("pp_"):
            continue
        assert collector._type is not None
        for suffix in SUFFIXES[collector._type]:
            series[collector._name + suffix] = collector
    return series


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for g in load_yaml(path)["groups"] for rule in g["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def series_names(expr: str) -> set[str]:
    """The series an expression reads: registered ``pp_*`` names, recorded names (with a
    colon) and ``up``; label values, regular expressions (strings) and ranges are left out."""
    names = set(_NAME.findall(_RANGE.sub("", _STRING.sub('""', expr))))
    return {n for n in names if n.startswith("pp_") or ":" in n or n == "up"}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)


@pytest.fixture(scope="module")
def promtool() -> str:
    return debian_tool("promtool", "prometheus")


class TestPrometheusRules:
    def test_config_and_rules_pass_promtool_check(self, promtool: str) -> None:
        checked = run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        # The configuration loads every rule file in rules/.
        for path in RULE_FILES:
            assert f"Checking {path}" in checked.stdout
        assert RULE_FILES
        checked = run(promtool, "check", "rules", *map(str, RULE_FILES))
        assert checked.returncode == 0, checked.stdout + checked.stderr

    def test_promtool_unit_tests_pass(self, promtool: str) -> None:
        assert RULE_TESTS
        tested = run(promtool, "test", "rules", *map(str, RULE_TESTS))
        assert tested.returncode == 0, tested.stdout + tested.stderr

    def test_every_alert_is_tested_firing_and_quiet(self) -> None:
        firing: set[str] = set()
        quiet: set[str] = set()
        for path in RULE_TESTS:
            for case in load_yaml(path)["tests"]:
                for check in case.get("alert_rule_test", []):
                    (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
        names = {rule["alert"] for rule in alerts()}
        assert names - firing == set()
        assert names - quiet == set()

    def test_every_alert_has_a_severity_a_summary_and_a_runbook(self) -> None:
        for rule in alerts():
            assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
            assert set(rule["annotations"]) == {"summary", "runbook"}, rule["alert"]
            assert len(rule["annotations"]["runbook"]) > 80, rule["alert"]

    def test_rules_read_registered_metrics_and_defined_records(self) -> None:
        known = set(registered()) | recorded_names() | {"up"}
        for rule in rules():
            used = series_names(rule["expr"])
            assert used, rule
            assert used - known == set(), rule.get("alert") or rule.get("record")

    def test_unit_test_series_are_real_metrics_with_their_labels(self) -> None:
        """The hand-written input series of the unit tests must look like what the services
        expose, or a passing test proves nothing about production."""
        series = registered()
        for path in RULE_TESTS:
            for case in load_yaml(path)["tests"]:
                for item in case["input_series"]:
                    match = _SERIES.match(item["series"])
                    assert match, item["series"]
                    name, labels = match[1], match[2] or ""
                    keys = {pair.split("=", 1)[0].strip() for pair in labels.split(",") if pair}
                    if name == "up":
                        assert keys <= TARGET_LABELS
                        continue
                    assert name in series, name
                    allowed = set(series[name]._labelnames) | TARGET_LABELS
                    if name.endswith("_bucket"):
                        allowed.add("le")
                    assert keys <= allowed, (name, keys - allowed)
