"""The statistics, backoff, signatures and messages of alerting, and rule evaluation over
real rollups for the count conditions (change versus last week, Poisson versus seasons)."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import timedelta
from typing import Any

import pytest

from pp_insights.alerts.breaches.evaluator import observe
from pp_insights.alerts.breaches.stats import binomial_p, poisson_p, seasonal_mean
from pp_insights.alerts.delivery.outcomes import retry_after_seconds
from pp_insights.alerts.delivery.sender import backoff
from pp_insights.alerts.delivery.slack import render
from pp_insights.alerts.delivery.webhooks import sign
from pp_insights.alerts.documents import Evidence
from pp_insights.alerts.rules.spec import RuleSpec
from pp_insights.metrics_def import LATENCY_HISTOGRAM
from pp_shared.db import Pool
from pp_shared.testing.samples import decision, escalation

from .alerts_support import AlertTestSettings, breach_message, escalations, fold, hour_at

NOW = hour_at("2026-11-20T11:20:00Z")
HOUR = hour_at("2026-11-20T10:00:00Z")
"""The last complete hour at NOW."""


class TestStatistics:
    def test_binomial_tail(self) -> None:
        # P(X >= 3), X ~ Binomial(10, 0.1) = 1 - (0.9^10 + 10 * 0.1 * 0.9^9 + 45 * 0.01 * 0.9^8)
        assert binomial_p(3, 10, 0.1, rising=True) == pytest.approx(0.0701908264, abs=1e-10)
        # P(X <= 0), X ~ Binomial(10, 0.3) = 0.7^10
        assert binomial_p(0, 10, 0.3, rising=False) == pytest.approx(0.7**10, abs=1e-12)
        assert binomial_p(0, 0, 0.3, rising=True) == 1.0

    def test_poisson_tail_and_seasonal_mean(self) -> None:
        # P(X >= 5), X ~ Poisson(1) = 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24)
        assert poisson_p(5, 1.0, rising=True) == pytest.approx(0.0036598468, abs=1e-10)
        assert seasonal_mean([10, 12, 8, 10]) == 10.125
        assert seasonal_mean([0, 0, 0, 0]) == 0.125


class TestDelivery:
    def test_backoff_doubles_up_to_the_cap(self) -> None:
        settings = AlertTestSettings(
            alert_retry_base_seconds=5, alert_retry_max_seconds=60, alert_retry_jitter=0
        )
        rng = random.Random(1)
        assert [backoff(n, settings, rng) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
        jittered = AlertTestSettings(alert_retry_base_seconds=5, alert_retry_jitter=0.2)
        delays = [backoff(1, jittered, random.Random(seed)) for seed in range(50)]
        assert all(5 <= d <= 6 for d in delays)
        assert len(set(delays)) == 50

    def test_retry_after_as_seconds_or_date(self) -> None:
        assert retry_after_seconds("120", NOW) == 120.0
        assert retry_after_seconds("Fri, 20 Nov 2026 11:25:00 GMT", NOW) == 300.0
        assert retry_after_seconds("soon", NOW) is None
        assert retry_after_seconds("999999", NOW) == 3600.0

    def test_signature_is_hmac_sha256_of_timestamp_dot_body(self) -> None:
        body = b'{"type":"breach.firing"}'
        expected = hmac.new(b"k", b"1763634000." + body, hashlib.sha256).hexdigest()
        assert sign("k", "1763634000", body) == f"v1={expected}"

    def test_block_kit_message(self) -> None:
        evidence: Evidence = {
            "value": 0.5,
            "sample": 40,
            "op": ">",
            "threshold": 0.3,
            "window": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"},
            "drilldown": "http://gw/v1/insights/drilldown?metric=overturn_rate",
        }
        payload = breach_message(
            scope={"filters": {"area": ["HATE"]}, "group": {"clause_id": "HATE.SLURS"}},
            evidence=evidence,
            peak_evidence=evidence,
        )
        text, blocks = render(payload, base_url="http://gw")
        assert text == (
            "FIRING: Overturns (clause_id=HATE.SLURS, area=HATE): 0.5 (n=40) > threshold 0.3"
        )
        rendered = [b.to_dict() for b in blocks]
        assert [b["type"] for b in rendered] == ["header", "section", "actions", "context"]
        fields = [f["text"] for f in rendered[1]["fields"]]
        assert fields[:5] == [
            "*Metric*\noverturn_rate",
            "*Severity*\nhigh",
            "*Area*\nHATE",
            "*Clause*\nHATE.SLURS",
            "*Value*\n0.5 (n=40) > threshold 0.3",
        ]
        assert [e["url"] for e in rendered[2]["elements"]] == [
            "http://gw/v1/insights/drilldown?metric=overturn_rate",
            "http://gw/breaches/7",
        ]
        assert rendered[3]["elements"][0]["text"] == "breach 7 · rule r v2"

    def test_slack_says_what_a_clause_scoped_count_rule_says(self) -> None:
        evidence: Evidence = {
            "metric": "volume",
            "value": 27.0,
            "sample": 27,
            "op": ">",
            "threshold": 20.0,
            "window": {"from": "2026-11-20T14:00:00Z", "to": "2026-11-20T20:00:00Z"},
        }
        payload = breach_message(
            metric="volume",
            rule_name="Threats volume",
            scope={"filters": {"clause_id": ["VBDA.THREATS"]}, "group": {"region": "DE"}},
            evidence=evidence,
            peak_evidence=evidence,
        )
        text, blocks = render(payload, base_url="http://gw")
        assert text == (
            "FIRING: Threats volume (region=DE, clause_id=VBDA.THREATS): 27 (n=27) > threshold 20"
        )
        fields = [f["text"] for f in blocks[1].to_dict()["fields"]]
        assert fields == [
            "*Metric*\nvolume",
            "*Severity*\nhigh",
            "*Area*\nVBDA",
            "*Clause*\nVBDA.THREATS",
            "*Value*\n27 (n=27) > threshold 20",
            "*Window*\n6 h to 20:00 UTC, 20 Nov 2026",
            "*Scope*\nregion=DE, clause_id=VBDA.THREATS",
        ]
        # A week-long window of a rate: days, and the rate as it is.
        weekly: Evidence = {
            **evidence,
            "value": 0.25,
            "threshold": 0.2,
            "window": {"from": "2026-11-13T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
        }
        _, rate_blocks = render(
            breach_message(evidence=weekly, peak_evidence=weekly), base_url="http://gw"
        )
        rate_fields = [f["text"] for f in rate_blocks[1].to_dict()["fields"]]
        assert rate_fields[2:6] == [
            "*Area*\nany",
            "*Clause*\nany",
            "*Value*\n0.25 (n=27) > threshold 0.2",
            "*Window*\n7 d to 00:00 UTC, 20 Nov 2026",
        ]


def volume_rule(condition: dict[str, Any]) -> RuleSpec:
    return RuleSpec.model_validate(
        {
            "id": "vbda-volume",
            "name": "VBDA.THREATS volume",
            "metric": "volume",
            "scope": {"clause_id": "VBDA.THREATS"},
            "group_by": ["region"],
            "window": "1h",
            "condition": condition,
            "min_sample": 5,
        }
    )


def unclear_rule(condition: dict[str, Any]) -> RuleSpec:
    """The policy-unclear share per region over the last hour, at least 20 escalations."""
    return RuleSpec.model_validate(
        {
            "id": "unclear",
            "name": "Unclear",
            "metric": "policy_unclear_share",
            "group_by": ["region"],
            "window": "1h",
            "condition": condition,
            "min_sample": 20,
        }
    )


async def fold_weeks(pool: Pool) -> None:
    """DE: 10, 12, 8, 10 escalations in this hour of the four weeks before, 30 now;
    FR: 10 each week, 14 now."""
    events = []
    for weeks, (de, fr) in enumerate([(30, 14), (10, 10), (12, 10), (8, 10), (10, 10)]):
        hour = HOUR - timedelta(weeks=weeks)
        events += escalations(hour, clause="VBDA.THREATS", region="DE", total=de, unclear=0)
        events += escalations(hour, clause="VBDA.THREATS", region="FR", total=fr, unclear=0)
    await fold(pool, events)


class TestCountConditions:
    async def test_change_versus_the_same_hour_last_week(self, pool: Pool) -> None:
        await fold_weeks(pool)
        spec = volume_rule({"kind": "change", "op": ">=", "factor": 3, "offset": "7d"})
        async with pool.acquire() as conn:
            got = await observe(conn, spec, now=NOW, extra_groups=[], link_base_url="http://gw")
        assert [(o.group, o.breaching, o.reason) for o in got] == [
            ({"region": "DE"}, True, "breaching"),
            ({"region": "FR"}, False, "within"),
        ]
        assert {k: got[0].evidence[k] for k in ("value", "baseline", "ratio", "threshold")} == {
            "value": 30.0,
            "baseline": 10.0,
            "ratio": 3.0,
            "threshold": 30.0,
        }

    async def test_poisson_against_four_seasons(self, pool: Pool) -> None:
        await fold_weeks(pool)
        spec = volume_rule({"kind": "statistical", "confidence": 0.99, "season": "7d"})
        async with pool.acquire() as conn:
            got = await observe(conn, spec, now=NOW, extra_groups=[], link_base_url="http://gw")
        de, fr = got
        assert (de.breaching, de.evidence["baseline_counts"], de.evidence["baseline"]) == (
            True,
            [10, 12, 8, 10],
            10.125,
        )
        assert de.evidence["p_value"] == float(f"{poisson_p(30, 10.125, rising=True):.6g}")
        assert de.evidence["p_value"] < 1e-6
        # 14 against 10.125 is ordinary (p about 0.16).
        assert (fr.breaching, fr.reason, fr.evidence["baseline"]) == (False, "within", 10.125)
        assert fr.evidence["p_value"] == float(f"{poisson_p(14, 10.125, rising=True):.6g}")
        assert fr.evidence["p_value"] > 0.01


def with_decisions(latencies: list[float], *, region: str) -> list[dict[str, Any]]:
    """One escalation per latency in HOUR, each decided that many seconds later."""
    events = []
    for i, seconds in enumerate(latencies):
        eid = f"lat-{region}-{i}"
        created = HOUR + timedelta(minutes=i)
        events.append(
            escalation(
                event_id=eid,
                escalation_id=eid,
                occurred_at=created.isoformat(),
                suggested_clause_id="HATE.SLURS",
                region=region,
                escalation_reason="policy_unclear" if i % 2 else "other",
            )
        )
        events.append(
            decision(
                event_id=f"{eid}-d",
                escalation_id=eid,
                decision_id=f"{eid}-d",
                occurred_at=(created + timedelta(seconds=seconds)).isoformat(),
                clause_id="HATE.SLURS",
            )
        )
    return events


class TestOtherMetrics:
    async def test_latency_quantile_against_a_threshold(self, pool: Pool) -> None:
        # DE: 9 decisions after 10 s and one after 10000 s; FR: all ten after 10000 s.
        await fold(
            pool,
            with_decisions([10.0] * 9 + [10000.0], region="DE")
            + with_decisions([10000.0] * 10, region="FR"),
        )
        spec = RuleSpec.model_validate(
            {
                "id": "slow",
                "name": "Slow decisions",
                "metric": "decision_latency",
                "quantile": 0.5,
                "group_by": ["region"],
                "window": "1h",
                "condition": {"kind": "threshold", "op": ">", "threshold": 3600},
                "min_sample": 10,
            }
        )
        async with pool.acquire() as conn:
            got = await observe(conn, spec, now=NOW, extra_groups=[], link_base_url="http://gw")
        assert [(o.group, o.breaching, o.evidence["sample"]) for o in got] == [
            ({"region": "DE"}, False, 10),
            ({"region": "FR"}, True, 10),
        ]
        # The rollups' histogram answers the quantile (within one 1.25x bin of the truth).
        hist = LATENCY_HISTOGRAM
        de = [0] * hist.bins
        de[hist.bin_of(10.0)], de[hist.bin_of(10000.0)] = 9, 1
        fr = [0] * hist.bins
        fr[hist.bin_of(10000.0)] = 10
        assert [o.evidence["value"] for o in got] == [
            round(hist.quantile(de, 0.5) or 0, 6),
            round(hist.quantile(fr, 0.5) or 0, 6),
        ]
        fr_p50 = got[1].evidence["value"]
        assert fr_p50 is not None
        assert 10000 / 1.25 < fr_p50 < 10000 * 1.25

    async def test_rates_against_a_fixed_rate_and_falling(self, pool: Pool) -> None:
        await fold(
            pool,
            escalations(HOUR, clause="HATE.SLURS", region="DE", total=40, unclear=20)
            + escalations(HOUR, clause="HATE.SLURS", region="FR", total=40, unclear=1),
        )

        rising = unclear_rule({"kind": "statistical", "baseline_rate": 0.25, "confidence": 0.99})
        falling = unclear_rule(
            {"kind": "statistical", "op": "<", "baseline_rate": 0.25, "confidence": 0.99}
        )
        async with pool.acquire() as conn:
            up = await observe(conn, rising, now=NOW, extra_groups=[], link_base_url="http://gw")
            down = await observe(conn, falling, now=NOW, extra_groups=[], link_base_url="http://gw")
        assert [(o.group["region"], o.breaching) for o in up] == [("DE", True), ("FR", False)]
        assert [(o.group["region"], o.breaching) for o in down] == [("DE", False), ("FR", True)]
        assert up[0].evidence["p_value"] == float(f"{binomial_p(20, 40, 0.25, rising=True):.6g}")
        assert down[1].evidence["p_value"] == float(f"{binomial_p(1, 40, 0.25, rising=False):.6g}")
        assert (up[0].evidence["numerator"], up[0].evidence["denominator"]) == (20, 40)


class TestFallingCounts:
    async def test_a_count_that_drops_to_nothing_is_judged_on_its_baseline(
        self, pool: Pool
    ) -> None:
        events = []
        for weeks in range(1, 5):
            hour = HOUR - timedelta(weeks=weeks)
            events += escalations(hour, clause="VBDA.THREATS", region="DE", total=30, unclear=0)
            events += escalations(hour, clause="VBDA.THREATS", region="FR", total=2, unclear=0)
        await fold(pool, events)
        spec = volume_rule({"kind": "statistical", "op": "<", "confidence": 0.99})
        async with pool.acquire() as conn:
            got = await observe(conn, spec, now=NOW, extra_groups=[], link_base_url="http://gw")
        assert [(o.group, o.breaching, o.reason, o.evidence["sample"]) for o in got] == [
            ({"region": "DE"}, True, "breaching", 30),
            ({"region": "FR"}, False, "below_min_sample", 2),
        ]
        assert got[0].evidence["p_value"] == float(f"{poisson_p(0, 30.125, rising=False):.6g}")


class TestMultipleGroups:
    async def test_bonferroni_holds_many_groups_to_a_stricter_level(self, pool: Pool) -> None:
        regions = ["AT", "BE", "CH", "DE", "ES", "FR", "IE", "IT", "NL", "PL"]
        events = []
        for region in regions:
            # DE: 20 of 40 (p far below 0.001); FR: 10 of 40 (p = 0.0051); others 4 of 40.
            unclear = {"DE": 20, "FR": 10}.get(region, 4)
            events += escalations(
                HOUR, clause="HATE.SLURS", region=region, total=40, unclear=unclear
            )
        await fold(pool, events)

        def rule(correction: str) -> RuleSpec:
            return unclear_rule(
                {
                    "kind": "statistical",
                    "baseline_rate": 0.1,
                    "confidence": 0.99,
                    "correction": correction,
                }
            )

        async with pool.acquire() as conn:
            plain = await observe(conn, rule("none"), now=NOW, extra_groups=[], link_base_url="")
            strict = await observe(
                conn, rule("bonferroni"), now=NOW, extra_groups=[], link_base_url=""
            )
        assert [o.group["region"] for o in plain if o.breaching] == ["DE", "FR"]
        assert [o.group["region"] for o in strict if o.breaching] == ["DE"]
        fr = next(o for o in strict if o.group["region"] == "FR")
        assert (fr.reason, fr.evidence["alpha"], fr.evidence["tested_groups"]) == (
            "within",
            0.001,
            10,
        )
        assert fr.evidence["p_value"] == float(f"{binomial_p(10, 40, 0.1, rising=True):.6g}")
