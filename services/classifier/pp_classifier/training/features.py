"""Word (1-2) and character (2-5, within words) n-gram TF-IDF features, computed in numpy.

scikit-learn's ``HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5))`` builds every
n-gram as a Python string: about 3,000 texts/s for 400-character texts on one core, too slow
for the rule + model budget of 5,000 texts/s. Here a whole batch becomes one array of code
points, n-gram hashes come from polynomial prefix hashes (uint64 arithmetic wraps, which is
the modulus), and the n-grams kept are those sklearn's ``char_wb`` keeps: every n-gram of
each space-padded word. Words are runs of letters and digits of two or more characters,
as in sklearn's default token pattern; bigrams pair neighbouring words of one text.

With ``negation_window`` set, each word within that many words after a negation cue
("not", "never", "no", "nao", "nicht", "jamais", ... in the five market languages, as
:func:`~pp_classifier.tagging.text.normalise` writes them) is a feature of its own, the
negated word, in place of the word: "i dont hate women" has negated "hate" and no "hate", so
a linear model weighs "hate" under a negation apart from "hate" (the sentiment-analysis
marking of Das and Chen, 2001, and Pang et al., 2002). Normalised text has no punctuation, so
the scope is a window of words, not a clause. Bigrams and character n-grams are unchanged.

Hashes index a vocabulary learnt at fit time (features seen in at least ``min_df`` texts),
so the model stores weights only for features it has seen; unknown n-grams are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from pp_classifier.tagging.text import QUOTE_MARK, quote_view

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_BASE = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_BASE_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_BIGRAM = np.uint64(0xC2B2AE3D27D4EB4F)
_SPACE = 32
_SENTINEL = 0


def _salt(kind: int) -> np.uint64:
    # Distinct odd multipliers keep "ab" as a word, as a char bigram and as a 2-gram apart.
    return np.uint64((kind * 0xD6E8FEB86659FD93 + 0x2545F4914F6CDD1D) % 2**64)


_WORD_SALT = _salt(1)
_BIGRAM_SALT = _salt(2)
_NEGATED_SALT = _salt(3)
_QUOTED_SALT = _salt(4)

# Negation cues as normalised text spells them (lower case, no accents, "don't" -> "dont"),
# words of two or more letters only (the featuriser's words): English, Spanish, French,
# German, Portuguese. French "n'" is glued to its verb ("naime"); its "pas" and "jamais" mark
# the scope instead.
NEGATION_CUES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": (
        *("not", "no", "never", "nor", "neither", "nobody", "nothing", "none", "hardly"),
        *("dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "cannot"),
        *("couldnt", "wont", "wouldnt", "shouldnt", "mustnt", "aint", "without"),
    ),
    "es": (
        "no",
        "nunca",
        "jamas",
        "ni",
        "tampoco",
        "nadie",
        "nada",
        "ningun",
        "ninguno",
        "ninguna",
        "sin",
    ),
    "fr": ("ne", "pas", "jamais", "aucun", "aucune", "rien", "ni", "sans"),
    "de": (
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keinem",
        "keiner",
        "keines",
        "nie",
        "niemals",
        "nichts",
        "niemand",
        "weder",
        "ohne",
    ),
    "pt": ("nao", "nunca", "jamais", "nem", "nenhum", "nenhuma", "ninguem", "nada", "sem"),
}
NEGATION_CUES = frozenset(cue for cues in NEGATION_CUES_BY_LANGUAGE.values() for cue in cues)


@dataclass(frozen=True)
class FeatureSpec:
    """What the featuriser extracts; stored with a model so loading rebuilds it exactly."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    hash_bits: int = 21
    min_df: int = 2
    sublinear_tf: bool = True
    # Words within this many words after a negation cue are also negated-word features;
    # 0 turns the marking off (models trained before it have none).
    negation_window: int = 0
    # Words after QUOTE_MARK (what quote_view writes before a text's quoted words) are
    # quoted-word features in place of the words.
    quote_scope: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "hash_bits": self.hash_bits,
            "min_df": self.min_df,
            "sublinear_tf": self.sublinear_tf,
        }
        if self.negation_window:
            out["negation_window"] = self.negation_window
        if self.quote_scope:
            out["quote_scope"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            word_ngrams=(int(data["word_ngrams"][0]), int(data["word_ngrams"][1])),
            char_ngrams=(int(data["char_ngrams"][0]), int(data["char_ngrams"][1])),
            hash_bits=int(data["hash_bits"]),
            min_df=int(data["min_df"]),
            sublinear_tf=bool(data["sublinear_tf"]),
            negation_window=int(data.get("negation_window", 0)),
            quote_scope=bool(data.get("quote_scope", False)),
        )


