"""A policy team's jobs end to end, through the gateway with the keys its people get, on one
module_stack (each test keeps to data of its own):

- the calibration cycle: a golden set from CSV, two exercises with answers per row, results
  and the comparison (equal to the libraries on the raw answers); single moderators' answers
  for a calibration lead only; agreement in production from events, and an alert rule on it;
- a taxonomy version published by the classifier becomes a launch in insights (over the
  broker), whose impact waits for a whole day after it; a draft simulated against the
  stored texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa, to_table

from pp_classifier.taxonomy.document import load_taxonomy
from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing.apps import make_api_key
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation, qa_review, term_moved

pytestmark = pytest.mark.e2e
CALIBRATION = "/v1/calibration"
CSV = {"Content-Type": "text/csv"}
S, D, N = "HATE.SLURS", "HATE.DEHUMANISATION", "none"
CLAUSES = [S, D]
LABELS = [S, D, N]
CASES = [f"c{i}" for i in range(6)]
EXPECTED = [S, S, D, D, N, N]
MODERATORS = [f"m{i}" for i in range(5)]
# Each moderator's answer to each case, before and after a walkthrough.
BEFORE = [
    [S, S, D, N, N, N],
    [S, D, D, S, N, N],
    [S, S, N, D, S, N],
    [D, S, D, D, N, N],
    [S, S, D, N, N, S],
]
AFTER = [
    [*EXPECTED],
    [*EXPECTED],
    [S, S, D, D, N, S],
    [*EXPECTED],
    [S, D, D, D, N, N],
]


def answers_csv(grid: list[list[str]]) -> str:
    rows = ["moderator_id,case_id,clause_id"]
    rows += [f"{m},{c},{grid[i][j]}" for i, m in enumerate(MODERATORS) for j, c in enumerate(CASES)]
    return "\r\n".join(rows) + "\r\n"


def library_figures(grid: list[list[str]]) -> tuple[float, float, float]:
    """Alpha (nominal), Fleiss' kappa and the share of answers equal to the expected ones."""
    coded = np.array([[LABELS.index(a) for a in row] for row in grid], dtype=float)
    alpha = krippendorff.alpha(reliability_data=coded, level_of_measurement="nominal")
    counts, _ = aggregate_raters(coded.T.astype(int), n_cat=len(LABELS))
    right = sum(a == e for row in grid for a, e in zip(row, EXPECTED, strict=True))
    return float(alpha), float(fleiss_kappa(counts, method="fleiss")), right / (5 * 6)


