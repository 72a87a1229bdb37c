from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score  # type: ignore[import-untyped]

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.text import normalise
from pp_classifier.taxonomy.document import load_taxonomy
from pp_classifier.training import candidates
from pp_classifier.training.candidates import (
    Candidate,
    DecisionLabel,
    candidate_version,
    judge,
    train_candidate,
    training_set,
)
from pp_classifier.training.evaluation import compare_macro_f1, level_report, macro_f1_codes
from pp_classifier.training.features import FeatureSpec
from pp_classifier.training.model import ClauseModel, TrainingParams, held_out
from pp_classifier.training.seed_data import functional_examples, seed_training_data

SEED = load_taxonomy()
IN_TRAINING = "my cousin says the factory keeps everyone's papers until the debt is paid"
HELD_OUT = "the shipment of workers arrives at the dock on friday, passports kept by the boss"


class TestHeldOut:
    def test_the_split_is_a_stable_function_of_the_normalised_text(self) -> None:
        assert (held_out(normalise(IN_TRAINING), 20), held_out(normalise(HELD_OUT), 20)) == (
            False,
            True,
        )
        assert held_out(normalise(HELD_OUT.upper() + "!!"), 20)

    def test_about_the_configured_share_is_held_out(self) -> None:
        # Distinct texts of no corpus: the packaged corpora hold only training-share texts.
        texts = {normalise(f"escalation {i} of the queue") for i in range(5000)}
        share = sum(held_out(t, 20) for t in texts) / len(texts)
        # 20 % of 5,000, within 3.5 binomial standard deviations (0.0057 each).
        assert 0.18 < share < 0.22


class TestTrainingSet:
    def test_decisions_override_seed_labels_and_count_their_weight(self) -> None:
        seed = seed_training_data(SEED)
        seed_text = next(
            e.text for e in seed if e.label != "none" and not held_out(normalise(e.text), 20)
        )
        decisions = [
            DecisionLabel(IN_TRAINING, "INA.SCAMS"),
            DecisionLabel(IN_TRAINING.upper(), "HEX.FORCED_LABOUR"),  # same text, later
            DecisionLabel(HELD_OUT, "HEX.TRAFFICKING"),
            DecisionLabel(seed_text, "none"),
            DecisionLabel("a clause from nowhere", "HATE.NOT_A_CLAUSE"),
        ]
        data = training_set(SEED, decisions, holdout_percent=20, decision_weight=3)
        assert (data.decisions, data.unknown_clauses) == (3, 1)
        train = Counter(zip(data.train_texts, data.train_labels, strict=True))
        assert train[(IN_TRAINING.upper(), "HEX.FORCED_LABOUR")] == 3
        assert train[(seed_text, "none")] == 3
        assert not any(text == IN_TRAINING for text, _ in train)
        assert (
            list(zip(data.test_texts, data.test_labels, strict=True)).count(
                (HELD_OUT, "HEX.TRAFFICKING")
            )
            == 1
        )
        assert not set(map(normalise, data.train_texts)) & set(map(normalise, data.test_texts))


PARAMS = TrainingParams(features=FeatureSpec(hash_bits=18), calibration_folds=0)


@pytest.fixture(scope="module")
def seed() -> Candidate:
    return train_candidate(SEED, [], params=PARAMS, holdout_percent=20, decision_weight=3)


class TestCandidateVersion:
    def test_the_version_is_known_before_training(self, seed: Candidate) -> None:
        data = training_set(SEED, [], holdout_percent=20, decision_weight=3)
        assert candidate_version(SEED, data, PARAMS) == seed.model.version
        labelled = [DecisionLabel(IN_TRAINING, "HEX.TRAFFICKING")]
        # A label makes another candidate, and names it a retrained model.
        other = candidate_version(
            SEED, training_set(SEED, labelled, holdout_percent=20, decision_weight=3), PARAMS
        )
        assert other != seed.model.version
        assert other.startswith("retrained-")


class TestJudge:
    def test_promotes_without_an_active_model_and_when_not_worse(self, seed: Candidate) -> None:
        assert judge(seed, None, taxonomy_version=SEED.version).reason == "no active model"
        same = judge(seed, seed.model, taxonomy_version=SEED.version)
        assert same.promote
        assert same.active_macro_f1 == pytest.approx(seed.evaluation.clauses.macro_f1)

    def test_rejects_a_worse_candidate(self, seed: Candidate) -> None:
        # Every seed text in the training share relabelled 'none' except one: a bad model.
        data = training_set(SEED, [], holdout_percent=20, decision_weight=1)
        poison = [
            DecisionLabel(t, "none" if i else "HATE.SLURS") for i, t in enumerate(data.train_texts)
        ]
        bad = train_candidate(SEED, poison, params=PARAMS, holdout_percent=20, decision_weight=1)
        verdict = judge(bad, seed.model, taxonomy_version=SEED.version)
        assert not verdict.promote
        assert verdict.reason.startswith("macro-F1 ")
        assert " < active " in verdict.reason
        assert "randomisation test p=" in verdict.reason
        assert "within chance" not in verdict.reason


