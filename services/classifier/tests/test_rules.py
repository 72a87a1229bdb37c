from __future__ import annotations

import pytest

from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy.document import load_taxonomy

SEED = load_taxonomy()
RULES = RuleTagger.from_taxonomy(SEED, restricted_terms={"[slur:race]": ["zorblax"]})


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