async def run_exercise(client: httpx.AsyncClient, golden_set: int, name: str, grid: Any) -> int:
    moderators = [{"moderator_id": m, "region": "DE"} for m in MODERATORS]
    made = await client.post(
        f"{CALIBRATION}/exercises",
        json={"name": name, "golden_set_id": golden_set, "moderators": moderators},
    )
    assert made.status_code == 201, made.text
    exercise: int = made.json()["id"]
    # One row names a case the set does not have: refused alone, the rest kept.
    body = answers_csv(grid) + "m0,c99,HATE.SLURS\r\n"
    sent = await client.post(
        f"{CALIBRATION}/exercises/{exercise}/responses", content=body, headers=CSV
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["counts"]["accepted"] == 30
    assert sent.json()["counts"]["rejected"] == 1
    closed = await client.post(f"{CALIBRATION}/exercises/{exercise}/close", json={})
    assert closed.status_code == 200, closed.text
    return exercise


class TestCalibrationThroughTheGateway:
    async def test_the_whole_cycle(self, module_stack: ServiceGroup) -> None:
        gateway = module_stack.child("api-gateway").url
        lead = make_api_key(module_stack.env, "calibration_lead")
        analyst = make_api_key(module_stack.env, "analyst")
        golden = "case_id,text,expected_clause_id\r\n" + "".join(
            f"{c},calibration case {c},{e}\r\n" for c, e in zip(CASES, EXPECTED, strict=True)
        )
        auth = {"Authorization": f"Bearer {lead}"}
        async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=auth) as client:
            made = await client.post(
                f"{CALIBRATION}/golden-sets",
                params={"name": "hate-q4", "clauses": CLAUSES},
                content=golden,
                headers=CSV,
            )
            assert made.status_code == 201, made.text
            golden_set = made.json()["id"]
            first = await run_exercise(client, golden_set, "before walkthrough", BEFORE)
            second = await run_exercise(client, golden_set, "after walkthrough", AFTER)
            for exercise, grid in ((first, BEFORE), (second, AFTER)):
                results = (await client.get(f"{CALIBRATION}/exercises/{exercise}/results")).json()
                alpha, kappa, accuracy = library_figures(grid)
                assert results["krippendorff_alpha"] == pytest.approx(alpha, abs=1e-9)
                assert results["fleiss_kappa"] == pytest.approx(kappa, abs=1e-9)
                assert (results["responses"], results["moderators"]) == (30, 5)
                assert results["accuracy"]["value"] == pytest.approx(accuracy, abs=1e-12)
                # Five moderators in DE: a cohort large enough to be shown.
                assert [
                    (c["attribute"], c["value"], c["moderators"]) for c in results["cohorts"]
                ] == [("region", "DE", 5)]
            compared = await client.get(
                f"{CALIBRATION}/exercises/{second}/comparison", params={"baseline": first}
            )
            overall = next(r for r in compared.json()["rows"] if r["scope"] == "overall")
            before_alpha, _, before_accuracy = library_figures(BEFORE)
            after_alpha, _, after_accuracy = library_figures(AFTER)
            assert overall["alpha_change"] == pytest.approx(after_alpha - before_alpha, abs=1e-9)
            assert overall["accuracy_change"] == pytest.approx(
                after_accuracy - before_accuracy, abs=1e-12
            )
            mine = await client.get(
                f"{CALIBRATION}/exercises/{first}/results/moderators",
                headers={"Accept": "text/csv"},
            )
            assert mine.status_code == 200
            assert [line.split(",")[0] for line in mine.text.splitlines()[1:]] == MODERATORS

        other = {"Authorization": f"Bearer {analyst}"}
        async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=other) as client:
            results = await client.get(f"{CALIBRATION}/exercises/{first}/results")
            assert results.status_code == 200
            assert "moderator_id" not in results.text
            path = f"{CALIBRATION}/exercises/{first}"
            refused = [
                await client.get(f"{path}/results/moderators"),
                await client.post(f"{path}/responses", content="", headers=CSV),
                await client.post(
                    f"{CALIBRATION}/golden-sets", params={"name": "x"}, content=golden, headers=CSV
                ),
            ]
            assert [r.status_code for r in refused] == [403, 403, 403]

    async def test_agreement_in_production_and_a_rule_on_it(
        self, module_stack: ServiceGroup
    ) -> None:
        gateway = module_stack.child("api-gateway").url
        lead = make_api_key(module_stack.env, "calibration_lead")
        admin = {"Authorization": f"Bearer {module_stack.api_key}"}
        day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=10, minute=0, second=0)
        # (moderator's clause, reviewer's); a reviewer who disagrees names the right clause.
        pairs = [(S, S), (S, D), (D, D), (N, N), (S, S), (N, S), (N, N), (D, D)]
        async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=admin) as client:
            for n, (moderator, reviewer) in enumerate(pairs):
                at = day + timedelta(minutes=n)
                esc = f"esc-{n}"
                events = [
                    escalation(event_id=f"e{n}", escalation_id=esc, occurred_at=iso(at),
                               suggested_clause_id="HATE.SLURS"),
                    decision(event_id=f"d{n}", escalation_id=esc, decision_id=f"dec-{n}",
                             occurred_at=iso(at + timedelta(seconds=10)),
                             action="no_violation" if moderator == "none" else "remove",
                             clause_id=None if moderator == "none" else moderator),
                    qa_review(event_id=f"q{n}", escalation_id=esc, decision_id=f"dec-{n}",
                              occurred_at=iso(at + timedelta(seconds=20)),
                              agrees=moderator == reviewer, correct_clause_id=reviewer),
                ]  # fmt: skip
                for event in events:
                    if event["event_type"] == "qa.reviewed" and event["agrees"]:
                        del event["correct_clause_id"]
                    sent = await client.post("/v1/events", json=event)
                    assert sent.status_code == 202, sent.text

        window = {"from": iso(day - timedelta(days=1)), "to": iso(day + timedelta(days=1))}
        auth = {"Authorization": f"Bearer {lead}"}
        async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=auth) as client:

            async def paired() -> dict[str, Any]:
                r = await client.get(
                    f"{CALIBRATION}/production/agreement", params={**window, "interval": "all"}
                )
                rows: list[dict[str, Any]] = r.json()["rows"]
                return rows[0] if rows else {}

            row = await eventually(paired, lambda r: r.get("pairs") == len(pairs), timeout=60)
            coded = np.array([[LABELS.index(a), LABELS.index(b)] for a, b in pairs])
            table, _ = to_table(coded, bins=np.arange(len(LABELS) + 1))
            expected = float(cohens_kappa(table).kappa)
            assert row["kappa"] == pytest.approx(expected, abs=1e-12)

        rule = {
            "id": "hate-kappa",
            "name": "HATE moderators and QA read the policy apart",
            "metric": "production_kappa",
            "scope": {"area": "HATE"},
            "window": "7d",
            "condition": {"kind": "threshold", "op": "<", "threshold": 0.9},
            "min_sample": 5,
        }
        async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=admin) as client:
            preview = await client.post("/v1/rules/preview", json=rule)
            assert preview.status_code == 200, preview.text
            groups = preview.json()["groups"]
            assert len(groups) == 1
            assert groups[0]["breaching"] is True
            assert groups[0]["evidence"]["value"] == round(expected, 6)
            assert groups[0]["evidence"]["sample"] == len(pairs)


