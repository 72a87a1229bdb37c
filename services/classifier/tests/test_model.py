from __future__ import annotations

import numpy as np
import pytest

from pp_classifier.tagging.layers import LayeredTagger
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy.document import load_taxonomy
from pp_classifier.training.evaluation import evaluate, level_report, stratified_split
from pp_classifier.training.features import FeatureSpec
from pp_classifier.training.fit import fit_temperature, train_model
from pp_classifier.training.model import ClauseModel, ModelError, TrainingParams
from pp_shared.contracts.events import TagMethod

SEED = load_taxonomy()
THREAT, SPAM = "VBDA.THREATS", "INA.SPAM"
TEXTS = [
    "i will hurt you tonight",
    "i will hurt you badly",
    "you will get hurt tomorrow",
    "buy followers cheap now",
    "cheap likes buy now",
    "buy cheap followers today",
    "nice weather today",
    "lovely dinner tonight",
    "see you tomorrow friend",
    "the game was great",
]
LABELS = [THREAT] * 3 + [SPAM] * 3 + ["none"] * 4
PARAMS = TrainingParams(features=FeatureSpec(hash_bits=16, min_df=1), calibration_folds=2)


def small_model() -> ClauseModel:
    return train_model(
        TEXTS,
        LABELS,
        taxonomy_version=SEED.version,
        clause_order=SEED.clause_ids(),
        name="t",
        params=PARAMS,
    )


@pytest.fixture(scope="module")
def model() -> ClauseModel:
    return small_model()


class TestTraining:
    def test_labels_follow_the_taxonomy_order_after_none(self, model: ClauseModel) -> None:
        assert model.labels == ("none", THREAT, SPAM)
        assert model.class_counts == {"none": 4, THREAT: 3, SPAM: 3}

    def test_same_inputs_give_the_same_version(self, model: ClauseModel) -> None:
        assert small_model().version == model.version
        assert model.version.startswith("t-")
        other = train_model(
            TEXTS, [*LABELS[:-1], THREAT], taxonomy_version=SEED.version, name="t", params=PARAMS
        )
        assert other.version != model.version

    def test_predicts_the_clause_of_a_similar_text(self, model: ClauseModel) -> None:
        answers = model.predict(["i will hurt you", "buy cheap followers", "nice dinner"])
        assert [(p.clause_id, p.area, p.method) for p in answers] == [
            (THREAT, "VBDA", TagMethod.MODEL),
            (SPAM, "INA", TagMethod.MODEL),
            ("unclassified", "unclassified", TagMethod.NONE),
        ]
        assert answers[2].top_label == "none"

    def test_abstains_below_the_threshold(self, model: ClauseModel) -> None:
        # A text sharing one word with each of two classes: the model leans, not knows.
        (leaning,) = model.predict(["you tonight"])
        assert (leaning.clause_id, model.threshold) == (THREAT, 0.5)
        assert 0.5 < leaning.confidence < 0.6
        (abstained,) = model.with_threshold(0.6).predict(["you tonight"])
        assert (abstained.clause_id, abstained.confidence, abstained.top_label) == (
            "unclassified",
            0.0,
            THREAT,
        )
        with pytest.raises(ModelError, match="threshold"):
            model.with_threshold(1.5)

    @pytest.mark.parametrize("text", ["", "\ud800", "\U0001f600" * 50, "x" * 2_000_000])
    def test_bad_input_is_unclassified(self, model: ClauseModel, text: str) -> None:
        (p,) = model.predict([text])
        assert (p.clause_id, p.method) == ("unclassified", TagMethod.NONE)

    def test_needs_none_and_a_clause(self) -> None:
        with pytest.raises(ModelError, match="'none' examples"):
            train_model(["a b", "c d"], [THREAT, THREAT], taxonomy_version="1")
        with pytest.raises(ModelError, match="2 texts but 1 labels"):
            train_model(["a b", "c d"], [THREAT], taxonomy_version="1")

    def test_knows_its_training_texts(self, model: ClauseModel) -> None:
        seen = model.seen_in_training(["I will HURT you tonight!", "never seen"])
        assert seen.tolist() == [True, False]

    def test_temperature_recovers_a_known_scale(self) -> None:
        rng = np.random.default_rng(0)
        true_logits = rng.normal(size=(4000, 3)).astype(np.float32) * 2
        p = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
        targets = np.array([rng.choice(3, p=row) for row in p], dtype=np.int64)
        # Logits three times too large need a divisor near 3.
        assert fit_temperature(true_logits * 3, targets) == pytest.approx(3.0, rel=0.1)


