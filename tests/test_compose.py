"""The container deployment must agree with the code: docker-compose.yml, the one parametrised
Dockerfile (deploy/Dockerfile) and the Prometheus and Grafana provisioning are checked against the
settings classes and the metrics the services register. Nothing here needs a Docker engine."""

from __future__ import annotations

import functools
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from pydantic_settings import BaseSettings

import pp_classifier.metrics
import pp_ingest.metrics
import pp_insights.alerts.metrics
import pp_insights.metrics
import pp_shared.kafka
import pp_shared.service
from pp_classifier.settings import ClassifierSettings
from pp_gateway.settings import GatewaySettings
from pp_ingest.settings import IngestSettings
from pp_insights.settings import InsightsSettings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "deploy/Dockerfile"
BUILD_ARGS = ("SERVICE", "PACKAGE", "PORT")

# Compose service name -> settings class. The service directories under services/ use the same
# names, which is what lets the image's SERVICE build argument be the compose service name.
SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "classifier": ClassifierSettings,
    "insights": InsightsSettings,
    "api-gateway": GatewaySettings,
}
APP_SERVICES = tuple(SETTINGS)
BACKENDS = ("ingest", "classifier", "insights")
INFRASTRUCTURE = ("kafka", "postgres", "prometheus", "alertmanager", "grafana")

# The secrets `docker compose up` reads from its environment, for the checks below.
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret-1",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret-2",
    "GRAFANA_DB_PASSWORD": "reader-secret-3",
    "PP_GATEWAY_SECRET": "gateway-secret-4",
}
DATABASE_URL = "postgresql://postgres:pg-secret-1@postgres:5432/policypulse"
KAFKA_BOOTSTRAP = "kafka:9092"
PROMETHEUS_URL = "http://prometheus:9090"
DATASOURCE_UID = "prometheus"

# Importing these modules is what registers the metrics the dashboard may refer to.
METRIC_MODULES = (
    pp_ingest.metrics,
    pp_classifier.metrics,
    pp_insights.metrics,
    pp_insights.alerts.metrics,
    pp_shared.kafka,
    pp_shared.service,
)

# Series names a metric type adds to its registered name in the text exposition. Counters are
# registered without ``_total``; ``_created`` series are left out because no panel should chart
# them.
EXPOSITION_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
}

REQUIRED_PANEL_EXPRESSIONS = {
    "sum by (outcome) (rate(pp_ingest_events_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(pp_ingest_produce_seconds_bucket[5m])))",
    "sum by (service) (pp_consumer_lag_records)",
    "sum by (service) (rate(pp_consumer_batch_retries_total[5m]))",
    "sum by (reason) (rate(pp_ingest_dead_letters_total[5m]))",
    "sum by (area) (rate(pp_classifier_tags_total[5m]))",
}

# A metric name, not a part of a recorded series' name (``service:pp_http_requests:rate5m``):
# recording rules and what they read are checked in test_observability.py.
METRIC_NAME = re.compile(r"(?<![\w:])pp_[a-z_]+(?![\w:])")
# Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"job", "instance"}
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
# Compose's interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
# ${NAME?error}.
INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
# Published on the host by deploy/compose.ports.yml: container ports beside the services'.
INTERNAL_PORTS = {
    "kafka": 19092,
    "postgres": 5432,
    "prometheus": 9090,
    "alertmanager": 9093,
    "grafana": 3000,
}


class MissingVariable(ValueError):
    """A ``${NAME:?error}`` whose variable is not set: compose refuses to start."""


