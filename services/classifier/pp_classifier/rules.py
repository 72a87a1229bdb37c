"""Lexicon rules: every clause's terms, in every language, compiled into one regex.

Text and terms go through the same :func:`normalise`, so a term matches whatever the
writer did to the letters: case, accents, full-width or look-alike letters, leetspeak
(``k1ll``, ``h@te``), punctuation or spaces inside a word (``k.i.l.l``, ``k i l l``) and
stretched letters (``kiiill``). The compiled pattern is a trie of the normalised terms, so
Python's ``re`` checks a handful of branches per position instead of every term, and the
empty group at the end of each term says which lexicon entries a match came from.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pp_classifier.taxonomy import Taxonomy

# Longer texts are cut before any work so a megabyte excerpt costs what 10,000 chars do;
# the wire format caps text_excerpt at the same length.
MAX_TEXT_CHARS = 10_000

# Rule scores are priors by term specificity until moderator decisions measure each
# term's precision: a single word ("vermin") is often quoted or used literally, a
# three-word phrase rarely is.
SCORE_ONE_WORD = 0.6
SCORE_TWO_WORDS = 0.75
SCORE_PHRASE = 0.9
SCORE_RESTRICTED = 0.9

# Lexicon entries like "[slur:race]" name entries of the restricted list, which is kept out
# of the repository; they match only when that list is passed in.
_PLACEHOLDER = re.compile(r"^\[[^\[\]]+\]$")

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

# "x" followed by "x*" rather than "x+": re skips an alternative at once when its first
# operation is a literal or a character set that does not match, but enters a repeat.
_LETTER_ATOM = {"i": "[i1][i1]*", "l": "[l1][l1]*"}


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


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One lexicon entry found in a text: which clause, which term, which language."""

    clause_id: str
    term: str
    language: str
    score: float


@dataclass(frozen=True, slots=True)
class _Entry:
    clause_id: str
    term: str
    language: str
    score: float


def _term_score(skeleton: str) -> float:
    words = skeleton.count(" ") + 1
    if words == 1:
        return SCORE_ONE_WORD
    if words == 2:
        return SCORE_TWO_WORDS
    return SCORE_PHRASE


def _skeleton(term: str) -> str:
    """A term's trie key: normalised, every run of one letter written once."""
    return re.sub(r"([^\W\d_])\1+", r"\1", normalise(term))


def _atom(char: str) -> str:
    if char == " ":
        return " "
    if char.isdigit():
        return re.escape(char)
    literal = re.escape(char)
    return _LETTER_ATOM.get(char, literal + literal + "*")


class _Trie:
    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.terminal: int | None = None

    def insert(self, key: str, terminal: int) -> None:
        node = self
        for char in key:
            node = node.children.setdefault(char, _Trie())
        node.terminal = terminal

    def render(self, groups: list[int]) -> str:
        branches = [_atom(char) + child.render(groups) for char, child in self.children.items()]
        if self.terminal is not None:
            # The word boundary sits before the marker group, so reaching a marker ends the
            # match: ``lastindex`` then names the term with no backtracking after it. Longer
            # terms come first so "deepfake porn of" wins over "deepfake".
            groups.append(self.terminal)
            branches.append(r"(?!\w)()")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"


class RuleTagger:
    """Lexicon matching for one taxonomy version; build once, call :meth:`match` often."""

    def __init__(
        self,
        taxonomy_version: str,
        entries: Mapping[str, Sequence[tuple[str, str, str, float]]],
    ) -> None:
        """``entries`` maps a term skeleton to its (clause, term, language, score) entries."""
        self.taxonomy_version = taxonomy_version
        self._entries: list[tuple[_Entry, ...]] = []
        trie = _Trie()
        for key, found in entries.items():
            if key and found:
                trie.insert(key, len(self._entries))
                self._entries.append(tuple(_Entry(*entry) for entry in found))
        self.term_count = sum(len(bucket) for bucket in self._entries)
        groups: list[int] = []
        body = trie.render(groups) if trie.children else "(?!)"
        # Group n (1-based) is the marker of trie terminal groups[n - 1].
        self._group_entries = [self._entries[index] for index in groups]
        # Normalised text is words joined by single spaces, so a word starts at a space once a
        # space is put in front: a pattern that starts with a literal lets re jump from space
        # to space instead of trying every character.
        self._pattern = re.compile(" " + body)

    @classmethod
    def from_taxonomy(
        cls,
        taxonomy: Taxonomy,
        *,
        restricted_terms: Mapping[str, Iterable[str]] | None = None,
    ) -> RuleTagger:
        """Compile every clause's lexicon; ``restricted_terms`` fills placeholder entries.

        A placeholder such as ``[slur:race]`` stays unmatched unless ``restricted_terms``
        maps it to the real spellings; hits then report the placeholder, never the word.
        """
        restricted = {key: tuple(terms) for key, terms in (restricted_terms or {}).items()}
        entries: dict[str, list[tuple[str, str, str, float]]] = {}
        for clause in taxonomy.clauses():
            for language, terms in clause.lexicon.items():
                for term in terms:
                    if _PLACEHOLDER.match(term):
                        spellings = restricted.get(term, ())
                        keys = [(_skeleton(s), SCORE_RESTRICTED) for s in spellings]
                    else:
                        key = _skeleton(term)
                        keys = [(key, _term_score(key))]
                    for key, score in keys:
                        bucket = entries.setdefault(key, [])
                        entry = (clause.id, term, language, score)
                        if key and entry not in bucket:
                            bucket.append(entry)
        return cls(taxonomy.version, entries)

    def match(self, text: str) -> list[RuleHit]:
        """Lexicon entries found in ``text``, in order of first occurrence."""
        return self.match_normalised(normalise(text))

    def match_normalised(self, normalised: str) -> list[RuleHit]:
        """As :meth:`match`, for a text already passed through :func:`normalise`."""
        if not normalised:
            return []
        seen: set[_Entry] = set()
        hits: list[RuleHit] = []
        group_entries = self._group_entries
        for found in self._pattern.finditer(" " + normalised):
            index = found.lastindex
            if index is None:  # pragma: no cover - every branch ends in a marker group
                continue
            for entry in group_entries[index - 1]:
                if entry not in seen:
                    seen.add(entry)
                    hits.append(RuleHit(entry.clause_id, entry.term, entry.language, entry.score))
        return hits

    def describe(self) -> dict[str, Any]:
        """Sizes for logs and metrics: no terms, which may include restricted ones."""
        return {
            "taxonomy_version": self.taxonomy_version,
            "terms": self.term_count,
            "patterns": len(self._entries),
        }
