"""Lexicon rules: every clause's terms, in every language, compiled into one regex.

Text and terms go through the same :func:`~pp_classifier.tagging.text.normalise`, so a term
matches whatever the writer did to the letters. The compiled pattern is a trie of the
normalised terms, so Python's ``re`` checks a handful of branches per position instead of
every term, and the empty group at the end of each term says which lexicon entries a match
came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pp_classifier.tagging.text import normalise
from pp_classifier.taxonomy.document import Taxonomy

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

# "x" followed by "x*" rather than "x+": re skips an alternative at once when its first
# operation is a literal or a character set that does not match, but enters a repeat.
_LETTER_ATOM = {"i": "[i1][i1]*", "l": "[l1][l1]*"}


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
