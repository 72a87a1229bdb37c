"""The impact of a launch on generated data with known injected effects, through the API on
a real Postgres: DiD and ITS recover an injected effect, launches without one are not
significant, and a shock that hits every region alike leaves DiD near zero."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pp_insights_testing.harness import fold_events, query_app
from pp_insights_testing.launches import Cell, unclear_share_events
from pp_shared.db import Pool

FIRST_DAY = datetime(2026, 9, 1, tzinfo=UTC)
LAUNCH = "2026-09-29T00:00:00Z"  # day 28: 28 days before, 28 after
NOW = datetime(2026, 10, 30, 12, tzinfo=UTC)
CONTROLS = ("FR", "IT", "ES")


@pytest.fixture
async def api(pool: Pool, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = query_app(pool, database_url)
    app.state.alerts_clock = lambda: NOW
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client
    if app.state.runtime.records is not None:
        await app.state.runtime.records.close()


def _cells(
    clause: str, *, de: tuple[float, float], others: tuple[float, float]
) -> dict[tuple[str, str], Cell]:
    cells = {(clause, "DE"): Cell(60, *de)}
    cells.update({(clause, r): Cell(60, *others) for r in CONTROLS})
    return cells


async def _launch(api: httpx.AsyncClient, clause: str) -> int:
    r = await api.post(
        "/v1/launches",
        json={
            "title": f"New guidance for {clause} in DE",
            "launched_at": LAUNCH,
            "scope": {"clause_ids": [clause], "regions": ["DE"]},
        },
    )
    assert r.status_code == 201, r.text
    launch_id: int = r.json()["id"]
    return launch_id


async def _impact(api: httpx.AsyncClient, launch_id: int, **params: Any) -> dict[str, Any]:
    r = await api.get(
        f"/v1/launches/{launch_id}/impact", params={"metric": "policy_unclear_share", **params}
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def _halved_in_de(
    api: httpx.AsyncClient, pool: Pool, *, seed: int, others: tuple[float, float]
) -> tuple[list[dict[str, Any]], int]:
    """DE's policy-unclear share of HATE.SLURS halved at the launch (0.30 -> 0.15), the
    control regions' going from ``others[0]`` to ``others[1]``; the events and the launch."""
    events = unclear_share_events(
        seed=seed, first_day=FIRST_DAY, days=56, launch_day=28,
        cells=_cells("HATE.SLURS", de=(0.30, 0.15), others=others),
    )  # fmt: skip
    await fold_events(pool, events)
    return events, await _launch(api, "HATE.SLURS")


def _counts(events: list[dict[str, Any]], region: str, *, after: bool) -> tuple[int, int]:
    chosen = [
        e for e in events if e["region"] == region and (e["occurred_at"] >= "2026-09-29") == after
    ]
    return sum(e["escalation_reason"] == "policy_unclear" for e in chosen), len(chosen)


class TestInjectedEffect:
    async def test_did_and_its_recover_a_halved_share(
        self, api: httpx.AsyncClient, pool: Pool
    ) -> None:
        events, launch_id = await _halved_in_de(api, pool, seed=7, others=(0.30, 0.30))
        answer = await _impact(api, launch_id)

        treated = answer["before_after"]["treated"]
        x0, n0 = _counts(events, "DE", after=False)
        x1, n1 = _counts(events, "DE", after=True)
        assert (treated["before"]["numerator"], treated["before"]["denominator"]) == (x0, n0)
        assert (treated["after"]["numerator"], treated["after"]["denominator"]) == (x1, n1)
        assert n0 == n1 == 28 * 60
        assert treated["change"] == pytest.approx(x1 / n1 - x0 / n0)
        assert answer["control"] == {
            "named": False,
            "filters": {"clause_id": ["HATE.SLURS"]},
            "excluded": {"region": ["DE"]},
        }
        control = answer["before_after"]["control"]
        assert control["before"]["denominator"] == control["after"]["denominator"] == 3 * 28 * 60
        for estimate in (answer["did"], answer["its"]):
            assert estimate["ci_low"] <= -0.15 <= estimate["ci_high"], estimate
            assert estimate["significant"] is True
            assert estimate["p_value"] < 0.05
        assert answer["did"]["buckets"] == 56
        assert (answer["before"]["buckets"], answer["after"]["buckets"]) == (28, 28)
        assert answer["verdict"].startswith("The policy-unclear share fell ")
        assert "in the launch's scope against a change of" in answer["verdict"]
        assert answer["warnings"] == []

    async def test_every_number_as_csv(self, api: httpx.AsyncClient, pool: Pool) -> None:
        _, launch_id = await _halved_in_de(api, pool, seed=8, others=(0.30, 0.30))
        answer = await _impact(api, launch_id)
        r = await api.get(
            f"/v1/launches/{launch_id}/impact",
            params={"metric": "policy_unclear_share"},
            headers={"Accept": "text/csv"},
        )
        assert r.headers["content-type"].startswith("text/csv")
        lines = r.text.splitlines()
        assert lines[0] == (
            "section,group,period,statistic,value,ci_low,ci_high,p_value,numerator,"
            "denominator,sample,from,to"
        )
        did = next(line for line in lines if line.startswith("did,"))
        assert did.split(",")[4:8] == [
            str(answer["did"][k]) for k in ("effect", "ci_low", "ci_high", "p_value")
        ]
        assert "call,did,,significant,true,,,,,,,," in lines
        # Two groups x two periods and changes, three estimates, 2 x 56 buckets, the call and
        # the verdict.
        assert len(lines) == 1 + 6 + 3 + 112 + 1 + 1


