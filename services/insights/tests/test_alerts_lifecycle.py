"""Breaches end to end, with real Postgres, Kafka and a local HTTP receiver standing in for
Slack and for webhooks; time is a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from prometheus_client import REGISTRY
from scipy.stats import binom

from pp_insights.alerts.breaches.evaluation import evaluate_all
from pp_insights.alerts.delivery.addresses import PublicOnlyResolver
from pp_insights.alerts.delivery.notifiers import Notifiers
from pp_shared.contracts.breaches import BreachMessage
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.db import Pool
from pp_shared.devstack.embedded import free_port
from pp_shared.testing.apps import read_topic
from pp_shared.testing.identity import SECRET as GATEWAY
from pp_shared.testing.identity import SignedAs, analyst, policy_admin
from pp_shared.testing.plugin import eventually
from pp_shared.testing.servers import Servers

from .alerts_support import (
    AlertTestSettings,
    ManualClock,
    Receiver,
    RunningApp,
    alerts_app,
    breach_message,
    escalations,
    fold,
    hour_at,
    wait_for_passes,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
SECRET = "test-signing-secret"
BASELINE_START = hour_at("2026-11-19T00:00:00Z")
SPIKE = hour_at("2026-11-20T00:00:00Z")
AFTER = SPIKE + timedelta(hours=1)
# Evaluation judges complete hours: an hour's data is judged once the hour is over.
SPIKE_DONE = AFTER
AFTER_DONE = AFTER + timedelta(hours=1)
SLURS = "HATE.SLURS"
CASTE = "HATE.PROTECTED_ATTR.CASTE"


def spike_rule(receiver: Receiver, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "hate-unclear-spike",
        "name": "HATE policy-unclear spike",
        "metric": "policy_unclear_share",
        "scope": {"area": "HATE"},
        "group_by": ["clause_id", "region"],
        "window": "1h",
        "condition": {"kind": "statistical", "op": ">", "confidence": 0.99, "baseline": "24h"},
        "min_sample": 20,
        "severity": "high",
        "channels": [
            {"name": "policy", "type": "slack_webhook", "url": f"{receiver.base_url}/slack/policy"},
            {"name": "ops", "type": "webhook", "url": f"{receiver.base_url}/hook/ops"},
            {"name": "bot", "type": "slack_api", "slack_channel": "C-POLICY"},
        ],
    }
    body.update(over)
    return body


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(secret=SECRET)
    await r.start()
    yield r
    await r.stop()


def make_settings(
    servers: Servers, database_url: str, prefix: str, receiver: Receiver, **over: Any
) -> AlertTestSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": servers.kafka_bootstrap,
        "topic_prefix": prefix,
        # The tasks run once at start and then wait: these tests drive every pass.
        "alert_evaluation_interval_seconds": 3600,
        "alert_sender_interval_seconds": 3600,
        "alert_webhook_allowed_hosts": ["127.0.0.1"],
        "alert_webhook_allow_http": True,
        "alert_webhook_signing_secret": SECRET,
        "alert_slack_bot_token": "xoxb-test-token",
        "alert_slack_api_url": f"{receiver.base_url}/api/",
        "alert_retry_base_seconds": 5,
        "alert_retry_max_seconds": 60,
    }
    values.update(over)
    return AlertTestSettings(**values)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BASELINE_START)


@pytest.fixture
async def running(
    servers: Servers,
    database_url: str,
    topic_prefix: str,
    receiver: Receiver,
    clock: ManualClock,
) -> AsyncIterator[RunningApp]:
    settings = make_settings(servers, database_url, topic_prefix, receiver, gateway_secret=GATEWAY)
    async with alerts_app(settings, clock) as r:
        r.client.auth = SignedAs(policy_admin("pat"))
        yield r


def pool_of(r: RunningApp) -> Pool:
    assert r.runtime.pool is not None
    return r.runtime.pool


def settings_of(r: RunningApp) -> AlertTestSettings:
    assert isinstance(r.runtime.settings, AlertTestSettings)
    return r.runtime.settings


async def evaluate_at(r: RunningApp, clock: ManualClock, when: Any) -> None:
    clock.set(when)
    await evaluate_all(pool_of(r), now=clock(), settings=settings_of(r))


async def fold_baseline(pool: Pool) -> None:
    events = []
    for h in range(24):
        hour = BASELINE_START + timedelta(hours=h)
        events += escalations(hour, clause=SLURS, region="DE", total=20, unclear=2)
        events += escalations(hour, clause=SLURS, region="FR", total=20, unclear=2)
        events += escalations(hour, clause=CASTE, region="DE", total=1, unclear=0)
    await fold(pool, events)


async def fold_spike(pool: Pool) -> None:
    await fold(
        pool,
        escalations(SPIKE, clause=SLURS, region="DE", total=40, unclear=20)
        + escalations(SPIKE, clause=SLURS, region="FR", total=20, unclear=2)
        # 5 of 6 is a big rise, on a sample below the minimum of 20.
        + escalations(SPIKE, clause=CASTE, region="DE", total=6, unclear=5),
    )


async def fold_after(pool: Pool) -> None:
    await fold(
        pool,
        escalations(AFTER, clause=SLURS, region="DE", total=20, unclear=2)
        + escalations(AFTER, clause=SLURS, region="FR", total=20, unclear=2),
    )


async def breaches(r: RunningApp, **params: Any) -> list[dict[str, Any]]:
    got = await r.client.get("/v1/breaches", params=params)
    assert got.status_code == 200
    rows: list[dict[str, Any]] = got.json()["breaches"]
    return rows


DRILLDOWN = (
    "http://127.0.0.1:8080/drilldown?metric=policy_unclear_share"
    "&from=2026-11-20T00%3A00%3A00Z&to=2026-11-20T01%3A00%3A00Z"
    "&area=HATE&clause_id=HATE.SLURS&region=DE"
)


class TestSpike:
    async def test_one_firing_and_one_resolved_message_per_channel(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock, servers: Servers,
        topic_prefix: str,
    ) -> None:  # fmt: skip
        pool = pool_of(running)
        assert (
            await running.client.post("/v1/rules", json=spike_rule(receiver))
        ).status_code == 201
        await fold_baseline(pool)
        for hour in (12, 23):
            await evaluate_at(
                running, clock, BASELINE_START + timedelta(hours=hour + 1, minutes=30)
            )
        assert await breaches(running) == []

        await fold_spike(pool)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=30))
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=45))
        firing = await breaches(running, state="firing")
        assert [(b["scope"]["group"], b["state"]) for b in firing] == [
            ({"clause_id": SLURS, "region": "DE"}, "firing")
        ]
        evidence = firing[0]["evidence"]
        # Baseline: 48 of 480 over the 24 hours before, with half a success of prior.
        assert {k: evidence[k] for k in ("value", "sample", "numerator", "baseline")} == {
            "value": 0.5,
            "sample": 40,
            "numerator": 20,
            "baseline": round(48.5 / 481, 6),
        }
        # P(X >= 20) for X ~ Binomial(40, 0.100832): far below 1 - 0.99.
        assert evidence["p_value"] == float(f"{binom.sf(19, 40, 48.5 / 481):.6g}")
        assert evidence["p_value"] < 1e-9
        assert evidence["drilldown"] == DRILLDOWN
        assert await running.alerts.sender.deliver_due() == 5  # topic (pending, firing) + 3

        await fold_after(pool)
        await evaluate_at(running, clock, AFTER_DONE + timedelta(minutes=30))
        assert await running.alerts.sender.deliver_due() == 4  # topic + 3 channels
        assert await running.alerts.sender.deliver_due() == 0

        hooks = [r.json() for r in receiver.of("/slack/policy")]
        assert [h["text"].split(":")[0] for h in hooks] == ["FIRING", "RESOLVED"]
        assert hooks[0]["blocks"][0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "FIRING: HATE policy-unclear spike"},
        }
        assert hooks[0]["blocks"][2]["elements"][0]["url"] == DRILLDOWN
        ops = receiver.of("/hook/ops")
        assert receiver.bad_signatures == 0
        assert [o.json()["type"] for o in ops] == ["breach.firing", "breach.resolved"]
        assert [o.headers["X-PolicyPulse-Event"] for o in ops] == [
            "breach.firing",
            "breach.resolved",
        ]
        assert ops[1].json()["breach"]["resolved_reason"] == "within"
        api = [(r.path, r.json()) for r in receiver.of("/api/")]
        assert [(p, body.get("thread_ts"), body.get("ts")) for p, body in api] == [
            ("/api/chat.postMessage", None, None),
            ("/api/chat.update", None, "1700000000.000001"),
            ("/api/chat.postMessage", "1700000000.000001", None),
        ]

        breach_id = firing[0]["id"]
        detail = (await running.client.get(f"/v1/breaches/{breach_id}")).json()
        assert [(t["kind"], t["at"]) for t in detail["timeline"]] == [
            ("pending", "2026-11-20T01:30:00Z"),
            ("firing", "2026-11-20T01:30:00Z"),
            ("resolved", "2026-11-20T02:30:00Z"),
        ]
        assert [
            (d["channel"], d["transition"], d["state"], d["attempts"]) for d in detail["deliveries"]
        ] == [
            ("_topic", "pending", "delivered", 1),
            ("_topic", "firing", "delivered", 1),
            ("policy", "firing", "delivered", 1),
            ("ops", "firing", "delivered", 1),
            ("bot", "firing", "delivered", 1),
            ("_topic", "resolved", "delivered", 1),
            ("policy", "resolved", "delivered", 1),
            ("ops", "resolved", "delivered", 1),
            ("bot", "resolved", "delivered", 1),
        ]
        assert detail["peak_evidence"]["value"] == 0.5
        assert detail["evidence"]["value"] == 0.1

        topic = topic_name(Topic.BREACHES, topic_prefix)
        records = await read_topic(servers.kafka_bootstrap, topic, expect=3)
        changes = [orjson.loads(r.value or b"") for r in records]
        assert [(c["breach_id"], c["transition"]) for c in changes] == [
            (breach_id, "pending"),
            (breach_id, "firing"),
            (breach_id, "resolved"),
        ]
        assert {r.key for r in records} == {
            f"hate-unclear-spike:{firing[0]['fingerprint']}".encode()
        }
        # Every message is what the published schema of the topic says.
        schema = orjson.loads((SCHEMAS / "breach-message.json").read_bytes())
        validator = Draft202012Validator(schema)
        assert [list(validator.iter_errors(c)) for c in changes] == [[], [], []]
        assert [BreachMessage.model_validate(c).transition for c in changes] == [
            "pending",
            "firing",
            "resolved",
        ]

    async def test_rise_on_a_sample_below_the_minimum_sends_nothing(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        rule = spike_rule(receiver, scope={"clause_id": CASTE})
        assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        await fold_baseline(pool)
        await fold_spike(pool)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=30))
        assert await breaches(running) == []
        assert await running.alerts.sender.deliver_due() == 0
        assert receiver.received == []


def threshold_rule(receiver: Receiver, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "slurs-unclear",
        "name": "HATE.SLURS policy-unclear share",
        "metric": "policy_unclear_share",
        "scope": {"clause_id": SLURS},
        "window": "1h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 0.3},
        "min_sample": 10,
        "channels": [
            {"name": "policy", "type": "slack_webhook", "url": f"{receiver.base_url}/slack/policy"},
            {"name": "ops", "type": "webhook", "url": f"{receiver.base_url}/hook/ops"},
        ],
    }
    body.update(over)
    return body


async def fold_hour(pool: Pool, hour: Any, *, unclear: int, total: int = 20) -> None:
    await fold(pool, escalations(hour, clause=SLURS, region="DE", total=total, unclear=unclear))


async def attempts(pool: Pool) -> list[tuple[str, str, str, int | None, str | None]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT o.channel, o.transition, a.outcome, a.status_code, a.error
            FROM insights.alert_delivery_attempts a JOIN insights.alert_outbox o USING (outbox_id)
            WHERE o.channel <> '_topic' ORDER BY a.attempt_id
            """
        )
    return [tuple(r) for r in rows]