def featuriser_input(
    spec: FeatureSpec, texts: Sequence[str], normalised: Sequence[str]
) -> list[str]:
    """What the featuriser reads of raw ``texts`` (``normalised`` are their
    :func:`~pp_classifier.tagging.text.normalise` forms): those, with each text's quoted
    words after :data:`QUOTE_MARK` when the spec marks quotations."""
    if not spec.quote_scope:
        return list(normalised)
    return [quote_view(text, norm) for text, norm in zip(texts, normalised, strict=True)]


@dataclass(frozen=True)
class HashedNgrams:
    """Every n-gram occurrence of a batch: which text, and its feature id.

    A feature id is ``block << hash_bits | hash`` with block 0 for words and 1 for
    characters, so a word and a character n-gram with equal hashes stay apart.
    """

    doc: I64
    feature: I64
    n_docs: int


def _code_points(texts: list[str]) -> tuple[U64, I64]:
    # Each text is space-padded (the char_wb padding) and texts are split by a sentinel that
    # no n-gram may contain; an empty text contributes nothing.
    padded = [f" {text} " if text else "" for text in texts]
    joined = "\x00".join(padded)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(p) + 1 for p in padded), dtype=np.int64, count=len(padded))
    doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: len(points)]
    return points, doc_of


def _prefix(points: U64) -> tuple[U64, U64]:
    n = len(points)
    powers = np.empty(n + 1, dtype=np.uint64)
    powers[0] = 1
    powers[1:] = _BASE
    np.cumprod(powers, out=powers)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(points * powers[:-1], out=prefix[1:])
    inverse = np.empty(n + 1, dtype=np.uint64)
    inverse[0] = 1
    inverse[1:] = _BASE_INVERSE
    np.cumprod(inverse, out=inverse)
    return prefix, inverse


def _words(
    prefix: U64, inverse: U64, separator: npt.NDArray[np.bool_], doc_of: I64
) -> tuple[U64, I64]:
    """The raw hash of every word (two or more characters between separators) and its text."""
    inside = ~separator
    begins = np.flatnonzero(inside[1:] & separator[:-1]) + 1
    ends = np.flatnonzero(inside[:-1] & separator[1:]) + 1
    long_enough = (ends - begins) >= 2
    begins, ends = begins[long_enough], ends[long_enough]
    return (prefix[ends] - prefix[begins]) * inverse[begins], doc_of[begins]


def word_hashes(texts: list[str]) -> tuple[U64, I64]:
    """The raw hash of every word of normalised texts, and the text each is in, as
    :func:`hash_ngrams` computes them."""
    points, doc_of = _code_points(texts)
    if not len(points):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    prefix, inverse = _prefix(points)
    return _words(prefix, inverse, (points == _SPACE) | (points == _SENTINEL), doc_of)


_NEGATION_HASHES = np.unique(word_hashes(sorted(NEGATION_CUES))[0])
_QUOTE_HASH = word_hashes([QUOTE_MARK])[0][0]