class TestSerialisation:
    def test_round_trip_gives_identical_probabilities(self, model: ClauseModel) -> None:
        loaded = ClauseModel.from_bytes(model.to_bytes())
        assert loaded.metadata() == model.metadata()
        assert np.array_equal(loaded.probabilities(TEXTS), model.probabilities(TEXTS))
        assert loaded.seen_in_training(TEXTS).all()

    @pytest.mark.parametrize("data", [b"", b"not a model", b"PK\x03\x04garbage"])
    def test_anything_else_is_a_model_error(self, data: bytes) -> None:
        with pytest.raises(ModelError, match="not a serialised clause model"):
            ClauseModel.from_bytes(data)

    def test_an_archive_of_another_format_is_refused(self) -> None:
        import io

        buffer = io.BytesIO()
        np.savez(buffer, meta=np.frombuffer(b'{"format": "x"}', np.uint8))
        with pytest.raises(ModelError, match="not a serialised clause model"):
            ClauseModel.from_bytes(buffer.getvalue())


class TestLayeredTagger:
    def test_rules_first_then_the_model_then_unclassified(self, model: ClauseModel) -> None:
        tagger = LayeredTagger(RuleTagger.from_taxonomy(SEED), model)
        rule_and_model, model_only, nothing = tagger.tag_texts(
            ["I will kill you, buy cheap followers", "buy cheap followers", "nice dinner"]
        )
        assert [(t.clause_id, t.method, t.confidence) for t in rule_and_model] == [
            (THREAT, TagMethod.RULE, 0.9),
            (SPAM, TagMethod.MODEL, rule_and_model[1].confidence),
        ]
        assert [(t.clause_id, t.method) for t in model_only] == [(SPAM, TagMethod.MODEL)]
        assert [(t.clause_id, t.area, t.method, t.confidence) for t in nothing] == [
            ("unclassified", "unclassified", TagMethod.NONE, 0.0)
        ]
        assert {(t.taxonomy_version, t.model_version) for t in model_only + nothing} == {
            (SEED.version, model.version)
        }

    @pytest.mark.parametrize("text", ["...", "\U0001f600 \U0001f600", "", "\ud800"])
    def test_nothing_left_after_normalising_is_unclassified(
        self, model: ClauseModel, text: str
    ) -> None:
        (tag,) = LayeredTagger(RuleTagger.from_taxonomy(SEED), model.with_threshold(0.0)).tag_text(
            text
        )
        assert (tag.clause_id, tag.method, tag.model_version) == (
            "unclassified",
            TagMethod.NONE,
            model.version,
        )

    def test_without_a_model_only_rules_answer(self) -> None:
        tagger = LayeredTagger(RuleTagger.from_taxonomy(SEED))
        (tag,) = tagger.tag_text("buy cheap followers")
        assert (tag.clause_id, tag.model_version) == ("unclassified", "none")


class TestEvaluation:
    def test_level_report_counts_exactly(self) -> None:
        gold = ["none", THREAT, THREAT, "HATE.SLURS", "none"]
        predicted = ["none", THREAT, "none", THREAT, "none"]
        report = level_report(gold, predicted)
        assert report.labels == ("none", "HATE.SLURS", THREAT)
        assert report.confusion == ((2, 0, 0), (0, 0, 1), (1, 0, 1))
        none, slurs, threat = report.per_class
        assert none.precision == pytest.approx(2 / 3)
        assert (none.recall, none.support) == (1.0, 2)
        assert (slurs.precision, slurs.recall, slurs.f1, slurs.support) == (0.0, 0.0, 0.0, 1)
        assert (threat.precision, threat.recall, threat.f1) == (0.5, 0.5, 0.5)
        assert report.macro_f1 == pytest.approx((0.8 + 0.0 + 0.5) / 3)
        assert report.accuracy == pytest.approx(3 / 5)

    def test_evaluate_reports_clauses_and_areas(self, model: ClauseModel) -> None:
        result = evaluate(model, TEXTS, LABELS)
        assert result.texts == 10
        assert result.clauses.labels == ("none", SPAM, THREAT)
        assert result.areas.labels == ("none", "INA", "VBDA")
        assert result.clauses.accuracy == 1.0

    def test_stratified_split_takes_a_share_of_each_label(self) -> None:
        labels = ["a"] * 10 + ["b"] * 20
        train, test = stratified_split(labels, test_fraction=0.2, seed=1)
        assert len(test) == 6
        assert sorted(labels[i] for i in test) == ["a"] * 2 + ["b"] * 4
        assert sorted([*train.tolist(), *test.tolist()]) == list(range(30))
        _, again_test = stratified_split(labels, test_fraction=0.2, seed=1)
        assert again_test.tolist() == test.tolist()