class TestReceiverOutage:
    async def test_messages_arrive_after_it_returns_once_each_in_order(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        sender = running.alerts.sender
        assert (
            await running.client.post("/v1/rules", json=threshold_rule(receiver))
        ).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        await receiver.stop()
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        assert await sender.deliver_due() == 2  # the topic does not depend on the receiver
        for _ in range(6):  # six minutes of retries, every one refused
            clock.advance(minutes=1)
            assert await sender.deliver_due() == 0
        await fold_hour(pool, AFTER, unclear=2)
        await evaluate_at(running, clock, AFTER_DONE + timedelta(minutes=10))
        assert await sender.deliver_due() == 1  # the resolve on the topic
        # The resolve waits behind the firing message of its channel.
        detail = (
            await running.client.get(f"/v1/breaches/{(await breaches(running))[0]['id']}")
        ).json()
        waiting = [(d["channel"], d["transition"], d["state"]) for d in detail["deliveries"][2:]]
        assert waiting == [
            ("policy", "firing", "pending"),
            ("ops", "firing", "pending"),
            ("_topic", "resolved", "delivered"),
            ("policy", "resolved", "pending"),
            ("ops", "resolved", "pending"),
        ]
        failed = await attempts(pool)
        assert {a[2] for a in failed} == {"retry"}
        assert {a[4] for a in failed} == {
            "unreachable: ClientConnectorError",
            "unreachable: ConnectError",
        }

        await receiver.start()
        clock.advance(seconds=75)  # beyond the longest backoff (60 s and 20% jitter)
        assert await sender.deliver_due() == 4
        clock.advance(minutes=10)
        assert await sender.deliver_due() == 0
        assert [r.json()["text"].split(":")[0] for r in receiver.of("/slack/policy")] == [
            "FIRING",
            "RESOLVED",
        ]
        assert [r.json()["type"] for r in receiver.of("/hook/ops")] == [
            "breach.firing",
            "breach.resolved",
        ]
        delivered = [a for a in await attempts(pool) if a[2] == "delivered"]
        # Row by row in id order; within each channel, firing before resolved.
        assert [(a[0], a[1]) for a in delivered] == [
            ("policy", "firing"),
            ("ops", "firing"),
            ("policy", "resolved"),
            ("ops", "resolved"),
        ]

    async def test_retry_after_of_a_429_is_honoured(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        sender = running.alerts.sender
        rule = threshold_rule(receiver)
        rule["channels"] = rule["channels"][:1]
        assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        receiver.script.append((429, {"Retry-After": "120"}))
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        assert await sender.deliver_due() == 2  # topic only
        clock.advance(seconds=119)
        assert await sender.deliver_due() == 0
        clock.advance(seconds=1)
        assert await sender.deliver_due() == 1
        assert await attempts(pool) == [
            ("policy", "firing", "retry", 429, "HTTP 429"),
            ("policy", "firing", "delivered", 200, None),
        ]
        async with pool.acquire() as conn:
            assert (
                await conn.fetchval(
                    "SELECT retry_after_s FROM insights.alert_delivery_attempts a"
                    " JOIN insights.alert_outbox o USING (outbox_id)"
                    " WHERE o.channel = 'policy' ORDER BY attempt_id LIMIT 1"
                )
                == 120.0
            )
        assert len(receiver.of("/slack/policy")) == 1

    async def test_slack_api_rate_limits_and_errors(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        rule = threshold_rule(receiver)
        rule["channels"] = [{"name": "bot", "type": "slack_api", "slack_channel": "C-OPS"}]
        assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        receiver.script += [(429, {"Retry-After": "30"}), (500, {})]
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        assert await running.alerts.sender.deliver_due() == 2  # topic only
        clock.advance(seconds=30)
        assert await running.alerts.sender.deliver_due() == 0
        clock.advance(seconds=9)  # the backoff after attempt 2: 10 s plus at most 20% jitter
        assert await running.alerts.sender.deliver_due() == 0
        clock.advance(seconds=3)
        assert await running.alerts.sender.deliver_due() == 1
        assert await attempts(pool) == [
            ("bot", "firing", "retry", 429, "slack: ratelimited"),
            ("bot", "firing", "retry", 500, "slack: fatal_error"),
            ("bot", "firing", "delivered", 200, None),
        ]


class TestFlapping:
    async def test_a_flapping_metric_is_one_breach(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        held = threshold_rule(receiver, keep_firing_for="3h")
        bare = threshold_rule(receiver, id="slurs-unclear-bare", channels=[])
        for rule in (held, bare):
            assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        # Above (50%), below (10%), above, below, above, then below for good.
        shares = [10, 2, 10, 2, 10, 2, 2, 2, 2]
        for h, unclear in enumerate(shares):
            hour = SPIKE + timedelta(hours=h)
            await fold_hour(pool, hour, unclear=unclear)
            await evaluate_at(running, clock, hour + timedelta(hours=1, minutes=30))
            await running.alerts.sender.deliver_due()
        held_breaches = await breaches(running, rule_id="slurs-unclear")
        assert [(b["state"], b["firing_at"], b["resolved_at"]) for b in held_breaches] == [
            ("resolved", "2026-11-20T01:30:00Z", "2026-11-20T08:30:00Z")
        ]
        # Without keep_firing_for, each excursion would have been a breach of its own.
        bare_breaches = await breaches(running, rule_id="slurs-unclear-bare")
        assert [b["firing_at"] for b in bare_breaches] == [
            "2026-11-20T05:30:00Z",
            "2026-11-20T03:30:00Z",
            "2026-11-20T01:30:00Z",
        ]
        page = (await running.client.get("/v1/breaches", params={"limit": 2})).json()
        assert [b["id"] for b in page["breaches"]] == [b["id"] for b in bare_breaches[:2]]
        rest = (
            await running.client.get("/v1/breaches", params={"before": page["next_before"]})
        ).json()
        assert [b["id"] for b in rest["breaches"]] == [
            bare_breaches[2]["id"],
            held_breaches[0]["id"],
        ]
        assert rest["next_before"] is None
        assert [r.json()["text"].split(":")[0] for r in receiver.of("/slack/policy")] == [
            "FIRING",
            "RESOLVED",
        ]


class TestSignatures:
    async def test_a_channel_secret_signs_instead_of_the_service_secret(
        self, running: RunningApp, clock: ManualClock
    ) -> None:
        own = Receiver(secret="per-channel-secret-0001")
        await own.start()
        try:
            rule = threshold_rule(own)
            rule["channels"] = [
                {**rule["channels"][1], "signing_secret": "per-channel-secret-0001"},
                {**rule["channels"][1], "name": "shared"},
            ]
            assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
            await fold_hour(pool_of(running), SPIKE, unclear=10)
            await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
            assert await running.alerts.sender.deliver_due() == 3  # topic x2, own secret
            # The channel without a secret of its own is signed with the service's.
            assert own.bad_signatures == 1
            assert [r.path for r in own.received] == ["/hook/ops"]
        finally:
            await own.stop()


class TestPreview:
    async def test_preview_evaluates_without_saving(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        await fold_hour(pool_of(running), SPIKE, unclear=10)
        clock.set(SPIKE_DONE + timedelta(minutes=10))
        c = running.client
        rule = threshold_rule(receiver, group_by=["region"])
        got = (await c.post("/v1/rules/preview", json=rule)).json()
        assert got["evaluated_at"] == "2026-11-20T01:10:00Z"
        assert [(g["group"], g["breaching"], g["reason"]) for g in got["groups"]] == [
            ({"region": "DE"}, True, "breaching")
        ]
        assert {k: got["groups"][0]["evidence"][k] for k in ("value", "sample", "threshold")} == {
            "value": 0.5,
            "sample": 20,
            "threshold": 0.3,
        }
        strict = (await c.post("/v1/rules/preview", json={**rule, "min_sample": 50})).json()
        assert [g["reason"] for g in strict["groups"]] == ["below_min_sample"]
        bad = await c.post("/v1/rules/preview", json={**rule, "metric": "nope"})
        assert bad.status_code == 422
        assert (await c.get("/v1/rules")).json() == {"rules": []}
        assert await breaches(running) == []


class TestAcknowledge:
    async def test_ack_updates_the_bot_message_and_tells_webhooks(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        rule = threshold_rule(receiver)
        rule["channels"].append({"name": "bot", "type": "slack_api", "slack_channel": "C-OPS"})
        assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        assert await running.alerts.sender.deliver_due() == 5
        clock.advance(minutes=5)
        breach_id = (await breaches(running))[0]["id"]
        ack = await running.client.post(
            f"/v1/breaches/{breach_id}/ack",
            headers={"content-type": "application/json"},
            auth=SignedAs(analyst("dana")),
        )
        assert ack.status_code == 200
        assert await running.alerts.sender.deliver_due() == 3  # topic, ops, bot
        assert [r.path for r in receiver.received] == [
            "/slack/policy",
            "/hook/ops",
            "/api/chat.postMessage",
            "/hook/ops",
            "/api/chat.update",
        ]
        update = receiver.received[-1].json()
        assert (update["channel"], update["ts"]) == ("C-OPS", "1700000000.000001")
        assert update["blocks"][-1]["elements"][0]["text"] == (
            f"breach {breach_id} · rule slurs-unclear v1"
            " · acknowledged by dana 2026-11-20T01:15:00Z"
        )
        assert receiver.received[3].json()["type"] == "breach.acknowledged"


class TestRuleChanges:
    async def test_regrouping_and_deleting_resolve_open_breaches(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        c = running.client
        rule = threshold_rule(receiver)
        rule["channels"] = rule["channels"][:1]
        assert (await c.post("/v1/rules", json=rule)).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        assert (
            await c.put("/v1/rules/slurs-unclear", json={**rule, "group_by": ["region"]})
        ).status_code == 200
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=20))
        assert (await c.delete("/v1/rules/slurs-unclear")).status_code == 204
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=30))
        await running.alerts.sender.deliver_due()
        got = await breaches(running)
        assert [(b["scope"]["group"], b["state"], b["resolved_reason"]) for b in got] == [
            ({"region": "DE"}, "resolved", "rule_removed"),
            ({}, "resolved", "scope_changed"),
        ]
        assert [r.json()["text"].split(" (")[0] for r in receiver.of("/slack/policy")] == [
            "FIRING: HATE.SLURS policy-unclear share",
            "RESOLVED: HATE.SLURS policy-unclear share",
            "FIRING: HATE.SLURS policy-unclear share",
            "RESOLVED: HATE.SLURS policy-unclear share",
        ]


class TestRuleStatus:
    async def test_last_evaluation_and_errors_show_on_the_rule(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        c = running.client
        rule = threshold_rule(receiver, group_by=["region"], channels=[])
        assert (await c.post("/v1/rules", json=rule)).status_code == 201
        broken = threshold_rule(receiver, id="retired", channels=[])
        assert (await c.post("/v1/rules", json=broken)).status_code == 201
        async with pool.acquire() as conn:
            # A metric that a later version of the service no longer defines.
            await conn.execute(
                "UPDATE insights.alert_rules SET spec = jsonb_set(spec, '{metric}', '\"gone\"')"
                " WHERE rule_id = 'retired'"
            )
        await fold(
            pool,
            escalations(SPIKE, clause=SLURS, region="DE", total=20, unclear=10)
            + escalations(SPIKE, clause=SLURS, region="FR", total=20, unclear=1)
            + escalations(SPIKE, clause=SLURS, region="IT", total=3, unclear=3),
        )
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        got = (await c.get("/v1/rules/slurs-unclear")).json()["last_evaluation"]
        assert got == {
            "evaluated_at": "2026-11-20T01:10:00Z",
            "rule_version": 1,
            "outcomes": {"breaching": 1, "within": 1, "below_min_sample": 1},
            "error": None,
            "error_at": None,
        }
        retired = (await c.get("/v1/rules/retired")).json()["last_evaluation"]
        assert (retired["error"], retired["error_at"]) == ("KeyError", "2026-11-20T01:10:00Z")
        assert [b["rule_id"] for b in await breaches(running)] == ["slurs-unclear"]


class TestRestart:
    async def test_killed_between_breach_and_delivery_still_delivers_once(
        self, servers: Servers, database_url: str, topic_prefix: str, receiver: Receiver
    ) -> None:
        settings = make_settings(
            servers,
            database_url,
            topic_prefix,
            receiver,
            alert_evaluation_interval_seconds=0.05,
            alert_sender_interval_seconds=0.05,
        )
        clock = ManualClock(SPIKE_DONE + timedelta(minutes=10))
        rule = threshold_rule(receiver)
        rule["channels"] = rule["channels"][:1]
        receiver.hang = True
        async with alerts_app(settings, clock) as first:
            assert (await first.client.post("/v1/rules", json=rule)).status_code == 201
            await fold_hour(pool_of(first), SPIKE, unclear=10)

            async def hanging() -> int:
                return receiver.hanging

            # The scheduler found the breach and the sender is inside its request...
            await eventually(hanging, lambda n: n == 1)
        # ... when the process goes away: the row is still pending, its attempt never
        # committed.
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT state, attempts FROM insights.alert_outbox WHERE channel = 'policy'"
            )
        finally:
            await conn.close()
        assert tuple(row) == ("pending", 0)
        receiver.hang = False
        async with alerts_app(settings, clock, migrate=False) as second:
            pool = pool_of(second)
            delivered = await eventually(
                lambda: _outbox_states(pool), lambda s: s == [("policy", "delivered", 1)]
            )
            assert delivered == [("policy", "delivered", 1)]
            passes = second.alerts.passes["send"]
            await wait_for_passes(second.alerts, send=passes + 3)
        assert len(receiver.of("/slack/policy")) == 1
        assert receiver.hanging == 1


async def _outbox_states(pool: Pool) -> list[tuple[str, str, int]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT channel, state, attempts FROM insights.alert_outbox"
            " WHERE channel <> '_topic' ORDER BY outbox_id"
        )
    return [(r["channel"], r["state"], r["attempts"]) for r in rows]


class TestBadConfiguration:
    async def test_broken_channel_is_reported_and_blocks_nothing(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        closed = free_port()
        rule = threshold_rule(receiver)
        rule["channels"] = [
            {"name": "dead", "type": "webhook", "url": f"http://127.0.0.1:{closed}/hook/x"},
            {"name": "gone", "type": "slack_webhook", "url": f"{receiver.base_url}/slack/gone"},
            {"name": "policy", "type": "slack_webhook", "url": f"{receiver.base_url}/slack/policy"},
        ]
        assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        before = _errors("webhook", "unreachable")
        receiver.script.append((404, {}))  # Slack's answer for a revoked webhook
        assert await running.alerts.sender.deliver_due() == 3  # topic x2, policy
        assert _errors("webhook", "unreachable") == before + 1
        assert await _outbox_states(pool) == [
            ("dead", "pending", 1),
            ("gone", "failed", 1),
            ("policy", "delivered", 1),
        ]
        status = (await running.client.get("/v1/rules/slurs-unclear")).json()["channel_status"]
        assert [(s["channel"], s["healthy"], s["failures"], s["last_error"]) for s in status] == [
            ("dead", False, 1, "unreachable: ConnectError"),
            ("gone", False, 1, "HTTP 404"),
            ("policy", True, 0, None),
        ]
        # A host taken off the allowlist is refused at send time, without a request.
        narrowed = make_settings(
            Servers("", "", "x"), "", "", receiver, alert_webhook_allowed_hosts=["example.org"]
        )
        running.alerts.sender.notifiers.settings = narrowed
        clock.advance(minutes=5)
        assert await running.alerts.sender.deliver_due() == 0
        assert (await _outbox_states(pool))[0] == ("dead", "failed", 2)
        assert (await attempts(pool))[-1][4] == (
            "the host is not in the webhook allowlist (PP_ALERT_WEBHOOK_ALLOWED_HOSTS)"
        )

    async def test_redirects_are_never_followed(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        assert (
            await running.client.post("/v1/rules", json=threshold_rule(receiver))
        ).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=10))
        inside = {"Location": "http://169.254.169.254/latest/meta-data"}
        receiver.script += [(302, inside), (307, inside)]
        assert await running.alerts.sender.deliver_due() == 2  # topic only
        assert await attempts(pool) == [
            ("policy", "firing", "failed", None, "redirect refused (HTTP 302)"),
            ("ops", "firing", "failed", 307, "HTTP 307"),
        ]
        assert receiver.script == []

    async def test_allowlisted_names_resolving_inside_are_refused(
        self, servers: Servers, database_url: str, topic_prefix: str, receiver: Receiver
    ) -> None:
        settings = make_settings(
            servers,
            database_url,
            topic_prefix,
            receiver,
            alert_webhook_allowed_hosts=["127.0.0.1", "localhost"],
        )
        clock = ManualClock(SPIKE_DONE + timedelta(minutes=10))
        rule = threshold_rule(receiver)
        rule["channels"] = [
            {"name": "named", "type": "webhook", "url": f"http://localhost:{receiver.port}/hook/n"},
            {"name": "address", "type": "webhook", "url": f"{receiver.base_url}/hook/a"},
        ]
        async with alerts_app(settings, clock) as r:
            assert (await r.client.post("/v1/rules", json=rule)).status_code == 201
            await fold_hour(pool_of(r), SPIKE, unclear=10)
            await evaluate_all(pool_of(r), now=clock(), settings=settings)
            assert await r.alerts.sender.deliver_due() == 3  # topic x2, address
            assert await _outbox_states(pool_of(r)) == [
                ("named", "failed", 1),
                ("address", "delivered", 1),
            ]
            assert (await attempts(pool_of(r)))[0][4] == "the host resolves to a non-public address"
        assert [x.path for x in receiver.received] == ["/hook/a"]


def _errors(kind: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "pp_insights_alert_channel_errors_total", {"channel_type": kind, "reason": reason}
    )
    return value or 0.0


class TestSilenceAndAck:
    async def test_silence_holds_the_message_until_it_expires(
        self, running: RunningApp, receiver: Receiver, clock: ManualClock
    ) -> None:
        pool = pool_of(running)
        rule = threshold_rule(receiver, **{"for": "20m"})
        assert (await running.client.post("/v1/rules", json=rule)).status_code == 201
        await fold_hour(pool, SPIKE, unclear=10)
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=5))
        (pending,) = await breaches(running, state="pending")
        c = running.client
        r = await c.post(
            f"/v1/breaches/{pending['id']}/silence",
            json={"for": "30m", "reason": "guidance update in review"},
            auth=SignedAs(analyst("carol")),
        )
        assert r.status_code == 200
        assert r.json()["silenced_until"] == "2026-11-20T01:35:00Z"
        bad = await c.post(f"/v1/breaches/{pending['id']}/silence", json={"reason": "x"})
        assert bad.status_code == 422
        assert bad.json()["errors"] == [
            {"pointer": "/body/until", "detail": "exactly one of until and for"}
        ]
        ack = await c.post(f"/v1/breaches/{pending['id']}/ack", json={"note": "on it"})
        assert ack.json()["acknowledged_by"] == "pat"

        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=25))  # fires, silenced
        await running.alerts.sender.deliver_due()
        assert receiver.received == []
        await evaluate_at(running, clock, SPIKE_DONE + timedelta(minutes=40))  # silence over
        await running.alerts.sender.deliver_due()
        assert [r.path for r in receiver.received] == ["/slack/policy", "/hook/ops"]
        detail = (await c.get(f"/v1/breaches/{pending['id']}")).json()
        assert [(t["kind"], t["actor"], t["at"]) for t in detail["timeline"]] == [
            ("pending", "evaluator", "2026-11-20T01:05:00Z"),
            ("silenced", "carol", "2026-11-20T01:05:00Z"),
            ("acknowledged", "pat", "2026-11-20T01:05:00Z"),
            ("firing", "evaluator", "2026-11-20T01:25:00Z"),
        ]
        assert detail["timeline"][1]["detail"] == {
            "until": "2026-11-20T01:35:00Z",
            "reason": "guidance update in review",
        }
        assert (await c.get("/v1/breaches/999")).status_code == 404


class TestAddressPinning:
    async def test_slack_sessions_refuse_names_resolving_inside(self) -> None:
        resolver = PublicOnlyResolver()
        try:
            with pytest.raises(OSError, match="localhost resolves to a non-public address"):
                await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()

    async def test_webhooks_connect_to_the_checked_address(
        self, servers: Servers, receiver: Receiver
    ) -> None:
        settings = make_settings(servers, "", "", receiver)
        notifiers = Notifiers(settings, None, "unused")
        payload = breach_message(transition="firing", breach_id=1)
        try:
            # As if "alerts.example.org" had resolved to the address checked as public.
            outcome = await notifiers._webhook(
                f"http://alerts.example.org:{receiver.port}/hook/ops",
                7,
                payload,
                SPIKE,
                None,
                "127.0.0.1",
            )
        finally:
            await notifiers.close()
        assert (outcome.delivered, outcome.status_code) == (True, 200)
        (got,) = receiver.received
        assert (got.path, got.headers["Host"]) == (
            "/hook/ops",
            f"alerts.example.org:{receiver.port}",
        )
        assert got.headers["X-PolicyPulse-Delivery"] == "7"
