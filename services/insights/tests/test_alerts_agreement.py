"""Alert rules on agreement in production (``production_kappa``): a rule's window is judged
on Cohen's kappa of the window's paired QA reviews, per group, equal to statsmodels on the
raw pairs; only threshold and change conditions apply."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from pp_insights.alerts.breaches.evaluator import observe
from pp_insights.alerts.delivery.slack import _comparison
from pp_insights.alerts.rules.spec import RuleSpec
from pp_insights.alerts.rules.validation import validate_rule
from pp_insights_testing.harness import fold_events
from pp_shared.contracts.breaches import BreachEvidence
from pp_shared.db import Pool
from pp_shared.problems import InvalidInput

from .alerts_support import hour_at
from .test_calibration_production import generated, kappa_of

NOW = hour_at("2026-11-22T00:20:00Z")
"""The window of a 48 h rule at NOW holds both days of the generated reviews."""


def kappa_rule(**fields: Any) -> dict[str, Any]:
    return {
        "id": "kappa-low",
        "name": "Moderators and QA read the policy apart",
        "metric": "production_kappa",
        "group_by": ["region"],
        "window": "48h",
        "condition": {"kind": "threshold", "op": "<", "threshold": 0.5},
        "min_sample": 20,
        **fields,
    }


def errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        validate_rule(body, allowed_hosts=[], allow_http=False)
    return [(e["pointer"], e["detail"]) for e in caught.value.errors]


class TestValidation:
    def test_a_kappa_rule_is_judged_by_threshold_or_change_only(self) -> None:
        assert validate_rule(kappa_rule(), allowed_hosts=[], allow_http=False).metric == (
            "production_kappa"
        )
        change = kappa_rule(condition={"kind": "change", "op": "<", "factor": 0.8})
        assert validate_rule(change, allowed_hosts=[], allow_http=False).condition.kind == "change"
        assert errors(kappa_rule(condition={"kind": "statistical"})) == [
            ("/body/condition/kind", "statistical tests apply to rate and count metrics")
        ]
        assert errors(kappa_rule(condition={"kind": "threshold", "threshold": 1.5})) == [
            ("/body/condition/threshold", "a kappa threshold lies between -1 and 1")
        ]
        # Kappa below zero is a real reading (worse than chance): a threshold there is allowed.
        low = kappa_rule(condition={"kind": "threshold", "op": "<", "threshold": -0.2})
        assert validate_rule(low, allowed_hosts=[], allow_http=False).condition.kind == "threshold"


class TestEvaluation:
    async def test_kappa_per_region_over_the_window(self, pool: Pool) -> None:
        events, pairs, _ = generated()
        await fold_events(pool, events)
        by_region: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for (_, region), ps in pairs.items():
            by_region[region] += ps
        expected = {region: kappa_of(ps) for region, ps in by_region.items()}
        # A threshold between the two regions' kappas: one breaches, the other does not.
        low, high = sorted(expected.values())
        spec = RuleSpec.model_validate(
            kappa_rule(condition={"kind": "threshold", "op": "<", "threshold": (low + high) / 2})
        )
        async with pool.acquire() as conn:
            got = await observe(conn, spec, now=NOW, extra_groups=[], link_base_url="http://gw")
        assert [o.group["region"] for o in got] == ["DE", "FR"]
        for o in got:
            region = o.group["region"]
            assert o.evidence["value"] == round(expected[region], 6)
            assert o.evidence["sample"] == len(by_region[region])
            assert o.breaching is (expected[region] < (low + high) / 2)
            interval_low, interval_high = o.evidence["interval"]
            assert interval_low < expected[region] < interval_high
            link = urlsplit(o.evidence["drilldown"])
            assert link.path == "/calibration/agreement"
            assert dict(parse_qsl(link.query)) == {
                "interval": "all",
                "from": "2026-11-20T00:00:00Z",
                "to": "2026-11-22T00:00:00Z",
                "region": region,
            }
        assert sum(o.breaching for o in got) == 1

    async def test_too_few_pairs_and_a_group_without_reviews(self, pool: Pool) -> None:
        events, pairs, _ = generated(escalations=24)
        await fold_events(pool, events)
        de = sum(len(ps) for (_, region), ps in pairs.items() if region == "DE")
        spec = RuleSpec.model_validate(kappa_rule(min_sample=de + 1))
        async with pool.acquire() as conn:
            got = await observe(
                conn, spec, now=NOW, extra_groups=[{"region": "IT"}], link_base_url="http://gw"
            )
        reasons = {o.group["region"]: (o.reason, o.evidence["sample"]) for o in got}
        assert reasons["DE"] == ("below_min_sample", de)
        # A group with an open breach but no reviews in the window has no value to judge.
        assert reasons["IT"] == ("no_sample", 0)

    def test_slack_states_the_interval(self) -> None:
        evidence = BreachEvidence.model_validate(
            {"value": 0.41, "sample": 212, "interval": [0.3, 0.52], "op": "<", "threshold": 0.5}
        )
        assert _comparison(evidence, count=False) == (
            "0.41 (95% CI 0.3 to 0.52, n=212) < threshold 0.5"
        )
