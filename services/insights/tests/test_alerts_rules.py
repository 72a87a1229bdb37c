"""Rules through the API: validation as RFC 9457 problems, versions, masking, seeding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pp_insights.alerts.rules.masking import mask_url
from pp_insights.alerts.rules.spec import parse_duration
from pp_insights.alerts.rules.validation import url_problem, validate_rule
from pp_insights.main import create_app
from pp_shared.problems import InvalidInput
from pp_shared.testing.identity import SECRET, SignedAs, policy_admin
from pp_shared.testing.servers import Servers

from .alerts_support import AlertTestSettings, ManualClock, RunningApp, alerts_app, hour_at

T0 = hour_at("2026-11-20T10:00:00Z")
HOOK = "https://hooks.slack.com/services/T000/B000/secretpart"
NOT_ALLOWED = "the host is not in the webhook allowlist (PP_ALERT_WEBHOOK_ALLOWED_HOSTS)"


def rule(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "hate-unclear",
        "name": "HATE policy-unclear share",
        "metric": "policy_unclear_share",
        "scope": {"area": "HATE"},
        "group_by": ["clause_id", "region"],
        "window": "24h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 0.3},
        "min_sample": 30,
        "channels": [{"name": "policy", "type": "slack_webhook", "url": HOOK}],
    }
    body.update(over)
    return body


def settings_for(
    servers: Servers, database_url: str, prefix: str, **over: Any
) -> AlertTestSettings:
    return AlertTestSettings(
        database_url=database_url,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=prefix,
        alert_evaluation_interval_seconds=3600,
        **over,
    )


@pytest.fixture
async def running(
    servers: Servers, database_url: str, topic_prefix: str
) -> AsyncIterator[RunningApp]:
    settings = settings_for(servers, database_url, topic_prefix, gateway_secret=SECRET)
    async with alerts_app(settings, ManualClock(T0)) as r:
        r.client.auth = SignedAs(policy_admin("pat"))
        yield r


class TestValidation:
    def errors(self, body: Any) -> list[tuple[str, str]]:
        with pytest.raises(InvalidInput) as caught:
            validate_rule(body, allowed_hosts=["hooks.slack.com"], allow_http=False)
        return [(e["pointer"], e["detail"]) for e in caught.value.errors]

    def test_unknown_metric_dimension_and_impossible_windows(self) -> None:
        body = rule(
            metric="overturn_ratio",
            scope={"area": "HATE", "country": "DE"},
            group_by=["clause_id", "clause_id", "moderator"],
            window="90m",
            condition={"kind": "change", "factor": 3, "offset": "2h"},
        )
        body["for"] = "soon"
        assert self.errors(body) == [
            (
                "/body/metric",
                "unknown metric; one of decision_latency, overturn_rate, policy_unclear_share,"
                " production_kappa, qa_disagreement_rate, tagging_agreement, volume",
            ),
            (
                "/body/scope/country",
                "unknown dimension; one of area, clause_id, region, language, product_feature,"
                " queue, escalation_reason",
            ),
            ("/body/group_by/1", "named twice"),
            (
                "/body/group_by/2",
                "unknown dimension; one of area, clause_id, region, language, product_feature,"
                " queue, escalation_reason",
            ),
            ("/body/for", "a duration like 30s, 10m, 24h, 7d or 2w"),
            ("/body/window", "a whole number of hours (rules read hourly rollups)"),
        ]

    def test_baseline_overlapping_the_window_and_statistics_on_latency(self) -> None:
        body = rule(
            metric="decision_latency",
            window="7d",
            condition={"kind": "statistical", "season": "1d"},
        )
        assert self.errors(body) == [
            ("/body/condition/season", "at least the window, or the baseline overlaps the window"),
            ("/body/condition/kind", "statistical tests apply to rate and count metrics"),
        ]

    def test_shape_errors_point_at_the_field(self) -> None:
        body = rule(condition={"kind": "sometimes", "threshold": 1}, min_sample=0)
        body["channels"] = [{"name": "x", "type": "webhook"}]
        assert [p for p, _ in self.errors(body)] == [
            "/body/condition/kind",
            "/body/min_sample",
            "/body/channels/0",
        ]

    def test_webhook_hosts_are_allowlisted(self) -> None:
        allowed = ["hooks.slack.com", "*.example.org"]
        assert url_problem(HOOK, allowed_hosts=allowed, allow_http=False) is None
        assert (
            url_problem("https://a.example.org/x", allowed_hosts=allowed, allow_http=False) is None
        )
        assert url_problem("https://example.org/x", allowed_hosts=allowed, allow_http=False) == (
            "the host is not in the webhook allowlist (PP_ALERT_WEBHOOK_ALLOWED_HOSTS)"
        )
        assert url_problem(
            "https://169.254.169.254/latest", allowed_hosts=allowed, allow_http=False
        ) == ("the host is not in the webhook allowlist (PP_ALERT_WEBHOOK_ALLOWED_HOSTS)")
        assert url_problem("http://hooks.slack.com/x", allowed_hosts=allowed, allow_http=False) == (
            "the scheme must be https"
        )
        assert url_problem(
            "https://u:p@hooks.slack.com/x", allowed_hosts=allowed, allow_http=False
        ) == ("credentials in the URL are not allowed")
        assert mask_url(HOOK) == "https://hooks.slack.com/***"

    def test_durations(self) -> None:
        assert parse_duration("90s").total_seconds() == 90
        assert parse_duration("2w").total_seconds() == 14 * 86400


class TestRulesApi:
    async def test_signing_secrets_are_masked_and_kept(self, running: RunningApp) -> None:
        c = running.client
        hook = {
            "name": "ops",
            "type": "webhook",
            "url": "https://hooks.slack.com/x/secretpath",
            "signing_secret": "per-channel-secret-0001",
        }
        created = (await c.post("/v1/rules", json=rule(channels=[hook]))).json()
        assert created["spec"]["channels"] == [
            {
                "name": "ops",
                "type": "webhook",
                "url": "https://hooks.slack.com/***",
                "signing_secret": "***",
            }
        ]
        assert (await c.put("/v1/rules/hate-unclear", json=created["spec"])).status_code == 200
        async with running.runtime.pool.acquire() as conn:  # type: ignore[union-attr]
            stored = await conn.fetchval(
                "SELECT spec FROM insights.alert_rules WHERE rule_id = 'hate-unclear'"
            )
        assert stored["channels"] == [hook]
        slack = {**hook, "type": "slack_webhook"}
        bad = await c.post("/v1/rules", json=rule(id="other", channels=[slack]))
        assert [e["pointer"] for e in bad.json()["errors"]] == ["/body/channels/0"]

    async def test_create_read_version_mask_and_delete(self, running: RunningApp) -> None:
        c = running.client
        r = await c.post("/v1/rules", json=rule(), auth=SignedAs(policy_admin("alice@policy")))
        assert r.status_code == 201
        created = r.json()
        assert created["version"] == 1
        assert created["updated_by"] == "alice@policy"
        assert created["updated_at"] == "2026-11-20T10:00:00Z"
        assert created["spec"]["channels"] == [
            {"name": "policy", "type": "slack_webhook", "url": "https://hooks.slack.com/***"}
        ]
        assert "secretpart" not in r.text

        assert (await c.post("/v1/rules", json=rule())).status_code == 409

        # A read-modify-write sends the masked URL back: the secret is kept.
        spec = created["spec"]
        spec["condition"]["threshold"] = 0.4
        r = await c.put("/v1/rules/hate-unclear", json=spec, auth=SignedAs(policy_admin("bob")))
        assert r.status_code == 200
        assert r.json()["version"] == 2
        async with running.runtime.pool.acquire() as conn:  # type: ignore[union-attr]
            stored = await conn.fetchval(
                "SELECT spec FROM insights.alert_rules WHERE rule_id = 'hate-unclear'"
            )
        assert stored["channels"][0]["url"] == HOOK
        assert stored["condition"]["threshold"] == 0.4

        r = await c.put("/v1/rules/hate-unclear", json={**spec, "id": "other"})
        assert r.status_code == 422
        assert r.json()["errors"] == [{"pointer": "/body/id", "detail": "must be 'hate-unclear'"}]

        assert (await c.delete("/v1/rules/hate-unclear")).status_code == 204
        assert (await c.get("/v1/rules/hate-unclear")).status_code == 404
        assert (await c.get("/v1/rules")).json() == {"rules": []}
        versions = (await c.get("/v1/rules/hate-unclear/versions")).json()["versions"]
        assert [(v["version"], v["changed_by"], v["deleted"]) for v in versions] == [
            (1, "alice@policy", False),
            (2, "bob", False),
            (3, "pat", True),
        ]
        assert [v["spec"]["condition"]["threshold"] for v in versions] == [0.3, 0.4, 0.4]

    async def test_invalid_rule_is_a_problem_document(self, running: RunningApp) -> None:
        r = await running.client.post(
            "/v1/rules",
            json=rule(
                window="0h",
                channels=[{"name": "x", "type": "webhook", "url": "https://10.0.0.1/hook"}],
            ),
        )
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "https://policypulse.dev/problems/validation-error"
        assert body["errors"] == [
            {
                "pointer": "/body/window",
                "detail": "a whole number of hours (rules read hourly rollups)",
            },
            {"pointer": "/body/channels/0/url", "detail": NOT_ALLOWED},
        ]
        assert (await running.client.get("/v1/rules")).json() == {"rules": []}

    async def test_unknown_rules_and_breaches_are_404_problems(self, running: RunningApp) -> None:
        c = running.client
        for method, path in [
            ("GET", "/v1/rules/nope"),
            ("PUT", "/v1/rules/nope"),
            ("DELETE", "/v1/rules/nope"),
            ("GET", "/v1/rules/nope/versions"),
            ("GET", "/v1/breaches/1"),
            ("POST", "/v1/breaches/1/ack"),
        ]:
            # A POST without a body still says it is JSON (see pp_shared.http_guards).
            r = await c.request(
                method,
                path,
                json=rule() if method == "PUT" else None,
                headers={"content-type": "application/json"},
            )
            assert (r.status_code, r.json()["type"]) == (
                404,
                "https://policypulse.dev/problems/not-found",
            ), (method, path)
        r = await c.get("/v1/breaches", params={"state": "burning"})
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == ["/query/state/0"]


class TestSeeding:
    async def test_seed_file_creates_then_yields_to_api_changes(
        self, servers: Servers, database_url: str, topic_prefix: str, tmp_path: Path
    ) -> None:
        seed = tmp_path / "rules.yaml"
        seed.write_text(
            "rules:\n"
            "  - id: vbda-volume\n"
            "    name: VBDA volume spike\n"
            "    metric: volume\n"
            "    scope: {area: VBDA}\n"
            "    window: 1h\n"
            "    condition: {kind: change, factor: 3, offset: 7d}\n"
            "    min_sample: 20\n",
            encoding="utf-8",
        )
        settings = settings_for(servers, database_url, topic_prefix, alert_rules_file=seed)
        clock = ManualClock(T0)
        async with alerts_app(settings, clock) as r:
            got = (await r.client.get("/v1/rules/vbda-volume")).json()
            assert (got["version"], got["updated_by"]) == (1, "seed")
            assert got["spec"]["condition"] == {
                "kind": "change",
                "op": ">",
                "factor": 3.0,
                "offset": "7d",
            }
            spec = got["spec"]
            spec["min_sample"] = 50
            assert (await r.client.put("/v1/rules/vbda-volume", json=spec)).status_code == 200
        seed.write_text(seed.read_text(encoding="utf-8").replace("20", "25"), encoding="utf-8")
        async with alerts_app(settings, clock, migrate=False) as r:
            got = (await r.client.get("/v1/rules/vbda-volume")).json()
            assert (got["version"], got["spec"]["min_sample"]) == (2, 50)


class TestOpenApi:
    """The routes publish what they read and answer: a client generator gets real types."""

    def test_rules_and_breaches_publish_their_schemas(self) -> None:
        spec = create_app().openapi()
        paths, schemas = spec["paths"], spec["components"]["schemas"]
        for path, method in [("/v1/rules", "post"), ("/v1/rules/{rule_id}", "put")]:
            body = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
            assert body["required"] == ["id", "name", "metric", "condition"], path
            assert {"scope", "group_by", "window", "for", "channels"} <= set(body["properties"])
        answers = {
            ("/v1/rules", "post", "201"): "RuleView",
            ("/v1/rules", "get", "200"): "RuleList",
            ("/v1/rules/preview", "post", "200"): "Preview",
            ("/v1/rules/{rule_id}", "get", "200"): "RuleView",
            ("/v1/rules/{rule_id}", "put", "200"): "RuleView",
            ("/v1/rules/{rule_id}/versions", "get", "200"): "RuleVersions",
            ("/v1/breaches", "get", "200"): "BreachPage",
            ("/v1/breaches/{breach_id}", "get", "200"): "BreachDetail",
            ("/v1/breaches/{breach_id}/ack", "post", "200"): "BreachDetail",
            ("/v1/breaches/{breach_id}/silence", "post", "200"): "BreachDetail",
            ("/v1/breaches/{breach_id}/silence", "delete", "200"): "BreachDetail",
        }
        for (path, method, status), model in answers.items():
            answer = paths[path][method]["responses"][status]["content"]["application/json"]
            assert answer["schema"] == {"$ref": f"#/components/schemas/{model}"}, (path, method)
        assert {"timeline", "deliveries", "evidence", "peak_evidence", "scope"} <= set(
            schemas["BreachDetail"]["properties"]
        )
        assert {"value", "sample", "p_value", "drilldown"} <= set(schemas["Evidence"]["properties"])
        assert schemas["RuleView"]["properties"]["spec"] == {
            "$ref": "#/components/schemas/RuleSpec"
        }
