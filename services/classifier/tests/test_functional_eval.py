"""``policypulse classifier eval --functional``: a HateCheck-style report on held-out
templates. The file here has HateCheck's columns and harmless invented cases."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pp_classifier.training.corpora import PACKAGED_HOLDOUT_PERCENT, template_held_out
from pp_shared.devstack.cli import main

HEADER = [
    "",
    "functionality",
    "case_id",
    "test_case",
    "label_gold",
    "target_ident",
    "direction",
    "focus_words",
    "focus_lemma",
    "ref_case_id",
    "ref_templ_id",
    "templ_id",
    "case_templ",
]
# (functionality, text, gold, target, templ_id, ref_templ_id)
CASES = [
    ("derog_dehum_h", "Those people are vermin.", "hateful", "women", "18", ""),
    ("counter_quote_nh", "Calling them vermin is wrong.", "non-hateful", "women", "500", "18"),
    ("ident_neutral_nh", "We met some people today.", "non-hateful", "Muslims", "19", ""),
    ("derog_neg_emote_h", "I really dislike them.", "hateful", "Muslims", "31", ""),
    ("derog_dehum_h", "Those folks are vermin.", "hateful", "women", "1", ""),
]


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n, (functionality, text, gold, target, templ, ref) in enumerate(CASES, start=1):
            writer.writerow(
                [n - 1, functionality, n, text, gold, target, "", "", "", "", ref, templ, ""]
            )
    return path


def run(suite: Path, *extra: str) -> int:
    return main(["classifier", "eval", "--functional", str(suite), "--layers", "rules", *extra])


class TestFunctionalEval:
    def test_the_split_of_the_cases(self) -> None:
        # Templates 18, 19 and 31 are held out (500 refers to 18); template 1 is trained on.
        held = [template_held_out(t, PACKAGED_HOLDOUT_PERCENT) for t in ("18", "19", "31", "1")]
        assert held == [True, True, True, False]

    def test_reports_held_out_templates_only_with_counts(
        self, suite: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        report = suite.parent / "report.json"
        assert run(suite, "--json", str(report)) == 0
        out = capsys.readouterr().out
        assert "scored: 4 cases of held-out template groups only; left out 1 training case" in out
        assert "counter-speech quoting hate (counter_quote_nh): 0% of 1 correct" in out
        assert "dehumanisation (derog_dehum_h): 100% of 1 correct" in out
        assert "women: 50% of 2 correct" in out
        assert "vermin" not in out.lower()
        result = json.loads(report.read_text())
        assert (result["scored"], result["training_cases"], result["held_out_only"]) == (
            4,
            1,
            True,
        )
        assert result["hate"] == {
            "cases": 4,
            "hateful": 2,
            "precision": 0.5,
            "recall": 0.5,
            "f1": 0.5,
            "accuracy": 0.5,
        }
        assert {f["key"]: (f["correct"], f["cases"]) for f in result["functionalities"]} == {
            "derog_dehum_h": (1, 1),
            "counter_quote_nh": (0, 1),
            "ident_neutral_nh": (1, 1),
            "derog_neg_emote_h": (0, 1),
        }

    def test_include_seen_scores_every_case_and_says_which_were_training_cases(
        self, suite: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run(suite, "--include-seen") == 0
        out = capsys.readouterr().out
        assert "scored: all 5 cases, of which 1 are training cases" in out
        assert "dehumanisation (derog_dehum_h): 100% of 2 correct" in out

    def test_a_file_that_is_no_functional_suite_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "other.csv"
        path.write_text("id,body\n1,hello\n", encoding="utf-8")
        assert run(path) == 2
        assert "neither a HateCheck nor an MHC file" in capsys.readouterr().err
