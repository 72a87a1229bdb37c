from __future__ import annotations

import pytest

from pp_classifier.tagging.text import MAX_TEXT_CHARS, normalise


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
