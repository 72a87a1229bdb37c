"""Text normalisation: the comparable form of a text that the rules and the model both see.

Case, accents, full-width or look-alike letters, leetspeak (``k1ll``, ``h@te``), punctuation
or spaces inside a word (``k.i.l.l``, ``k i l l``) and stretched letters (``kiiill``) are
undone, so a lexicon term matches whatever the writer did to the letters, and the model's
n-grams see the same de-obfuscated words.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Longer texts are cut before any work so a megabyte excerpt costs what 10,000 chars do;
# the wire format caps text_excerpt at the same length.
MAX_TEXT_CHARS = 10_000

_SURROGATE = re.compile("[\ud800-\udfff]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Starts with the literal "@" so re skips ahead to it; the lookbehind keeps e-mail addresses.
_MENTION = re.compile(r"@(?<!\w@)\w+")
# Only the combining blocks used by Latin, Greek and Cyrillic: marks in Indic or Arabic
# scripts are vowels, and dropping them would change the word.
_DIACRITIC = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SWAPS: dict[str, str] = {
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "æ": "ae",
    "œ": "oe",
    "\u0131": "i",  # dotless i
    # Invisible characters slipped inside a word to break matching.
    "\u00ad": "",
    "\u180e": "",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
}
_LETTER_SWAPS = str.maketrans(_SWAPS)
# str.translate walks a dict per character; a charset search first is far cheaper.
_ANY_SWAP = re.compile("[" + "".join(_SWAPS) + "]")
# Escaped so the table reads unambiguously: each key is a Cyrillic or Greek letter that
# renders like the Latin letter it maps to.
_HOMOGLYPHS_TABLE: dict[str, str] = {
    "\u0430": "a",  # cyrillic small letter a
    "\u0435": "e",  # cyrillic small letter ie
    "\u043e": "o",  # cyrillic small letter o
    "\u0440": "p",  # cyrillic small letter er
    "\u0441": "c",  # cyrillic small letter es
    "\u0443": "y",  # cyrillic small letter u
    "\u0445": "x",  # cyrillic small letter ha
    "\u0456": "i",  # cyrillic small letter byelorussian-ukrainian i
    "\u0458": "j",  # cyrillic small letter je
    "\u0455": "s",  # cyrillic small letter dze
    "\u043a": "k",  # cyrillic small letter ka
    "\u0501": "d",  # cyrillic small letter komi de
    "\u04cf": "l",  # cyrillic small letter palochka
    "\u03b1": "a",  # greek small letter alpha
    "\u03b5": "e",  # greek small letter epsilon
    "\u03b9": "i",  # greek small letter iota
    "\u03ba": "k",  # greek small letter kappa
    "\u03bf": "o",  # greek small letter omicron
    "\u03c1": "p",  # greek small letter rho
    "\u03c5": "u",  # greek small letter upsilon
    "\u03bd": "v",  # greek small letter nu
}
_HOMOGLYPHS = str.maketrans(_HOMOGLYPHS_TABLE)
# Look-alikes are swapped only inside words that also hold a Latin letter: that mix is
# the obfuscation, while a word wholly in Cyrillic or Greek is just that language.
_LOOKALIKES = "".join(_HOMOGLYPHS_TABLE)
_ANY_LOOKALIKE = re.compile(f"[{_LOOKALIKES}]")
_MIXED_SCRIPT = re.compile(rf"\w*(?:[a-z]\w*[{_LOOKALIKES}]|[{_LOOKALIKES}]\w*[a-z])\w*")
# Three or more single characters apart: "k i l l", "k.i.l.l", "k - i - l - l".
_SPACED_LETTERS = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]{1,3}[^\W_]){2,}(?![^\W_])")
_NOT_ALNUM = re.compile(r"[\W_]+")
# Leetspeak counts only next to a letter, so "1000 likes" and "14/88" keep their digits.
# "1" stays "1" because it stands for both "i" and "l"; the patterns accept it for either.
_LEET_RUN = re.compile(r"[034578@$]+")
_LEET_TABLE = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_INNER_PUNCTUATION = re.compile(r"(?<=[^\W_])[^\w\s]+(?=[^\W_])")
# Three or more of one letter become one; the ASCII pattern is twice as fast.
_STRETCHED_ASCII = re.compile(r"([a-z])\1\1+")
_STRETCHED = re.compile(r"([^\W\d_])\1\1+")
_ASCII_PUNCTUATION_TO_SPACE = str.maketrans(
    {chr(code): " " for code in range(128) if not chr(code).isalnum()}
)


def _sanitise(text: str) -> str:
    text = text[:MAX_TEXT_CHARS]
    return _SURROGATE.sub(" ", text)


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text).casefold()
    text = _DIACRITIC.sub("", text)
    if _ANY_SWAP.search(text):
        text = text.translate(_LETTER_SWAPS)
    text = unicodedata.normalize("NFC", text)
    if _ANY_LOOKALIKE.search(text):
        text = _MIXED_SCRIPT.sub(lambda m: m.group().translate(_HOMOGLYPHS), text)
    return text


def _unleet(text: str) -> str:
    pieces: list[str] = []
    done = 0
    for run in _LEET_RUN.finditer(text):
        start, end = run.span()
        if (start and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha()):
            pieces.append(text[done:start])
            pieces.append(run.group().translate(_LEET_TABLE))
            done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def normalise(text: str) -> str:
    """The comparable form of a text: lower-case letters and digits, single spaces.

    Shared by the rules and the model so both see the same de-obfuscated words. Never
    raises: lone surrogates become spaces and anything past ``MAX_TEXT_CHARS`` is dropped.
    """
    text = _sanitise(text)
    if "&" in text:
        text = html.unescape(text)
    if "/" in text or "www" in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    text = _fold(text)
    text = _SPACED_LETTERS.sub(lambda m: _NOT_ALNUM.sub("", m.group()), text)
    text = _unleet(text)
    text = _INNER_PUNCTUATION.sub("", text)
    if text.isascii():
        text = _STRETCHED_ASCII.sub(r"\1", text)
        return " ".join(text.translate(_ASCII_PUNCTUATION_TO_SPACE).split())
    text = _STRETCHED.sub(r"\1", text)
    return _NOT_ALNUM.sub(" ", text).strip()


# The word quote_view writes between a text's own words and the words it quotes; normalise
# keeps it as it is (lower-case letters, no run of three).
QUOTE_MARK = "zquotez"
# A quotation: straight or curly double quotes, German low-high quotes, guillemets; at most
# 300 characters and one line, so a stray quote mark does not swallow the rest of a text.
# Single quotes are left alone: they are apostrophes far more often than quotations.
_QUOTATION = re.compile(
    '"([^"\n]{1,300})"'
    '|\u201c([^\u201c\u201d"\n]{1,300})[\u201d"]'
    '|\u201e([^\u201c\u201d"\n]{1,300})[\u201c\u201d"]'
    "|\u00ab([^\u00bb\n]{1,300})\u00bb"
)
_QUOTE_CHARS = ('"', "\u201c", "\u201e", "\u00ab", "&")


def quote_view(text: str, normalised: str) -> str:
    """What the model reads of a text: ``normalised`` (its :func:`normalise` form) when the
    text quotes nothing, else its own words, :data:`QUOTE_MARK`, then the quoted words.

    Counter-speech quotes the hate it answers ('If you say "I hate women", you are a
    bigot'); the model weighs quoted words apart from the writer's own
    (``FeatureSpec.quote_scope``). The rules still read the whole normalised text.
    """
    if not any(mark in text for mark in _QUOTE_CHARS):
        return normalised
    text = _sanitise(text)
    if "&" in text:
        text = html.unescape(text)
    own: list[str] = []
    quoted: list[str] = []
    done = 0
    for match in _QUOTATION.finditer(text):
        own.append(text[done : match.start()])
        quoted.append(next(group for group in match.groups() if group is not None))
        done = match.end()
    if not quoted:
        return normalised
    own.append(text[done:])
    # One normalise call for the whole view: the pieces are apart by spaces, so each
    # normalises as it would alone, and a second call costs what the first did.
    view = normalise(" ".join((*own, f" {QUOTE_MARK} ", *quoted)))
    return view[: -len(QUOTE_MARK)].rstrip() if view.endswith(QUOTE_MARK) else view
