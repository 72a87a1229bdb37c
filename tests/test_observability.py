"""Observability as code, checked without servers: the Prometheus configuration and rules
(promtool check and promtool's unit tests of every alert), the Alertmanager configuration
(amtool), and every Grafana dashboard (its JSON, data sources, queries and variables).
promtool and amtool come from Debian's packages; see pp_shared.testing.tools."""

from __future__ import annotations

import functools
import json
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
from pp_shared.testing import grafana
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


ALERTMANAGER = ROOT / "deploy/alertmanager"


@pytest.fixture(scope="module")
def amtool() -> str:
    return debian_tool("amtool", "prometheus-alertmanager")


def notification(status: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """Alertmanager's template data for one group of ``alerts``, each (labels, annotations)."""
    common = {
        key: value
        for key, value in alerts[0]["labels"].items()
        if all(a["labels"].get(key) == value for a in alerts)
    }
    return {
        "receiver": "slack",
        "status": status,
        "alerts": [
            {
                "status": a.get("status", status),
                "labels": a["labels"],
                "annotations": a["annotations"],
                "startsAt": "2026-12-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": str(i),
            }
            for i, a in enumerate(alerts)
        ],
        "groupLabels": {k: v for k, v in common.items() if k in ("alertname", "service", "job")},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
    }


def render(amtool: str, tmp_path: Path, data: dict[str, Any], text: str) -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    rendered = run(
        amtool,
        "template",
        "render",
        f"--template.glob={ALERTMANAGER / 'templates'}/*.tmpl",
        f"--template.data={path}",
        f"--template.text={text}",
    )
    assert rendered.returncode == 0, rendered.stderr
    return rendered.stdout


class TestAlertmanager:
    def test_config_passes_amtool_check(self, amtool: str) -> None:
        checked = run(amtool, "check-config", str(ALERTMANAGER / "alertmanager.yml"))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "1 templates" in checked.stdout

    @pytest.mark.parametrize(
        ("labels", "receiver"),
        [
            ({"alertname": "ServiceDown", "severity": "critical"}, "slack-critical"),
            ({"alertname": "DeadLettersRising", "severity": "warning"}, "slack"),
        ],
    )
    def test_severity_chooses_the_receiver(
        self, amtool: str, labels: dict[str, str], receiver: str
    ) -> None:
        config = f"--config.file={ALERTMANAGER / 'alertmanager.yml'}"
        pairs = [f"{k}={v}" for k, v in labels.items()]
        routed = run(amtool, "config", "routes", "test", config, *pairs)
        assert routed.returncode == 0, routed.stderr
        assert routed.stdout.strip() == receiver

    def test_alerts_are_grouped_and_critical_ones_routed_apart(self) -> None:
        config = load_yaml(ALERTMANAGER / "alertmanager.yml")
        assert config["route"]["group_by"] == ["alertname", "service", "job"]
        matchers = [m for route in config["route"]["routes"] for m in route["matchers"]]
        assert matchers == ['severity="critical"']
        assert {rule["labels"]["severity"] for rule in alerts()} == {"critical", "warning"}
        for receiver in config["receivers"]:
            (slack,) = receiver["slack_configs"]
            # The webhook URL is a secret file, never in the repository.
            assert slack["api_url_file"] == "/run/secrets/slack_webhook_url"
            assert "api_url" not in slack
            assert slack["send_resolved"] is True

    def test_slack_message_names_each_alert_with_its_runbook(
        self, amtool: str, tmp_path: Path
    ) -> None:
        group = [
            {
                "labels": {"alertname": "PostgresUnreachable", "severity": "critical", "job": j},
                "annotations": {"summary": f"{j} cannot reach Postgres", "runbook": "Check it."},
            }
            for j in ("ingest", "insights")
        ]
        template = (
            '{{ template "policypulse.slack.color" . }}|'
            '{{ template "policypulse.slack.title" . }}\n'
            '{{ template "policypulse.slack.text" . }}'
        )
        assert render(amtool, tmp_path, notification("firing", group), template) == (
            "danger|[FIRING x2] PostgresUnreachable\n"
            "*ingest cannot reach Postgres*\n"
            "Runbook: Check it.\n"
            "Labels: `job=ingest` `severity=critical` \n"
            "*insights cannot reach Postgres*\n"
            "Runbook: Check it.\n"
            "Labels: `job=insights` `severity=critical` \n"
        )
        resolved = [{**group[0], "status": "resolved"}]
        assert render(amtool, tmp_path, notification("resolved", resolved), template) == (
            "good|[RESOLVED] PostgresUnreachable (ingest)\n"
            "*ingest cannot reach Postgres* (resolved)\n"
            "Labels: `job=ingest` `severity=critical` \n"
        )


GRAFANA = ROOT / "deploy/grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# The schema of each relation a query reads and of each function it calls.
_RELATION_SCHEMA = re.compile(r"\b(?:FROM|JOIN)\s+([a-z_]+)\.", re.IGNORECASE)
_FUNCTION_SCHEMA = re.compile(r"\b([a-z_]+)\.[a-z_]+\s*\(")


@functools.cache
def provisioned_datasources() -> dict[str, str]:
    """uid -> type of every data source Grafana is provisioned with."""
    found: dict[str, str] = {}
    for path in sorted((GRAFANA / "provisioning/datasources").glob("*.yml")):
        for source in load_yaml(path)["datasources"]:
            assert source["uid"] not in found, source["uid"]
            found[source["uid"]] = source["type"]
    return found


def dashboard_ids() -> list[str]:
    return [path.stem for path in DASHBOARDS]


def promql_of_dashboards() -> list[str]:
    return [
        grafana.query_of(target)
        for path in DASHBOARDS
        for panel in grafana.panels(grafana.load(path))
        for target in panel["targets"]
        if target["datasource"]["type"] == "prometheus"
    ]


class TestDashboards:
    def test_the_three_dashboards_are_provisioned(self) -> None:
        assert dashboard_ids() == ["breaches", "pipeline", "policy-insights"]
        uids = [grafana.load(path)["uid"] for path in DASHBOARDS]
        assert len(set(uids)) == len(uids)
        providers = load_yaml(GRAFANA / "provisioning/dashboards/dashboards.yml")["providers"]
        assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]

    @pytest.mark.parametrize("name", dashboard_ids())
    def test_every_panel_reads_a_provisioned_datasource_with_a_query(self, name: str) -> None:
        dashboard = grafana.load(GRAFANA / f"dashboards/{name}.json")
        sources = provisioned_datasources()
        ids = [p["id"] for p in dashboard["panels"]] + [
            p["id"] for row in dashboard["panels"] for p in row.get("panels", [])
        ]
        assert len(set(ids)) == len(ids)
        panels = list(grafana.panels(dashboard))
        assert panels
        for panel in panels:
            source = panel["datasource"]
            assert sources.get(source["uid"]) == source["type"], panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == source, panel["title"]
                assert grafana.query_of(target).strip(), panel["title"]
                if source["type"] == "prometheus":
                    assert "rawSql" not in target
                else:
                    assert target["rawQuery"] is True
                    assert target["format"] in ("table", "time_series"), panel["title"]
            position = panel["gridPos"]
            assert position["x"] + position["w"] <= 24, panel["title"]

    @pytest.mark.parametrize("name", dashboard_ids())
    def test_every_variable_used_is_defined_and_answerable(self, name: str) -> None:
        dashboard = grafana.load(GRAFANA / f"dashboards/{name}.json")
        defined = grafana.variables(dashboard)
        sources = provisioned_datasources()
        used: set[str] = set()
        for panel in grafana.panels(dashboard):
            for target in panel["targets"]:
                used |= grafana.variables_used(grafana.query_of(target))
        for variable in defined.values():
            if variable["type"] == "query":
                source = variable["datasource"]
                assert sources.get(source["uid"]) == source["type"], variable["name"]
                assert variable["query"].strip(), variable["name"]
                used |= grafana.variables_used(variable["query"])
                if variable.get("includeAll"):
                    assert variable["allValue"], variable["name"]
            else:
                assert variable["type"] == "custom", variable["name"]
                values = [o["value"] for o in variable["options"]]
                assert values == variable["query"].split(","), variable["name"]
                assert variable["current"]["value"] in values, variable["name"]
        assert used - set(defined) == set()
        # A variable nobody reads is a control that does nothing.
        assert set(defined) - used == set()

    def test_sql_reads_only_the_reporting_schema(self) -> None:
        for path in DASHBOARDS:
            dashboard = grafana.load(path)
            queries = [
                grafana.query_of(target)
                for panel in grafana.panels(dashboard)
                for target in panel["targets"]
                if "rawSql" in target
            ] + [v["query"] for v in grafana.variables(dashboard).values() if v["type"] == "query"]
            for sql in queries:
                relations = set(_RELATION_SCHEMA.findall(sql))
                assert relations == {"reporting"}, (path.name, sql)
                assert set(_FUNCTION_SCHEMA.findall(sql)) <= {"reporting"}, (path.name, sql)
                assert "insights" not in sql, (path.name, sql)

    def test_promql_reads_registered_metrics_and_defined_records(self) -> None:
        known = set(registered()) | recorded_names() | {"up"}
        expressions = promql_of_dashboards()
        assert expressions
        for expr in expressions:
            used = series_names(expr)
            assert used, expr
            assert used - known == set(), expr

    def test_promql_parses(self, promtool: str, tmp_path: Path) -> None:
        """promtool parses every dashboard expression as the expression of a recording rule."""
        expressions = promql_of_dashboards()
        assert not any(grafana.variables_used(expr) for expr in expressions)
        rules_file = tmp_path / "dashboards.yml"
        records = [{"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(expressions)]
        rules_file.write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": records}]}))
        checked = run(promtool, "check", "rules", str(rules_file))
        assert checked.returncode == 0, checked.stdout + checked.stderr
