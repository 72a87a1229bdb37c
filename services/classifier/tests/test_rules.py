from __future__ import annotations

import pytest

from pp_classifier.rules import MAX_TEXT_CHARS, RuleTagger, normalise
from pp_classifier.taxonomy import load_taxonomy

SEED = load_taxonomy()
RULES = RuleTagger.from_taxonomy(SEED, restricted_terms={"[slur:race]": ["zorblax"]})


class TestNormalise:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Hello WORLD", "hello world"),
            ("Ça VA très bien", "ca va tres bien"),
            ("\uff26\uff35\uff2c\uff2c width", "full width"),
            ("łódź straße", "lodz strasse"),
            ("hello!!! world???", "hello world"),
            ("e-mail co-op", "email coop"),
            ("&amp; ok", "ok"),
            ("see https://x.com/a @bob now", "see now"),
        ],
    )
    def test_case_accents_width_and_punctuation(self, text: str, expected: str) -> None:
        assert normalise(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("h@te you", "hate you"),
            ("h4t3 y0u", "hate you"),
            ("k.i.l.l", "kill"),
            ("k i l l them", "kill them"),
            ("kiiiill", "kill"),
            ("in\u200bvisible", "invisible"),
            ("p\u0430yp\u0430l", "paypal"),  # Cyrillic a inside a Latin word
        ],
    )
    def test_obfuscations_are_undone(self, text: str, expected: str) -> None:
        assert normalise(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1000 likes", "1000 likes"),
            ("k1ll", "k1ll"),  # "1" stands for i and l: the rule patterns accept either
            ("\u0440\u0430\u0431\u043e\u0442\u0430", "\u0440\u0430\u0431\u043e\u0442\u0430"),
        ],
    )
    def test_digits_and_other_scripts_are_kept(self, text: str, expected: str) -> None:
        assert normalise(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", ""),
            ("\ud800bad\udfff", "bad"),
            ("\U0001f600 emoji \U0001f600", "emoji"),
            ("!!! ??? ...", ""),
        ],
    )
    def test_bad_input_never_raises(self, text: str, expected: str) -> None:
        assert normalise(text) == expected

    def test_text_is_cut_at_the_documented_length(self) -> None:
        assert MAX_TEXT_CHARS == 10_000
        # 10,000 characters are 3,333 times "ab " and one "a".
        assert normalise("ab " * 1_000_000) == "ab " * 3_333 + "a"


def hits(text: str) -> list[tuple[str, str, str, float]]:
    return [(h.clause_id, h.term, h.language, h.score) for h in RULES.match(text)]


class TestRuleTagger:
    def test_describe_gives_sizes_not_terms(self) -> None:
        assert RULES.describe() == {"taxonomy_version": "2026.11.0", "terms": 711, "patterns": 690}

    @pytest.mark.parametrize(
        "text",
        ["I will kill you", "I  will KILL you!!", "I w1ll k1ll y0u", "I wiiiill kill you"],
    )
    def test_obfuscated_phrase_matches_its_clause(self, text: str) -> None:
        assert hits(text) == [("VBDA.THREATS", "I will kill you", "en", 0.9)]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("te voy a matar", ("VBDA.THREATS", "te voy a matar", "es", 0.9)),
            ("ich weiss wo du wohnst", ("VBDA.THREATS", "ich weiß, wo du wohnst", "de", 0.9)),
        ],
    )
    def test_other_languages(self, text: str, expected: tuple[str, str, str, float]) -> None:
        assert hits(text) == [expected]

    @pytest.mark.parametrize("text", ["skill you", "I will kill youth", "nothing here", ""])
    def test_word_boundaries_hold(self, text: str) -> None:
        assert hits(text) == []

    def test_restricted_terms_report_the_placeholder_never_the_word(self) -> None:
        expected = [("HATE.SLURS", "[slur:race]", "en", 0.9)]
        assert hits("they are zorbl@x") == expected
        assert hits("z o r b l a x go home") == expected
        assert RuleTagger.from_taxonomy(SEED).match("they are zorblax") == []

    def test_hits_come_in_order_of_occurrence(self) -> None:
        assert hits("pay or I send your nudes, I will kill you") == [
            ("HEX.SEXTORTION", "pay or I send your nudes", "en", 0.9),
            ("VBDA.THREATS", "I will kill you", "en", 0.9),
        ]
