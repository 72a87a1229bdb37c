"""Calibration on real multi-rater data: Multilingual HateCheck (Röttger et al. 2022, CC BY
4.0, ../shared/data/mhc), each language's cases as an exercise with its three annotators as
moderators and the gold labels as expected answers. Alpha, Fleiss' kappa and each
annotator's accuracy must equal what the libraries give on the raw label lists.

The texts are offensive: they go to the test's database and nowhere else (no log, no
assertion message)."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import httpx
import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from .calibration_support import BASE, CSV, csv_text, exercise

MHC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mhc"
FILES = {"es": "spanish", "fr": "french", "de": "german", "pt": "portuguese", "it": "italian"}
ANSWER = {"hateful": "HATE", "non-hateful": "none"}


def cases_of(language: str) -> list[tuple[str, str, str, list[str]]]:
    """(case id, text, gold answer, the three annotators' answers) of every case."""
    path = MHC / f"hatecheck_cases_final_{FILES[language]}.csv"
    if not path.exists():
        pytest.skip(f"Multilingual HateCheck has no {FILES[language]} cases")
    with path.open(encoding="utf-8", newline="") as f:
        return [
            (row["mhc_case_id"], row["test_case"], ANSWER[row["label_gold"]],
             [ANSWER[a] for a in ast.literal_eval(row["label_annotated"])])
            for row in csv.DictReader(f)
        ]  # fmt: skip


@pytest.mark.parametrize("language", ["es", "fr", "de", "pt", "it"])
async def test_agreement_equals_the_libraries(client: httpx.AsyncClient, language: str) -> None:
    cases = cases_of(language)
    golden = await client.post(
        f"{BASE}/golden-sets",
        params={"name": f"mhc-{language}", "taxonomy_version": "mhc", "clauses": "HATE"},
        content=csv_text(("case_id", "text", "expected_clause_id"), [c[:3] for c in cases]),
        headers=CSV,
    )
    assert golden.status_code == 201
    ex = await exercise(client, golden.json()["id"], f"mhc {language}")
    answers = [(f"{language}-a{k + 1}", c[0], c[3][k]) for c in cases for k in range(3)]
    posted = await client.post(
        f"{BASE}/exercises/{ex}/responses",
        content=csv_text(("moderator_id", "case_id", "clause_id"), answers),
        headers=CSV,
    )
    assert posted.json()["counts"]["accepted"] == 3 * len(cases)
    results = (await client.get(f"{BASE}/exercises/{ex}/results")).json()

    # Independently, on the raw lists: raters x cases, 1 hateful, 0 not.
    reliability = np.array([[c[3][k] == "HATE" for c in cases] for k in range(3)], dtype=float)
    alpha = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    table, _ = aggregate_raters(reliability.T.astype(int))
    kappa = fleiss_kappa(table, method="fleiss")
    assert results["krippendorff_alpha"] == pytest.approx(alpha, abs=1e-12)
    assert results["fleiss_kappa"] == pytest.approx(kappa, abs=1e-12)
    assert (results["responses"], results["moderators"]) == (3 * len(cases), 3)
    low, high = results["alpha_interval"]["low"], results["alpha_interval"]["high"]
    assert low < alpha < high

    moderators = (await client.get(f"{BASE}/exercises/{ex}/results/moderators")).json()
    for k, row in enumerate(moderators):
        gold = np.array([c[2] for c in cases])
        theirs = np.array([c[3][k] for c in cases])
        assert row["moderator_id"] == f"{language}-a{k + 1}"
        assert row["accuracy"] == pytest.approx(float((gold == theirs).mean()), abs=1e-12)