class TestNoEffect:
    """Twenty launches without any effect, one per seed (seeds 0 to 19)."""

    async def test_not_significant_in_at_least_19_of_20_seeds(
        self, api: httpx.AsyncClient, pool: Pool
    ) -> None:
        clauses = [f"HATE.SEED{seed:02d}" for seed in range(20)]
        events: list[dict[str, Any]] = []
        for seed, clause in enumerate(clauses):
            cells = {(clause, r): Cell(20, 0.3, 0.3) for r in ("DE", "FR", "IT")}
            events += unclear_share_events(
                seed=seed, first_day=FIRST_DAY, days=56, launch_day=28, cells=cells
            )
        for i in range(0, len(events), 4000):
            await fold_events(pool, events[i : i + 4000])
        significant = {"call": 0, "did": 0, "its": 0}
        for clause in clauses:
            answer = await _impact(api, await _launch(api, clause))
            # Launches of other clauses do not overlap; a control can move by chance.
            assert [w for w in answer["warnings"] if not w.startswith("the control moved")] == []
            for name in ("did", "its"):
                assert answer[name]["p_value"] is not None
                significant[name] += answer[name]["significant"]
            # A control exists: the launch's call is the difference-in-differences'.
            did_significant = answer["did"]["significant"]
            assert answer["call"] == {"estimate": "did", "significant": did_significant}
            significant["call"] += answer["call"]["significant"]
            assert answer["verdict"].startswith(
                "No change distinguishable" if not answer["call"]["significant"] else "The "
            )
        # The launch's call: not significant in at least 19 of 20 seeds (here: 20 of 20).
        assert significant["call"] == significant["did"] == 0, significant
        # The time series alone is a test of size 5% (47 of 1000 in TestFalsePositiveRate):
        # 2 or more of 20 happen by chance in one run of 20 out of four
        # (P(X >= 2) = 0.26, X ~ Bin(20, 0.05)); the verdict names the disagreement.
        assert significant["its"] == 2, significant


class TestCommonShock:
    async def test_did_near_zero_while_before_after_shows_the_change(
        self, api: httpx.AsyncClient, pool: Pool
    ) -> None:
        _, launch_id = await _halved_in_de(api, pool, seed=3, others=(0.30, 0.15))
        answer = await _impact(api, launch_id)
        treated = answer["before_after"]["treated"]
        assert treated["change"] == pytest.approx(-0.15, abs=0.03)
        assert treated["p_value"] < 0.001
        did = answer["did"]
        assert abs(did["effect"]) < 0.03
        assert did["ci_low"] <= 0.0 <= did["ci_high"]
        assert did["significant"] is False
        assert answer["verdict"].startswith("No change distinguishable from noise: n=1680")
        control_change = answer["before_after"]["control"]["change"]
        assert answer["warnings"] == [
            f"the control moved too ({control_change * 100:+.1f} against"
            f" {treated['change'] * 100:+.1f} in the scope): much of the scope's change is not"
            " specific to the launch"
        ]
