from __future__ import annotations

import pytest

from pp_classifier.tagging.text import MAX_TEXT_CHARS, QUOTE_MARK, normalise, quote_view


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


class TestQuoteView:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                'If you say "I hate women", then you are a bigot!',
                "if you say then you are a bigot zquotez i hate women",
            ),
            (
                "Er sagte \u201eAusl\u00e4nder raus\u201c und ging.",
                "er sagte und ging zquotez auslander raus",
            ),
            (
                "\u00ab Je hais les femmes \u00bb est haineux",
                "est haineux zquotez je hais les femmes",
            ),
            ("\u201cone\u201d and \u201ctwo\u201d", "and zquotez one two"),
            # Davidson's tweets write curly quotes as HTML entities.
            ("&#8220;@bob: cause im tired&#8221; lol", "lol zquotez cause im tired"),
            ('"quoted only"', "zquotez quoted only"),
        ],
    )
    def test_quoted_words_follow_the_mark(self, text: str, expected: str) -> None:
        assert quote_view(text, normalise(text)) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "no quotes here",
            'one stray " quote',
            "it's an apostrophe, 'single' quotes are left alone",
            '"!!!" only punctuation inside',
            '"' + "x" * 301 + '" longer than a quotation',
        ],
    )
    def test_a_text_without_a_quotation_is_its_normalised_form(self, text: str) -> None:
        assert quote_view(text, normalise(text)) == normalise(text)

    def test_the_view_is_normalised_text(self) -> None:
        text = 'He said "KIIILL all of them" & left'
        view = quote_view(text, normalise(text))
        assert view == "he said left zquotez kill all of them"
        assert normalise(view) == view
        assert normalise(QUOTE_MARK) == QUOTE_MARK
