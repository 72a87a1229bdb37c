"""The featuriser against scikit-learn's analysers, and the negation marking."""

from __future__ import annotations

import pytest
from sklearn.feature_extraction.text import CountVectorizer  # type: ignore[import-untyped]

from pp_classifier.tagging.text import normalise
from pp_classifier.training.features import (
    FeatureSpec,
    featuriser_input,
    hash_ngrams,
    negated_words,
    quoted_words,
    word_hashes,
)

TEXTS = [
    "i dont hate women",
    "women are not scum at all really",
    "hate",
    "",
    "eu nao odeio mulheres nem homens",
    "ich hasse keine frauen",
]


def feature_sets(spec: FeatureSpec, texts: list[str]) -> list[set[int]]:
    grams = hash_ngrams(texts, spec)
    return [set(grams.feature[grams.doc == i].tolist()) for i in range(len(texts))]


def distinct_per_text(spec: FeatureSpec, texts: list[str]) -> list[int]:
    return [len(found) for found in feature_sets(spec, texts)]


def sklearn_distinct(texts: list[str]) -> list[int]:
    """Distinct word 1-2-grams plus char_wb 2-5-grams per text, as scikit-learn counts them."""
    words = CountVectorizer(ngram_range=(1, 2)).build_analyzer()
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    return [len(set(words(t))) + len(set(chars(t))) if t else 0 for t in texts]


def test_ngrams_are_those_sklearn_builds() -> None:
    assert distinct_per_text(FeatureSpec(), TEXTS) == sklearn_distinct(TEXTS)


def test_words_after_a_negation_cue_are_marked_within_the_window() -> None:
    texts = ["i dont hate women", "women are not scum at all really", "hate"]
    raw, doc = word_hashes(texts)
    marked = negated_words(raw, doc, 3)
    flat = [w for t in texts for w in t.split() if len(w) >= 2]  # the featuriser's words
    # "hate" in the third text follows "really" of the second: another text, not negated.
    negated = [w for w, m in zip(flat, marked, strict=True) if m]
    assert negated == ["hate", "women", "scum", "at", "all"]


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("i dont hate women", 2),  # dont -> hate, women
        ("eu nao odeio mulheres nem homens", 4),  # nao -> odeio mulheres nem; nem -> homens
        ("ich hasse keine frauen", 1),
        ("women are scum", 0),
    ],
)
def test_negated_words_take_the_place_of_the_words(text: str, negated: int) -> None:
    plain = feature_sets(FeatureSpec(), [text])[0]
    marked = feature_sets(FeatureSpec(negation_window=3), [text])[0]
    # The negated words' unigrams leave; as many negated-word features come in; the rest
    # (bigrams, character n-grams, the words out of scope) stay.
    assert len(plain - marked) == negated
    assert len(marked - plain) == negated


def test_the_window_round_trips_and_old_specs_have_none() -> None:
    spec = FeatureSpec(negation_window=3)
    assert FeatureSpec.from_json(spec.to_json()) == spec
    assert "negation_window" not in FeatureSpec().to_json()
    assert FeatureSpec.from_json(FeatureSpec().to_json()).negation_window == 0


def test_words_after_the_quote_mark_are_quoted_words_in_place_of_the_words() -> None:
    texts = ["if you say then you are a bigot zquotez i hate women", "i hate women"]
    raw, doc = word_hashes(texts)
    flat = [w for t in texts for w in t.split() if len(w) >= 2]
    marked = quoted_words(raw, doc)
    # "i" is one letter (not a word); the mark itself stays a word; the next text is not quoted.
    assert [w for w, m in zip(flat, marked, strict=True) if m] == ["hate", "women"]
    plain = feature_sets(FeatureSpec(negation_window=3), texts[:1])[0]
    quoted = feature_sets(FeatureSpec(negation_window=3, quote_scope=True), texts[:1])[0]
    assert len(plain - quoted) == 2
    assert len(quoted - plain) == 2


def test_a_quoted_negated_word_is_a_quoted_word() -> None:
    text = "so zquotez they are not human"
    spec = FeatureSpec(negation_window=3, quote_scope=True)
    unmarked = feature_sets(FeatureSpec(), [text])[0]
    marked = feature_sets(spec, [text])[0]
    # "they are not human": four words quoted; "human" after "not" is quoted, not negated.
    assert len(unmarked - marked) == 4
    assert len(marked - unmarked) == 4
    assert marked == feature_sets(FeatureSpec(quote_scope=True), [text])[0]


def test_the_quote_scope_round_trips_and_old_specs_have_none() -> None:
    spec = FeatureSpec(negation_window=3, quote_scope=True)
    assert FeatureSpec.from_json(spec.to_json()) == spec
    assert "quote_scope" not in FeatureSpec().to_json()
    assert FeatureSpec.from_json(FeatureSpec().to_json()).quote_scope is False


def test_the_featuriser_reads_the_quote_view_only_when_the_spec_marks_quotes() -> None:
    texts = ['say "i hate women" no more', "plain text"]
    normalised = [normalise(t) for t in texts]
    assert featuriser_input(FeatureSpec(), texts, normalised) == normalised
    assert featuriser_input(FeatureSpec(quote_scope=True), texts, normalised) == [
        "say no more zquotez i hate women",
        "plain text",
    ]