RELIGION, RACE = "HATE.PROTECTED_ATTR.RELIGION", "HATE.PROTECTED_ATTR.RACE"


def draft(version: str) -> dict[str, Any]:
    """The seed taxonomy with the English term "infidels" moved from RELIGION to RACE."""
    seed = load_taxonomy().model_dump(mode="json")
    return term_moved(seed, version=version, term="infidels", language="en",
                      from_clause=RELIGION, to_clause=RACE)  # fmt: skip


class TestLaunchesThroughTheGateway:
    async def test_a_published_version_is_a_launch_and_a_draft_is_simulated(
        self, module_stack: ServiceGroup
    ) -> None:
        gateway = module_stack.child("api-gateway").url
        admin = {"Authorization": f"Bearer {module_stack.api_key}"}
        async with httpx.AsyncClient(base_url=gateway, timeout=60, headers=admin) as client:
            texts = ["the infidels were here", "heathens everywhere", "nice weather today"]
            for n, text in enumerate(texts):
                event = escalation(
                    event_id=f"sim-e{n}", escalation_id=f"sim-{n}", text_excerpt=text,
                    language="en", suggested_clause_id=None,
                    occurred_at=iso(datetime.now(UTC) - timedelta(days=1, minutes=n)),
                )  # fmt: skip
                assert (await client.post("/v1/events", json=event)).status_code == 202

            async def examined() -> int:
                r = await client.post("/v1/taxonomy/simulate", json=draft("2026.12.9"))
                assert r.status_code == 200, r.text
                count: int = r.json()["examined"]
                return count

            # Once the classifier has stored the three texts, the draft re-tags them: only the
            # one with the moved term changes clause.
            await eventually(examined, lambda n: n == 3, timeout=60)
            simulated = await client.post("/v1/taxonomy/simulate", json=draft("2026.12.9"))
            assert simulated.json()["changed"] == 1

            published = await client.post("/v1/taxonomy/versions", json=draft("2026.12.1"))
            assert published.status_code == 201, published.text

            async def launches() -> list[dict[str, Any]]:
                r = await client.get("/v1/launches")
                found: list[dict[str, Any]] = r.json()["launches"]
                return [x for x in found if x["taxonomy_version"] == "2026.12.1"]

            (launch,) = await eventually(launches, lambda found: len(found) == 1, timeout=60)
            assert launch["scope"]["clause_ids"] == [RACE, RELIGION]
            assert launch["recorded_by"] == "tests"  # the admin key's owner published it
            impact = await client.get(
                f"/v1/launches/{launch['id']}/impact", params={"metric": "policy_unclear_share"}
            )
            # A launch of this very day: no whole day after it yet, and the answer says where.
            assert impact.status_code == 422, impact.text
            assert impact.json()["errors"] == [
                {"pointer": "/query/after", "detail": "no whole bucket after the launch"}
            ]


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
