"""``POST /v1/tag`` and the restricted term list a deployment supplies."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.layers import build_layers
from pp_classifier.tagging.requests import TagRequest, tag_request
from pp_classifier.tagging.restricted import RestrictedTermsError, load_restricted_terms
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy.document import load_taxonomy
from pp_classifier.training.features import FeatureSpec
from pp_classifier.training.fit import train_model
from pp_classifier.training.model import TrainingParams
from pp_shared.testing.apps import running_app

SEED = load_taxonomy()
# An invented word stands in for a real slur: the tests need none.
WORD = "zorblaxian"
TAG = "/v1/tag"


def restricted_file(tmp_path: Path) -> Path:
    path = tmp_path / "restricted.json"
    path.write_text(json.dumps({"[slur:race]": [WORD]}), encoding="utf-8")
    return path


class TestRestrictedTermFile:
    def test_placeholders_map_to_spellings(self, tmp_path: Path) -> None:
        assert load_restricted_terms(restricted_file(tmp_path)) == {"[slur:race]": (WORD,)}
        assert load_restricted_terms(None) == {}

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("[1, 2]", "must be a JSON object"),
            (f'{{"{WORD}": ["x"]}}', "key 1 is not a placeholder"),
            (f'{{"[slur:race]": "{WORD}"}}', r"\[slur:race\] must map to a list"),
            (f'{{"[slur:race]": ["{WORD}"', "is not JSON"),
        ],
    )
    def test_a_bad_file_is_named_without_its_content(
        self, tmp_path: Path, content: str, message: str
    ) -> None:
        path = tmp_path / "restricted.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(RestrictedTermsError, match=message) as caught:
            load_restricted_terms(path)
        assert WORD not in str(caught.value)

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(RestrictedTermsError, match="cannot read the restricted term file"):
            load_restricted_terms(tmp_path / "nope.json")


class TestTagRequest:
    def test_a_model_tag_names_the_model_and_a_rule_tag_its_lexicon_entry(self) -> None:
        model = train_model(
            ["i will hurt you tonight", "you will get hurt", "nice weather", "lovely dinner"],
            ["VBDA.THREATS", "VBDA.THREATS", "none", "none"],
            taxonomy_version=SEED.version,
            clause_order=SEED.clause_ids(),
            name="t",
            params=TrainingParams(features=FeatureSpec(hash_bits=16, min_df=1), threshold=0.0),
        )
        layers = build_layers(SEED, RuleTagger.from_taxonomy(SEED), model)
        answer = tag_request(
            TagRequest(texts=["i will hurt you tonight", "they are vermin"]), layers=layers
        )
        first, second = (r.tags[0] for r in answer.results)
        assert (first.clause_id, first.method, first.model_version, first.lexicon) == (
            "VBDA.THREATS",
            "model",
            model.version,
            None,
        )
        assert (second.clause_id, second.method, second.model_version) == (
            "HATE.DEHUMANISATION",
            "rule",
            None,
        )
        assert second.lexicon is not None
        assert (second.lexicon.term, second.lexicon.language, second.confidence) == (
            "vermin",
            "en",
            0.6,
        )
        in_korean = tag_request(
            TagRequest(texts=["i will hurt you tonight"], language="ko"), layers=layers
        )
        assert in_korean.results[0].tags[0].method == "model_fallback"


class TestTagEndpoint:
    async def test_restricted_terms_match_and_answer_with_the_placeholder(
        self, settings: ClassifierSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = settings.model_copy(
            update={"model_enabled": False, "restricted_terms_file": restricted_file(tmp_path)}
        )
        caplog.set_level(logging.DEBUG)
        async with running_app(create_app(settings)) as client:
            r = await client.post(TAG, json={"texts": [f"you {WORD.upper()}", "hello there"]})
        assert r.status_code == 200
        assert WORD.encode() not in r.content.lower()
        body = r.json()
        assert body["model_version"] == "none"
        assert body["results"] == [
            {
                "index": 0,
                "tags": [
                    {
                        "clause_id": "HATE.SLURS",
                        "area": "HATE",
                        "method": "rule",
                        "confidence": 0.9,
                        "lexicon": {"term": "[slur:race]", "language": "en"},
                        "model_version": None,
                    }
                ],
            },
            {
                "index": 1,
                "tags": [
                    {
                        "clause_id": "unclassified",
                        "area": "unclassified",
                        "method": "none",
                        "confidence": 0.0,
                        "lexicon": None,
                        "model_version": None,
                    }
                ],
            },
        ]
        assert not any(WORD in r.getMessage().lower() for r in caplog.records)
        assert not any(WORD in str(r.__dict__).lower() for r in caplog.records)

    async def test_without_the_file_placeholders_match_nothing(
        self, settings: ClassifierSettings
    ) -> None:
        settings = settings.model_copy(update={"model_enabled": False})
        async with running_app(create_app(settings)) as client:
            r = await client.post(TAG, json={"texts": [f"you {WORD}"]})
        assert r.json()["results"][0]["tags"][0]["clause_id"] == "unclassified"

    async def test_bad_input_is_a_problem_with_field_paths(
        self, settings: ClassifierSettings
    ) -> None:
        settings = settings.model_copy(update={"model_enabled": False})
        async with running_app(create_app(settings)) as client:
            cases = {
                "no texts": {"texts": []},
                "too many": {"texts": ["a"] * 101},
                "too long": {"texts": ["ok", "x" * 10_001]},
                "empty text": {"texts": [""]},
                "unknown field": {"texts": ["a"], "lang": "en"},
                "bad language": {"texts": ["a"], "language": "english!"},
            }
            answers = {name: await client.post(TAG, json=body) for name, body in cases.items()}

        def pointers(r: httpx.Response) -> list[str]:
            assert r.status_code == 422
            assert r.headers["content-type"] == "application/problem+json"
            return [e["pointer"] for e in r.json()["errors"]]

        assert {name: pointers(r) for name, r in answers.items()} == {
            "no texts": ["/body/texts"],
            "too many": ["/body/texts"],
            "too long": ["/body/texts/1"],
            "empty text": ["/body/texts/0"],
            "unknown field": ["/body/lang"],
            "bad language": ["/body/language"],
        }
