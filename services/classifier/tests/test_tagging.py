from __future__ import annotations

import orjson
import pytest
from prometheus_client import REGISTRY

from pp_classifier.tagging import service as tagging
from pp_classifier.tagging.layers import Layers, build_layers
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy.document import load_taxonomy
from pp_classifier.training.features import FeatureSpec
from pp_classifier.training.fit import train_model
from pp_classifier.training.model import ClauseModel, TrainingParams
from pp_shared.contracts.events import EscalationCreated, Tag, TagMethod, parse_event
from pp_shared.testing.samples import escalation

SEED = load_taxonomy()
SPAM = "INA.SPAM"


def esc(**over: object) -> EscalationCreated:
    event = parse_event(orjson.dumps(escalation(**over)))
    assert isinstance(event, EscalationCreated)
    return event


@pytest.fixture(scope="module")
def model() -> ClauseModel:
    texts = ["buy followers cheap now", "cheap likes buy now", "buy cheap followers today"]
    texts += ["nice weather today", "lovely dinner tonight", "see you tomorrow friend"]
    return train_model(
        texts,
        [SPAM] * 3 + ["none"] * 3,
        taxonomy_version=SEED.version,
        name="t",
        params=TrainingParams(features=FeatureSpec(hash_bits=16, min_df=1), calibration_folds=0),
    )


@pytest.fixture(scope="module")
def layers(model: ClauseModel) -> Layers:
    return build_layers(SEED, RuleTagger.from_taxonomy(SEED), model)


def summary(tags: tuple[Tag, ...]) -> list[tuple[str, str, str, str, str]]:
    return [
        (t.clause_id, t.area, t.method.value, t.taxonomy_version, t.model_version) for t in tags
    ]


class TestTagEscalations:
    def test_each_layer_in_turn(self, layers: Layers, model: ClauseModel) -> None:
        declared, rule, learnt, nothing, empty, blank = tagging.tag_escalations(
            [
                esc(text_excerpt="I will kill you"),
                esc(suggested_clause_id=None, text_excerpt="I will kill you"),
                esc(suggested_clause_id=None, text_excerpt="buy cheap followers"),
                esc(suggested_clause_id=None, text_excerpt="see you at dinner"),
                esc(suggested_clause_id=None, text_excerpt=None),
                esc(suggested_clause_id=None, text_excerpt=" \n "),
            ],
            layers=layers,
        )
        v, m = SEED.version, model.version
        assert summary(declared) == [
            ("HATE.PROTECTED_ATTR.RELIGION", "HATE", "declared", v, "none")
        ]
        assert declared[0].confidence == 1.0
        assert summary(rule) == [("VBDA.THREATS", "VBDA", "rule", v, m)]
        assert rule[0].confidence == 0.9
        assert summary(learnt) == [(SPAM, "INA", "model", v, m)]
        assert 0.5 <= learnt[0].confidence <= 1.0
        unclassified = [("unclassified", "unclassified", "none", v, m)]
        assert (summary(nothing), summary(empty), summary(blank)) == (unclassified,) * 3
        assert nothing[0].confidence == 0.0

    @pytest.mark.parametrize(
        "text",
        [
            "\U0001f600" * 100,
            "\u0000\u0001\u0002",
            "x" * 10_000,
            "\u202e\u0645\u0631\u062d\u0628\u0627 abc",
        ],
    )
    def test_odd_text_is_tagged_not_raised(self, layers: Layers, text: str) -> None:
        (tags,) = tagging.tag_escalations(
            [esc(suggested_clause_id=None, text_excerpt=text)], layers=layers
        )
        assert len(tags) == 1

    def test_a_language_without_lexicon_is_counted(self, layers: Layers) -> None:
        def count() -> float:
            value = REGISTRY.get_sample_value("pp_classifier_language_fallback_total")
            return value or 0.0

        before = count()
        (tags,) = tagging.tag_escalations(
            [esc(suggested_clause_id=None, language="ja", text_excerpt="buy cheap followers")],
            layers=layers,
        )
        tagging.tag_escalations(
            [esc(suggested_clause_id=None, language="pt-BR", text_excerpt="algo")], layers=layers
        )
        assert count() == before + 1
        assert [(t.clause_id, t.method) for t in tags] == [(SPAM, TagMethod.MODEL_FALLBACK)]
        assert tagging.language_covered("pt-BR", layers)
        assert not tagging.language_covered("ja", layers)

    def test_a_model_of_an_older_taxonomy_names_only_current_clauses(
        self, model: ClauseModel
    ) -> None:
        data = SEED.model_dump(mode="json")
        data["version"] = "2026.11.1"
        ina = next(a for a in data["areas"] if a["id"] == "INA")
        ina["clauses"] = [c for c in ina["clauses"] if c["id"] != SPAM]
        newer = type(SEED).model_validate(data)
        layers = build_layers(newer, RuleTagger.from_taxonomy(newer), model)
        (tags,) = tagging.tag_escalations(
            [esc(suggested_clause_id=None, text_excerpt="buy cheap followers")], layers=layers
        )
        assert summary(tags) == [
            ("unclassified", "unclassified", "none", "2026.11.1", model.version)
        ]