def _after_cue(
    word_doc: I64, cue: npt.NDArray[np.bool_], window: int | None
) -> npt.NDArray[np.bool_]:
    """Which words follow a cue word of their own text by at most ``window`` words (None:
    any number)."""
    index = np.arange(len(word_doc), dtype=np.int64)
    last_cue = np.maximum.accumulate(np.where(cue, index, -1))
    before = np.empty_like(last_cue)
    before[:1] = -1
    before[1:] = last_cue[:-1]
    scoped: npt.NDArray[np.bool_] = before >= 0
    if window is not None:
        scoped &= index - before <= window
    scoped &= word_doc[np.maximum(before, 0)] == word_doc
    return scoped


def quoted_words(word_raw: U64, word_doc: I64) -> npt.NDArray[np.bool_]:
    """Which words follow a QUOTE_MARK of their own text (the mark itself is not quoted)."""
    mark: npt.NDArray[np.bool_] = word_raw == _QUOTE_HASH
    quoted: npt.NDArray[np.bool_] = _after_cue(word_doc, mark, None) & ~mark
    return quoted


def negated_words(word_raw: U64, word_doc: I64, window: int) -> npt.NDArray[np.bool_]:
    """Which words follow a negation cue of their own text by at most ``window`` words."""
    return _after_cue(word_doc, np.isin(word_raw, _NEGATION_HASHES), window)


def _finish(hashes: U64, salt: np.uint64, bits: int) -> I64:
    mixed = ((hashes ^ salt) * _GOLDEN) >> np.uint64(64 - bits)
    return mixed.astype(np.int64)


def hash_ngrams(texts: list[str], spec: FeatureSpec) -> HashedNgrams:
    """The hashed word and character n-grams of already normalised texts."""
    points, doc_of = _code_points(texts)
    n = len(points)
    docs: list[I64] = []
    features: list[I64] = []
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return HashedNgrams(empty, empty, len(texts))
    char_block = np.int64(1 << spec.hash_bits)
    prefix, inverse = _prefix(points)
    is_space = points == _SPACE
    is_sentinel = points == _SENTINEL
    spaces = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(is_space, out=spaces[1:])
    sentinels = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(is_sentinel, out=sentinels[1:])

    low, high = spec.char_ngrams
    for size in range(low, high + 1):
        count = n - size + 1
        if count <= 0:
            break
        keep = sentinels[size : size + count] == sentinels[:count]
        if size > 2:
            # No space strictly inside the window: n-grams never span two words.
            keep &= spaces[size - 1 : size - 1 + count] == spaces[1 : 1 + count]
        starts = np.flatnonzero(keep)
        raw = (prefix[starts + size] - prefix[starts]) * inverse[starts]
        features.append(_finish(raw, _salt(10 + size), spec.hash_bits) | char_block)
        docs.append(doc_of[starts])

    word_raw, word_doc = _words(prefix, inverse, is_space | is_sentinel, doc_of)
    low_w, high_w = spec.word_ngrams
    scoped = np.zeros(len(word_raw), dtype=bool)
    if spec.negation_window and len(word_raw):
        scoped = negated_words(word_raw, word_doc, spec.negation_window)
    quoted = np.zeros(len(word_raw), dtype=bool)
    if spec.quote_scope and len(word_raw):
        quoted = quoted_words(word_raw, word_doc)
        scoped &= ~quoted
    if scoped.any():
        features.append(_finish(word_raw[scoped], _NEGATED_SALT, spec.hash_bits))
        docs.append(word_doc[scoped])
    if quoted.any():
        features.append(_finish(word_raw[quoted], _QUOTED_SALT, spec.hash_bits))
        docs.append(word_doc[quoted])
    scoped |= quoted
    if low_w <= 1 <= high_w:
        features.append(_finish(word_raw[~scoped], _WORD_SALT, spec.hash_bits))
        docs.append(word_doc[~scoped])
    if low_w <= 2 <= high_w and len(word_raw) > 1:
        same = word_doc[1:] == word_doc[:-1]
        pair_raw = word_raw[:-1][same] * _BIGRAM + word_raw[1:][same]
        features.append(_finish(pair_raw, _BIGRAM_SALT, spec.hash_bits))
        docs.append(word_doc[:-1][same])
    return HashedNgrams(np.concatenate(docs), np.concatenate(features), len(texts))


