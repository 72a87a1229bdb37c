"""Windows and baselines as evaluation reads them: a window ends at the last complete hour,
and a baseline the data cannot fill is said so instead of judged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from pp_insights.alerts.breaches.evaluator import observe
from pp_insights.alerts.rules.spec import RuleSpec
from pp_shared.db import Pool
from pp_shared.testing.samples import escalation

from .alerts_support import fold, hour_at

HOUR = hour_at("2026-11-20T10:00:00Z")
PER_HOUR = 12


def flat(first: datetime, last: datetime, *, until: datetime) -> list[dict[str, Any]]:
    """Twelve escalations an hour (one every five minutes) from hour ``first`` to hour
    ``last``, as far as they happened before ``until``."""
    out = []
    hour = first
    while hour <= last:
        for i in range(PER_HOUR):
            at = hour + timedelta(minutes=5 * i)
            if at < until:
                eid = f"flat-{at:%Y%m%d%H%M}"
                out.append(
                    escalation(
                        event_id=eid,
                        escalation_id=eid,
                        occurred_at=at.isoformat(),
                        suggested_clause_id="VBDA.THREATS",
                        region="DE",
                    )
                )
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
