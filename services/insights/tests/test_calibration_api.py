"""Calibration through the API, on designs small enough to compute by hand: results,
tables as CSV, privacy of single moderators, comparison of two exercises."""

from __future__ import annotations

import csv
import io

import httpx
import krippendorff
import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from .calibration_support import BASE, JSON, exercise, golden_set, grid, respond

CASES = [
    ("c1", "first case", "HATE.SLURS"),
    ("c2", "second case", "HATE.DEHUMANISATION"),
    ("c3", "third case", "HATE.SLURS"),
    ("c4", "fourth case", "none"),
]
CLAUSES = ["HATE.SLURS", "HATE.DEHUMANISATION"]
X, Y = "HATE.SLURS", "HATE.DEHUMANISATION"
CASE_IDS = ["c1", "c2", "c3", "c4"]
# m1 answers every case with one clause; m2 and m3 answer as expected.
ANSWERS = grid(["m1", "m2", "m3"], CASE_IDS, [X, X, X, X, X, Y, X, "none", X, Y, X, "none"])


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out, z for 95%."""
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


class TestResults:
    async def test_a_rater_with_one_answer_for_everything(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "hate-basics", CASES, clauses=CLAUSES)
        ex = await exercise(client, golden)
        answer = await respond(client, ex, ANSWERS)
        assert answer["counts"] == {
            "received": 12, "accepted": 12, "replaced": 0, "superseded": 0, "rejected": 0
        }  # fmt: skip

        results = (await client.get(f"{BASE}/exercises/{ex}/results")).json()
        # Counts per case (X, Y, none): [3,0,0] [1,2,0] [3,0,0] [1,0,2]; n = 12,
        # n_X = 8, n_Y = n_none = 2; disagreeing pairs 2 + 2: alpha = 1 - 11 * 4 / (144 - 72).
        assert results["krippendorff_alpha"] == pytest.approx(7 / 18, abs=1e-12)
        # Mean P = (1 + 1/3 + 1 + 1/3) / 4 = 2/3, P_e = (64 + 4 + 4) / 144 = 1/2.
        assert results["fleiss_kappa"] == pytest.approx(1 / 3, abs=1e-12)
        assert results["balanced"] is True
        assert results["percent_agreement"] == pytest.approx(2 / 3, abs=1e-12)
        assert (results["responses"], results["moderators"], results["cases"]) == (12, 3, 4)
        assert results["accuracy"]["correct"] == 10
        assert results["accuracy"]["judged"] == 12
        low, high = results["alpha_interval"]["low"], results["alpha_interval"]["high"]
        assert -1 <= low <= 7 / 18 <= high <= 1

        by = {(r["by"], r["clause_id"]): r for r in results["clauses"]}
        assert by[("expected", X)]["krippendorff_alpha"] is None  # all six answers agree
        assert by[("expected", X)]["accuracy"] == 1.0
        assert by[("expected", Y)]["krippendorff_alpha"] == pytest.approx(0.0, abs=1e-12)
        assert (by[("expected", Y)]["correct"], by[("expected", Y)]["judged"]) == (2, 3)
        # X or not: [3,0] [1,2] [3,0] [1,2]; n_X = 8, n_not = 4: 1 - 11 * 4 / (144 - 80).
        assert by[("chosen", X)]["krippendorff_alpha"] == pytest.approx(20 / 64, abs=1e-12)
        assert (by[("chosen", X)]["correct"], by[("chosen", X)]["judged"]) == (6, 8)

        disputed = results["disputed_cases"]
        assert [d["case_id"] for d in disputed] == ["c2", "c4"]
        assert disputed[0]["distribution"] == {Y: 2, X: 1}
        assert disputed[0]["disagreement"] == pytest.approx(2 / 3, abs=1e-12)
        assert disputed[0]["majority_clause_id"] == Y
        # No single moderator is named on this path.
        assert "m1" not in str(results)

        moderators = (await client.get(f"{BASE}/exercises/{ex}/results/moderators")).json()
        m1 = next(m for m in moderators if m["moderator_id"] == "m1")
        assert (m1["correct"], m1["judged"], m1["accuracy"]) == (2, 4, 0.5)
        assert (m1["accuracy_low"], m1["accuracy_high"]) == pytest.approx(wilson(2, 4), abs=1e-9)
        assert m1["most_confused"] == f"{Y} > {X}"
        confusion = (await client.get(f"{BASE}/exercises/{ex}/results/moderators/confusion")).json()
        assert {(r["expected_clause_id"], r["chosen_clause_id"], r["count"])
                for r in confusion if r["scope"] == "moderator=m1"} == {
            (X, X, 2), (Y, X, 1), ("none", X, 1)
        }  # fmt: skip

    async def test_missing_answers(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "missing", CASES)
        ex = await exercise(client, golden)
        # c1: X X -; c2: X Y Y; c3: - Y - (alone: not pairable); c4: X X X.
        await respond(
            client, ex, grid(["a", "b", "c"], CASE_IDS, [X, X, "", X, X, Y, Y, X, "", Y, "", X])
        )
        results = (await client.get(f"{BASE}/exercises/{ex}/results")).json()
        # Pairable counts [2,0] [1,2] [3,0]: n = 8, n_X = 6, n_Y = 2, disagreeing pairs 2.
        assert results["krippendorff_alpha"] == pytest.approx(1 - 7 * 2 / (64 - 40), abs=1e-12)
        # Raters x cases, X coded 1 and Y 2, no answer NaN.
        coded = np.array([[1, 1, np.nan, 1], [1, 2, 2, 1], [np.nan, 2, np.nan, 1]])
        assert results["krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=coded, level_of_measurement="nominal"), abs=1e-12
        )
        assert results["fleiss_kappa"] is None
        assert results["balanced"] is False
        assert results["percent_agreement"] == pytest.approx(10 / 14, abs=1e-12)

    async def test_tables_as_csv(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "csv", CASES)
        ex = await exercise(client, golden)
        await respond(client, ex, ANSWERS)
        for table in (
            "clauses",
            "cohorts",
            "disputed",
            "confusion",
            "moderators",
            "moderators/confusion",
        ):
            r = await client.get(
                f"{BASE}/exercises/{ex}/results/{table}", headers={"accept": "text/csv"}
            )
            assert r.status_code == 200, table
            assert r.headers["content-type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(r.text)))
            assert rows or table == "cohorts", table
        r = await client.get(
            f"{BASE}/exercises/{ex}/results/disputed", headers={"accept": "text/csv"}
        )
        first = next(csv.DictReader(io.StringIO(r.text)))
        assert (first["case_id"], first["distribution"]) == ("c2", f"{Y}:2 {X}:1")
        cases = await client.get(f"{BASE}/golden-sets/{golden}", headers={"accept": "text/csv"})
        assert [r["case_id"] for r in csv.DictReader(io.StringIO(cases.text))] == CASE_IDS


class TestCohorts:
    async def test_only_cohorts_of_five_or_more_are_shown(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "cohorts", CASES)
        named = [{"moderator_id": f"de{i}", "region": "DE"} for i in range(5)]
        named += [{"moderator_id": f"fr{i}", "region": "FR"} for i in range(4)]
        ex = await exercise(client, golden, moderators=named)
        right = [c[2] for c in CASES]
        answers = [(m["moderator_id"], c, right[j]) for m in named for j, c in enumerate(CASE_IDS)]
        # One German moderator answers c4 wrongly.
        answers[3] = ("de0", "c4", X)
        await respond(client, ex, answers)
        results = (await client.get(f"{BASE}/exercises/{ex}/results")).json()
        assert [(c["attribute"], c["value"], c["moderators"]) for c in results["cohorts"]] == [
            ("region", "DE", 5)
        ]
        de = results["cohorts"][0]
        assert (de["correct"], de["judged"]) == (19, 20)
        assert (de["accuracy_low"], de["accuracy_high"]) == pytest.approx(
            proportion_confint(19, 20, method="wilson"), abs=1e-12
        )
        assert results["cohorts_withheld"] == 1
        assert {r["scope"] for r in results["confusion"]} == {"all", "region=DE"}


class TestComparison:
    async def test_before_and_after_a_walkthrough(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "walkthrough", CASES)
        before = await exercise(client, golden, "before")
        await respond(client, before, ANSWERS)
        close = await client.post(f"{BASE}/exercises/{before}/close", headers=JSON)
        assert close.json()["state"] == "closed"
        after = await exercise(client, golden, "after")
        right = [c[2] for c in CASES]
        await respond(
            client,
            after,
            [(m, c, right[j]) for m in ("m1", "m2", "m3") for j, c in enumerate(CASE_IDS)],
        )
        answer = await client.get(
            f"{BASE}/exercises/{after}/comparison", params={"baseline": before}
        )
        assert answer.status_code == 200, answer.text
        overall = answer.json()["rows"][0]
        assert overall["scope"] == "overall"
        assert overall["alpha_before"] == pytest.approx(7 / 18, abs=1e-12)
        assert overall["alpha_after"] == pytest.approx(1.0, abs=1e-12)
        assert overall["alpha_change"] == pytest.approx(11 / 18, abs=1e-12)
        assert (overall["accuracy_before"], overall["accuracy_after"]) == (10 / 12, 1.0)
        assert overall["accuracy_change"] == pytest.approx(2 / 12, abs=1e-12)
        assert overall["accuracy_change_low"] < 2 / 12 < overall["accuracy_change_high"]
        csv_answer = await client.get(
            f"{BASE}/exercises/{after}/comparison", params={"baseline": before},
            headers={"accept": "text/csv"},
        )  # fmt: skip
        assert next(r["scope"] for r in csv.DictReader(io.StringIO(csv_answer.text))) == "overall"