IntT = TypeVar("IntT", np.int32, np.int64)


def unique_counts(values: npt.NDArray[IntT]) -> tuple[npt.NDArray[IntT], I64]:
    """Sorted distinct values and how often each occurs (np.unique, without its overhead)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.int64)
    boundary = np.empty(len(ordered), dtype=bool)
    boundary[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=boundary[1:])
    first = np.flatnonzero(boundary)
    return ordered[first], np.diff(np.append(first, len(ordered))).astype(np.int64)


class Vocabulary:
    """Feature id -> column for the features kept at fit time, with their IDF weights.

    Word features take the first ``n_word`` columns and character features the rest, so
    each block is L2-normalised on its own, as a FeatureUnion of two TF-IDF vectorisers
    would do.
    """

    def __init__(self, spec: FeatureSpec, features: I64, idf: F32) -> None:
        order = np.argsort(features, kind="stable")
        self.spec = spec
        self.features = features[order].astype(np.int64)
        self.idf = idf[order].astype(np.float32)
        self.n_word = int((self.features < (1 << spec.hash_bits)).sum())
        self._table = np.full(2 << spec.hash_bits, -1, dtype=np.int32)
        self._table[self.features] = np.arange(len(self.features), dtype=np.int32)

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def fit(cls, grams: HashedNgrams, spec: FeatureSpec) -> Vocabulary:
        """Keep features seen in at least ``min_df`` texts; IDF as sklearn's smooth_idf."""
        shift = np.int64(spec.hash_bits + 1)
        per_doc, _ = unique_counts((grams.doc << shift) | grams.feature)
        ids: I64 = (per_doc & np.int64((1 << int(shift)) - 1)).astype(np.int64)
        features, df = unique_counts(ids)
        kept = df >= spec.min_df
        idf = np.log((1.0 + grams.n_docs) / (1.0 + df[kept])) + 1.0
        return cls(spec, features[kept], idf.astype(np.float32))

    def transform(self, grams: HashedNgrams) -> csr_matrix[np.float32]:
        """TF-IDF rows, each block L2-normalised; unseen n-grams are dropped."""
        columns = self._table[grams.feature]
        known = columns >= 0
        width = len(self.features) + 1
        # (text, column) keys sort about twice as fast as int32, which holds them for any
        # batch of up to 2**31 / width texts: every batch the service tags.
        if grams.n_docs * width < 2**31:
            key32, occurrences = unique_counts(
                grams.doc[known].astype(np.int32) * np.int32(width) + columns[known]
            )
            key = key32.astype(np.int64)
        else:
            key, occurrences = unique_counts(
                grams.doc[known] * np.int64(width) + columns[known].astype(np.int64)
            )
        counts = occurrences.astype(np.float32)
        doc = key // width
        column = key - doc * width
        tf = 1.0 + np.log(counts) if self.spec.sublinear_tf else counts
        values = (tf * self.idf[column]).astype(np.float32)
        slot = doc * 2 + (column >= self.n_word)
        norms = np.sqrt(np.bincount(slot, weights=values * values, minlength=grams.n_docs * 2))
        values /= norms[slot].astype(np.float32)
        indptr = np.zeros(grams.n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=grams.n_docs), out=indptr[1:])
        shape = (grams.n_docs, len(self.features))
        return csr_matrix((values, column.astype(np.int32), indptr), shape=shape)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"vocab_features": self.features, "vocab_idf": self.idf}

    @classmethod
    def from_arrays(cls, spec: FeatureSpec, arrays: dict[str, npt.NDArray[Any]]) -> Vocabulary:
        return cls(spec, arrays["vocab_features"], arrays["vocab_idf"])