def interpolate(value: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name, operator, argument = match[1], match[2], match[3]
        present = env.get(name)
        empty = not present if operator and operator.startswith(":") else present is None
        if operator in (":?", "?"):
            if empty:
                raise MissingVariable(argument)
            return present or ""
        if operator in (":-", "-"):
            return argument if empty else present or ""
        return present or ""

    return INTERPOLATION.sub(substitute, value)


def load_yaml(relative: str) -> Any:
    with (ROOT / relative).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.cache
def compose() -> Any:
    return load_yaml("docker-compose.yml")


def service(name: str) -> Any:
    return compose()["services"][name]


def environment(name: str) -> dict[str, str]:
    """A compose service's environment, in either the mapping or the ``KEY=VALUE`` list form."""
    raw: Any = service(name).get("environment", {})
    pairs: dict[str, Any] = (
        dict(item.split("=", 1) for item in raw) if isinstance(raw, list) else dict(raw)
    )
    for key, value in pairs.items():
        # Compose rejects YAML booleans here (``true`` must be quoted); numbers become strings.
        assert isinstance(value, str | int | float), f"{name}: {key} = {value!r}"
        assert not isinstance(value, bool), f"{name}: {key} must be quoted"
    return {key: str(value) for key, value in pairs.items()}


def resolved(name: str, env: dict[str, str] = SECRETS) -> dict[str, str]:
    """A compose service's environment after interpolation with ``env``."""
    return {key: interpolate(value, env) for key, value in environment(name).items()}


@functools.cache
def ports_override() -> Any:
    return load_yaml("deploy/compose.ports.yml")


def published_ports(name: str, definition: Any = None) -> list[tuple[int, int]]:
    """(host port, container port) pairs, from the short ``[ip:]host:container`` or long form."""
    pairs: list[tuple[int, int]] = []
    for entry in (service(name) if definition is None else definition).get("ports", []):
        if isinstance(entry, dict):
            pairs.append((int(entry["published"]), int(entry["target"])))
        else:
            *_, host, container = str(entry).split("/", 1)[0].split(":")
            pairs.append((int(host), int(container)))
    return pairs


def default_port(name: str) -> int:
    port = SETTINGS[name].model_fields["port"].default
    assert isinstance(port, int)
    return port


def import_name(name: str) -> str:
    """``pp_ingest`` for ingest: the top-level package that defines the settings class."""
    return SETTINGS[name].__module__.split(".", 1)[0]


def distribution_name(name: str) -> str:
    with (ROOT / "services" / name / "pyproject.toml").open("rb") as f:
        project_name = tomllib.load(f)["project"]["name"]
    assert isinstance(project_name, str)
    return project_name


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line, with continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    return instructions


# $NAME or ${NAME}, as the builder substitutes build arguments and the shell variables.
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def substitute(text: str, values: dict[str, str]) -> str:
    """``text`` with the variables of ``values`` replaced; any other is left as written."""
    return VARIABLE.sub(lambda m: values.get(m[1] or m[2], m[0]), text)


def built_stages(args: dict[str, str]) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages as built with ``args``: in each stage, from its FROM, the build
    arguments that stage declares are replaced (an ARG declared before FROM or in another stage
    is empty there, and is left as written so that checks of its value fail)."""
    stages: list[list[tuple[str, str]]] = []
    declared: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions(ROOT / DOCKERFILE):
        if keyword == "FROM":
            stages.append([])
            declared = {}
        elif keyword == "ARG" and stages:
            name = arguments.split("=", 1)[0]
            declared[name] = args[name]
        if stages:
            stages[-1].append((keyword, substitute(arguments, declared)))
    return stages


def environment_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    """The variables a stage's ENV instructions set (``KEY=VALUE`` form)."""
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for token in shlex.split(arguments):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def normalised(distribution: str) -> str:
    """A distribution name as uv (PEP 503) compares it: ``pp_gateway`` is ``pp-gateway``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def registered_metrics() -> dict[str, MetricWrapperBase]:
    """Every exposed ``pp_*`` series name, mapped to the metric that produces it."""
    assert METRIC_MODULES
    series: dict[str, MetricWrapperBase] = {}
    for collector in list(REGISTRY._collector_to_names):
        if not isinstance(collector, MetricWrapperBase) or not collector._name.startswith("pp_"):
            continue
        assert collector._type is not None
        for suffix in EXPOSITION_SUFFIXES[collector._type]:
            series[collector._name + suffix] = collector
    return series


def dashboard_panels() -> list[Any]:
    with (ROOT / "deploy/grafana/dashboards/pipeline.json").open(encoding="utf-8") as f:
        dashboard: Any = json.load(f)
    panels: list[Any] = []
    # Panels inside collapsed rows are nested one level down.
    stack: list[Any] = list(dashboard["panels"])
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        panels.append(panel)
    return panels


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel.get("targets", [])]


def test_compose_defines_exactly_the_stack() -> None:
    assert set(compose()["services"]) == {*INFRASTRUCTURE, *APP_SERVICES}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_port_is_the_settings_default(name: str) -> None:
    port = default_port(name)
    published = published_ports("api-gateway") if name == "api-gateway" else []
    published += published_ports(name, ports_override()["services"].get(name, {}))
    assert published == [(port, port)]
    # Setting PP_PORT would move the listener away from the published container port.
    assert "PP_PORT" not in environment(name)


def test_only_the_gateway_is_published_on_the_host() -> None:
    published = {name for name in compose()["services"] if service(name).get("ports")}
    assert published == {"api-gateway"}
    assert service("api-gateway")["ports"] == ["8080:8080"]


def test_the_ports_override_publishes_on_loopback_only() -> None:
    """deploy/compose.ports.yml opens the rest to operators on the host, never beyond it."""
    overrides = ports_override()["services"]
    assert set(overrides) == set(compose()["services"]) - {"api-gateway"}
    for name, definition in overrides.items():
        assert set(definition) == {"ports"}, name
        for entry in definition["ports"]:
            assert str(entry).startswith("127.0.0.1:"), (name, entry)
        container = default_port(name) if name in SETTINGS else INTERNAL_PORTS[name]
        assert [c for _, c in published_ports(name, definition)] == [container], name


def test_secrets_come_from_the_environment_without_defaults() -> None:
    secrets = {
        ("postgres", "POSTGRES_PASSWORD"),
        ("postgres", "GRAFANA_DB_PASSWORD"),
        ("grafana", "GF_SECURITY_ADMIN_PASSWORD"),
        ("grafana", "GRAFANA_DB_PASSWORD"),
        *((backend, "PP_DATABASE_URL") for backend in BACKENDS),
        *((name, "PP_GATEWAY_SECRET") for name in APP_SERVICES),
        ("api-gateway", "PP_DATABASE_URL"),
    }
    for name, key in secrets:
        # Unset, compose refuses to start: no well-known default stands in.
        with pytest.raises(MissingVariable):
            interpolate(environment(name)[key], {})
    assert resolved("grafana")["GF_SECURITY_ADMIN_PASSWORD"] == "grafana-secret-2"
    assert resolved("postgres")["POSTGRES_PASSWORD"] == "pg-secret-1"


def test_insights_has_the_alert_settings() -> None:
    env = resolved("insights")
    assert env["PP_ALERT_LINK_BASE_URL"] == "http://localhost:8080"
    assert (
        resolved("insights", {**SECRETS, "PP_PUBLIC_URL": "https://pp.example"})[
            "PP_ALERT_LINK_BASE_URL"
        ]
        == "https://pp.example"
    )
    assert {"PP_ALERT_SLACK_BOT_TOKEN", "PP_ALERT_WEBHOOK_SIGNING_SECRET"} <= set(env)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_names_are_settings_fields(name: str) -> None:
    fields = SETTINGS[name].model_fields
    variables = {key for key in environment(name) if key.startswith("PP_")}
    assert variables
    unknown = {key for key in variables if key.removeprefix("PP_").lower() not in fields}
    assert unknown == set()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_values_validate(name: str) -> None:
    values = {
        key.removeprefix("PP_").lower(): value
        for key, value in resolved(name).items()
        if key.startswith("PP_")
    }
    # model_validate skips the environment sources, so only the compose values are checked.
    SETTINGS[name].model_validate(values)


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_reaches_kafka_and_postgres_inside_the_network(name: str) -> None:
    env = resolved(name)
    assert env["PP_DATABASE_URL"] == DATABASE_URL
    assert env["PP_KAFKA_BOOTSTRAP_SERVERS"] == KAFKA_BOOTSTRAP
    settings = IngestSettings.model_validate(
        {"kafka_idempotent_producer": env["PP_KAFKA_IDEMPOTENT_PRODUCER"]}
    )
    assert settings.kafka_idempotent_producer is True


def test_the_gateway_and_the_services_share_the_identity_secret() -> None:
    secrets = {resolved(name)["PP_GATEWAY_SECRET"] for name in APP_SERVICES}
    assert secrets == {"gateway-secret-4"}
    assert resolved("api-gateway")["PP_DATABASE_URL"] == DATABASE_URL


def test_database_url_matches_the_postgres_service() -> None:
    postgres = resolved("postgres")
    url = urlsplit(DATABASE_URL)
    assert (url.hostname, url.port) == ("postgres", 5432)
    credentials = (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    assert (url.username, url.password) == credentials
    assert url.path == f"/{postgres['POSTGRES_DB']}"
    assert postgres["POSTGRES_DB"] == "policypulse"


def test_kafka_advertises_the_bootstrap_address_to_the_network() -> None:
    kafka = environment("kafka")
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    advertised = dict(
        listener.split("://", 1) for listener in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    assert advertised[kafka["KAFKA_INTER_BROKER_LISTENER_NAME"]] == KAFKA_BOOTSTRAP
    voters = kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert voters == f"{kafka['KAFKA_NODE_ID']}@kafka:9093"


def test_gateway_urls_point_at_the_backends() -> None:
    env = environment("api-gateway")
    url_fields = {
        field
        for field in GatewaySettings.model_fields
        if field.endswith("_url") and field != "database_url"
    }
    # Every upstream must be configured: the defaults point at 127.0.0.1, which inside the
    # gateway's container is the gateway itself.
    assert url_fields == {f"{backend}_url" for backend in BACKENDS}
    for backend in BACKENDS:
        url = urlsplit(env[f"PP_{backend.upper()}_URL"])
        assert (url.scheme, url.hostname, url.port) == ("http", backend, default_port(backend))
        assert url.path in ("", "/")


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_waits_for_healthy_kafka_and_postgres(name: str) -> None:
    assert service(name)["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }


def test_gateway_waits_for_healthy_backends() -> None:
    assert service("api-gateway")["depends_on"] == {
        backend: {"condition": "service_healthy"} for backend in BACKENDS
    }


@pytest.mark.parametrize("name", [*INFRASTRUCTURE, *APP_SERVICES])
def test_every_service_has_a_healthcheck(name: str) -> None:
    healthcheck = service(name)["healthcheck"]
    assert healthcheck.get("disable", False) is False
    test = healthcheck["test"]
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL")
        assert len(test) > 1
    else:
        assert isinstance(test, str)
        assert test.strip()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_healthcheck_probes_its_own_readiness(name: str) -> None:
    """Healthy means ready (database, broker and consumer; for the gateway, every service
    behind it), not only alive: dependants wait for it."""
    test = service(name)["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    assert f"http://127.0.0.1:{default_port(name)}/readyz" in command
    assert "/healthz" not in command


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_builds_from_the_workspace_root(name: str) -> None:
    build = service(name)["build"]
    assert build == {
        "context": ".",
        "dockerfile": DOCKERFILE,
        "args": {"SERVICE": name, "PACKAGE": import_name(name), "PORT": str(default_port(name))},
    }
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()


def test_one_dockerfile_builds_every_service() -> None:
    assert sorted(ROOT.glob("services/*/Dockerfile")) == []
    instructions = dockerfile_instructions(ROOT / DOCKERFILE)
    declared = {
        arguments.split("=", 1)[0] for keyword, arguments in instructions if keyword == "ARG"
    }
    assert declared == set(BUILD_ARGS)
    for name in APP_SERVICES:
        assert set(service(name)["build"]["args"]) == declared, name
    # uv.lock covers the whole workspace: uv reads it only with every member's manifest.
    copied = {arguments.split()[0] for keyword, arguments in instructions if keyword == "COPY"}
    members = {"shared/pyproject.toml"} | {
        str(path.relative_to(ROOT)) for path in ROOT.glob("services/*/pyproject.toml")
    }
    assert members <= copied


@pytest.mark.parametrize("name", APP_SERVICES)
def test_dockerfile_builds_and_runs_the_service(name: str) -> None:
    args = service(name)["build"]["args"]
    stages = built_stages(args)
    images = [stage[0][1].split()[0] for stage in stages]
    assert images == ["python:3.11-slim", "python:3.11-slim"]
    build, runtime = stages

    # The service's package, from its folder, installed with its dependencies only.
    assert normalised(args["PACKAGE"]) == normalised(distribution_name(name))
    package = Path("services", args["SERVICE"], args["PACKAGE"])
    assert ("COPY", f"{package} {package}") in build
    assert (ROOT / package / "__main__.py").is_file()
    syncs = [shlex.split(arguments) for keyword, arguments in build if "uv sync" in arguments]
    assert len(syncs) == 2
    for command in syncs:
        assert {"--frozen", "--no-dev"} <= set(command)
        assert command[command.index("--package") + 1] == args["PACKAGE"]
    for keyword, arguments in build:
        if keyword == "COPY":
            assert (ROOT / arguments.split()[0]).exists(), arguments

    assert [arguments for keyword, arguments in runtime if keyword == "EXPOSE"] == [
        str(default_port(name))
    ]
    env = environment_of(runtime)
    assert env["PP_HOST"] == "0.0.0.0"
    (cmd,) = [json.loads(arguments) for keyword, arguments in runtime if keyword == "CMD"]
    assert cmd[:2] == ["/bin/sh", "-c"]
    # The shell hands PID 1 over to the service (exec), which then receives the stop signal.
    assert shlex.split(substitute(cmd[2], env)) == ["exec", "python", "-m", import_name(name)]

    users = [arguments for keyword, arguments in runtime if keyword == "USER"]
    assert len(users) == 1
    assert users[0].split(":", 1)[0] not in ("root", "0")

    healthchecks = [arguments for keyword, arguments in runtime if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "urllib.request" in healthchecks[0]
    assert "/healthz" in healthchecks[0]
    # Its port: PP_PORT when set, else the service's default.
    assert "os.environ.get('PP_PORT', os.environ['SERVICE_PORT'])" in healthchecks[0]
    assert env["SERVICE_PORT"] == str(default_port(name))


def test_prometheus_scrapes_every_app_service() -> None:
    config = load_yaml("deploy/prometheus/prometheus.yml")
    assert config["global"]["scrape_interval"] == "15s"
    targets = {
        job["job_name"]: sorted(
            target for static in job["static_configs"] for target in static["targets"]
        )
        for job in config["scrape_configs"]
    }
    assert targets == {name: [f"{name}:{default_port(name)}"] for name in APP_SERVICES}
    assert {job.get("metrics_path", "/metrics") for job in config["scrape_configs"]} == {"/metrics"}


def test_prometheus_and_grafana_mount_the_provisioning() -> None:
    config_mount = "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
    assert config_mount in service("prometheus")["volumes"]
    volumes = service("grafana")["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in volumes


def test_prometheus_loads_the_rules_and_alerts_alertmanager() -> None:
    config = load_yaml("deploy/prometheus/prometheus.yml")
    assert config["rule_files"] == ["rules/*.yml"]
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in service("prometheus")["volumes"]
    assert list((ROOT / "deploy/prometheus/rules").glob("*.yml"))
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_alertmanager_reads_its_config_and_the_slack_secret() -> None:
    alertmanager = service("alertmanager")
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in alertmanager["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    config = load_yaml("deploy/alertmanager/alertmanager.yml")
    # The secret compose mounts is the file every Slack receiver reads its URL from.
    assert alertmanager["secrets"] == ["slack_webhook_url"]
    assert compose()["secrets"]["slack_webhook_url"] == {"environment": "SLACK_WEBHOOK_URL"}
    files = {
        slack["api_url_file"]
        for receiver in config["receivers"]
        for slack in receiver.get("slack_configs", [])
    }
    assert files == {"/run/secrets/slack_webhook_url"}


def test_grafana_datasource_is_the_prometheus_service() -> None:
    datasources = load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert len(datasources) == 1
    source = datasources[0]
    assert (source["type"], source["uid"], source["url"]) == (
        "prometheus",
        DATASOURCE_UID,
        PROMETHEUS_URL,
    )
    assert source["isDefault"] is True
    url = urlsplit(PROMETHEUS_URL)
    assert url.hostname in compose()["services"]
    # Prometheus listens on its default port: nothing in its command moves it.
    assert url.port == INTERNAL_PORTS["prometheus"]
    assert not any("listen-address" in arg for arg in service("prometheus")["command"])


def test_grafana_reads_the_reporting_views_as_the_read_only_role() -> None:
    datasources = load_yaml("deploy/grafana/provisioning/datasources/reporting.yml")["datasources"]
    (source,) = datasources
    assert (source["type"], source["uid"]) == (
        "grafana-postgresql-datasource",
        "policypulse-reporting",
    )
    host, port = source["url"].split(":")
    assert (host, int(port)) == ("postgres", 5432)
    assert source["jsonData"]["database"] == environment("postgres")["POSTGRES_DB"]
    # Grafana fills the login from its environment; the postgres container creates that role
    # (deploy/postgres/init) from the same variables on its first start.
    assert (source["user"], source["secureJsonData"]["password"]) == (
        "$GRAFANA_DB_USER",
        "$GRAFANA_DB_PASSWORD",
    )
    grafana, postgres = environment("grafana"), environment("postgres")
    for name in ("GRAFANA_DB_USER", "GRAFANA_DB_PASSWORD"):
        assert grafana[name] == postgres[name]
        assert grafana[name].startswith(f"${{{name}:")
    assert "./deploy/postgres/init:/docker-entrypoint-initdb.d:ro" in service("postgres")["volumes"]
    assert (ROOT / "deploy/postgres/init/10-reporting-reader.sh").is_file()
    assert service("grafana")["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_grafana_loads_dashboards_from_the_mounted_directory() -> None:
    providers = load_yaml("deploy/grafana/provisioning/dashboards/dashboards.yml")["providers"]
    assert [(p["type"], p["options"]["path"]) for p in providers] == [
        ("file", "/var/lib/grafana/dashboards")
    ]


def test_dashboard_has_the_pipeline_panels() -> None:
    assert set(dashboard_expressions()) >= REQUIRED_PANEL_EXPRESSIONS
    for panel in dashboard_panels():
        if panel["type"] == "row":
            continue
        # A uid the provisioning does not define leaves the panel with no data source.
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert {target["datasource"]["uid"] for target in panel["targets"]} == {DATASOURCE_UID}


def test_dashboard_metrics_are_registered_by_the_services() -> None:
    series = registered_metrics()
    used = {name for expr in dashboard_expressions() for name in METRIC_NAME.findall(expr)}
    assert used
    assert used - set(series) == set()


def test_dashboard_groups_by_labels_the_metrics_have() -> None:
    series = registered_metrics()
    for expr in dashboard_expressions():
        names = METRIC_NAME.findall(expr)
        if not names:
            continue  # recorded series only
        labels: set[str] = set(TARGET_LABELS)
        for name in names:
            labels.update(series[name]._labelnames)
            if name.endswith("_bucket"):
                labels.add("le")
        for group in GROUPING.findall(expr):
            grouped = {label.strip() for label in group.split(",") if label.strip()}
            assert grouped <= labels, expr
