"""Windows and baselines as evaluation reads them: a window ends at the last complete hour,
and a baseline the data cannot fill is said so instead of judged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pp_insights.alerts.breaches.evaluator import observe
from pp_insights.alerts.rules.spec import RuleSpec
from pp_shared.db import Pool

from .alerts_support import ManualClock, escalations, fold, hour_at

HOUR = hour_at("2026-11-20T10:00:00Z")
PER_HOUR = 12


def flat(first: datetime, last: datetime, *, until: datetime) -> list[dict[str, Any]]:
    """Twelve escalations an hour (minutes 0 to 11) from hour ``first`` to hour ``last``, as
    far as they happened before ``until``."""
    out = []
    hour = first
    while hour <= last:
        events = escalations(hour, clause="VBDA.THREATS", region="DE", total=PER_HOUR, unclear=0)
        out += [e for e in events if datetime.fromisoformat(e["occurred_at"]) < until]
        hour += timedelta(hours=1)
    return out


def count_rule(rule_id: str, condition: dict[str, Any]) -> RuleSpec:
    return RuleSpec.model_validate(
        {
            "id": rule_id,
            "name": rule_id,
            "metric": "volume",
            "scope": {"clause_id": "VBDA.THREATS"},
            "window": "1h",
            "condition": condition,
            "min_sample": 1,
        }
    )


FALLING_THRESHOLD = count_rule("below", {"kind": "threshold", "op": "<", "threshold": 6})
FALLING_CHANGE = count_rule("drop", {"kind": "change", "op": "<", "factor": 0.5, "offset": "1d"})
RISING_CHANGE = count_rule("rise", {"kind": "change", "op": ">", "factor": 1.5, "offset": "1d"})


class TestCompleteHours:
    @pytest.mark.parametrize("minute", [1, 59])
    async def test_a_flat_count_never_fires_early_or_late_in_the_hour(
        self, pool: Pool, minute: int
    ) -> None:
        now = HOUR + timedelta(minutes=minute)
        # Everything that happened up to now: a day and two hours of twelve an hour, and
        # the first minutes of the hour under way.
        await fold(pool, flat(HOUR - timedelta(hours=26), HOUR, until=now))
        async with pool.acquire() as conn:
            for spec in (FALLING_THRESHOLD, FALLING_CHANGE, RISING_CHANGE):
                (got,) = await observe(
                    conn, spec, now=now, extra_groups=[], link_base_url="http://gw"
                )
                assert (spec.id, got.breaching, got.reason) == (spec.id, False, "within")
                # The last complete hour, 09:00 to 10:00, whole.
                assert got.evidence["window"] == {
                    "from": "2026-11-20T09:00:00Z",
                    "to": "2026-11-20T10:00:00Z",
                }
                assert got.evidence["value"] == float(PER_HOUR)
        assert datetime.fromisoformat(got.evidence["window"]["to"]) <= now

    async def test_the_hour_under_way_counts_once_it_is_complete(self, pool: Pool) -> None:
        await fold(pool, flat(HOUR, HOUR, until=HOUR + timedelta(hours=1)))
        async with pool.acquire() as conn:
            early, complete = [
                (await observe(conn, FALLING_THRESHOLD, now=now, extra_groups=[], link_base_url=""))
                for now in (HOUR + timedelta(minutes=59), HOUR + timedelta(hours=1))
            ]
        assert [o.evidence["value"] for o in early] == []
        assert [(o.evidence["value"], o.evidence["window"]["to"]) for o in complete] == [
            (12.0, "2026-11-20T11:00:00Z")
        ]


def spike_rule(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "threats-spike",
        "name": "Threats spike",
        "metric": "volume",
        "scope": {"clause_id": "VBDA.THREATS"},
        "window": "1h",
        "condition": condition,
        "min_sample": 5,
    }


POISSON = {"kind": "statistical", "op": ">", "confidence": 0.99}
"""Against the default seasons: the same hour 7, 14, 21 and 28 days earlier."""
WEEK_ON_WEEK = {"kind": "change", "op": ">", "factor": 2, "offset": "7d"}
DATA_SINCE = HOUR - timedelta(days=14)
AFTER_HOUR = HOUR + timedelta(hours=1, minutes=5)


async def fold_two_weeks(pool: Pool) -> None:
    """Fourteen days of data: 10 escalations in this hour 14 and 7 days ago, 30 now."""
    events = []
    for days, total in ((14, 10), (7, 10), (0, 30)):
        hour = HOUR - timedelta(days=days)
        events += escalations(hour, clause="VBDA.THREATS", region="DE", total=total, unclear=0)
    await fold(pool, events)


COVERAGE = {"hours": 4, "hours_with_data": 2, "coverage": 0.5, "data_since": "2026-11-06T10:00:00Z"}


class TestBaselineCoverage:
    async def test_a_baseline_before_the_data_is_insufficient_not_judged(self, pool: Pool) -> None:
        await fold_two_weeks(pool)
        seasons = RuleSpec.model_validate(spike_rule(POISSON))
        last_week = RuleSpec.model_validate(spike_rule(WEEK_ON_WEEK))
        async with pool.acquire() as conn:
            (poisson,) = await observe(
                conn, seasons, now=AFTER_HOUR, extra_groups=[], link_base_url=""
            )
            (change,) = await observe(
                conn, last_week, now=AFTER_HOUR, extra_groups=[], link_base_url=""
            )
        # Two of the four seasons lie before the data: 30 against (10 + 10 + 0 + 0) / 4 would
        # breach, on two weeks that never had a chance to hold escalations.
        assert (poisson.breaching, poisson.reason) == (False, "insufficient_baseline")
        assert poisson.evidence["baseline_coverage"] == 0.5
        assert poisson.evidence["baseline_counts"] == [10, 10, 0, 0]
        assert "p_value" not in poisson.evidence
        # Last week is inside the data: judged as ever.
        assert (change.breaching, change.reason) == (True, "breaching")
        assert (change.evidence["baseline_coverage"], change.evidence["ratio"]) == (1.0, 3.0)

    async def test_preview_and_validation_report_the_coverage(
        self, pool: Pool, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        app.state.alerts_clock = ManualClock(AFTER_HOUR)
        rules_client = client
        await fold_two_weeks(pool)
        preview = await rules_client.post("/v1/rules/preview", json=spike_rule(POISSON))
        assert preview.status_code == 200
        assert preview.json()["baseline_coverage"] == COVERAGE
        assert [g["reason"] for g in preview.json()["groups"]] == ["insufficient_baseline"]
        created = await rules_client.post("/v1/rules", json=spike_rule(POISSON))
        assert created.status_code == 201
        assert created.json()["baseline_coverage"] == COVERAGE
        replaced = await rules_client.put("/v1/rules/threats-spike", json=spike_rule(WEEK_ON_WEEK))
        assert replaced.status_code == 200
        assert replaced.json()["baseline_coverage"] == {
            **COVERAGE,
            "hours": 1,
            "hours_with_data": 1,
            "coverage": 1.0,
        }
        threshold = {"kind": "threshold", "op": ">", "threshold": 20}
        fixed = await rules_client.post("/v1/rules/preview", json=spike_rule(threshold))
        assert fixed.json()["baseline_coverage"] is None
        assert [g["reason"] for g in fixed.json()["groups"]] == ["breaching"]