GOLD = ("none", "none", "A", "A", "B", "B", "C", "none")


class TestCompareMacroF1:
    @pytest.mark.parametrize(
        "predicted",
        [
            ["none", "A", "A", "B", "B", "B", "none", "none"],
            ["C", "C", "C", "C", "C", "C", "C", "C"],
            ["none", "none", "A", "A", "B", "B", "C", "none"],
            ["D", "none", "A", "none", "none", "B", "C", "A"],
        ],
    )
    def test_macro_f1_equals_sklearn_and_the_level_report(self, predicted: list[str]) -> None:
        names = sorted(set(GOLD) | set(predicted) | {"D"})
        code = {n: i for i, n in enumerate(names)}
        gold = np.array([code[x] for x in GOLD])
        mine = macro_f1_codes(gold, np.array([code[x] for x in predicted]), len(names))
        present = sorted(set(GOLD) | set(predicted))
        expected = f1_score(GOLD, predicted, labels=present, average="macro", zero_division=0)
        assert float(mine) == pytest.approx(expected, abs=1e-12)
        assert float(mine) == pytest.approx(level_report(GOLD, predicted).macro_f1, abs=1e-12)

    def test_a_lead_of_one_text_is_chance(self) -> None:
        # Eight texts, 2**8 swaps: scipy enumerates them all. Only the one text the answers
        # differ on changes the lead, whose sign is then + or - in exactly half of them.
        better = list(GOLD)
        worse = [*GOLD[:6], "none", GOLD[7]]
        compared = compare_macro_f1(GOLD, better, worse)
        assert compared.first == 1.0
        assert compared.second == pytest.approx(level_report(GOLD, worse).macro_f1)
        assert compared.p_value == 0.5

    def test_the_same_answers_are_no_lead(self) -> None:
        assert compare_macro_f1(GOLD, GOLD, GOLD).p_value == 1.0

    def test_a_consistent_lead_is_significant(self) -> None:
        gold = list(GOLD) * 10
        worse = ["none"] * len(gold)
        assert compare_macro_f1(gold, gold, worse).p_value < 0.01


class TestTemplateSplit:
    def test_a_template_group_is_held_out_whole(self) -> None:
        # At 30 % some packaged template groups fall in the evaluation share: every case of
        # those groups is held out, and no text of theirs is trained on.
        data = training_set(SEED, [], holdout_percent=30, decision_weight=1)
        held_groups = {
            e.group for e in functional_examples() if e.group is not None and held_out(e.group, 30)
        }
        held_texts = {normalise(e.text) for e in functional_examples() if e.group in held_groups}
        assert held_groups
        assert held_texts <= {normalise(t) for t in data.test_texts}
        assert not held_texts & {normalise(t) for t in data.train_texts}


@pytest.fixture
def untrainable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed candidates of the test's parameters, no in-process seed cache, and any training
    an error ("trained")."""
    monkeypatch.setattr(candidates, "training_params", lambda settings: PARAMS)
    monkeypatch.setattr(candidates, "_SEED_CACHE", {})

    def no_training(*args: object, **kwargs: object) -> ClauseModel:
        raise AssertionError("trained")

    monkeypatch.setattr(candidates, "train_model", no_training)


class TestSeedModelCache:
    @pytest.mark.usefixtures("untrainable")
    def test_a_cached_seed_model_is_loaded_instead_of_trained(
        self, seed: Candidate, tmp_path: Path
    ) -> None:
        candidates._store_seed(tmp_path, seed.model)
        assert [p.name for p in tmp_path.iterdir()] == [f"{seed.model.version}.npz"]
        settings = ClassifierSettings.model_construct()
        loaded = candidates.seed_candidate(SEED, settings, cache=tmp_path)
        assert loaded.model.version == seed.model.version
        assert loaded.evaluation.clauses.macro_f1 == seed.evaluation.clauses.macro_f1

    @pytest.mark.usefixtures("untrainable")
    def test_an_unreadable_cached_model_is_trained_again(
        self, seed: Candidate, tmp_path: Path
    ) -> None:
        (tmp_path / f"{seed.model.version}.npz").write_bytes(b"not a model")
        with pytest.raises(AssertionError, match="trained"):
            candidates.seed_candidate(SEED, ClassifierSettings.model_construct(), cache=tmp_path)

    def test_an_empty_setting_means_no_cache(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PP_SEED_MODEL_CACHE", "")
        assert ClassifierSettings().seed_model_cache is None
