"""The layers a batch is tagged with: rules, then the model, for one taxonomy version.

A lexicon hit is explicit evidence a moderator can check, so rule tags come first (by
score); the model adds its clause when no rule named it. With neither, the text is
``unclassified``. A declared clause from upstream still wins over both; that decision
belongs to the caller (:mod:`pp_classifier.tagging.service`), which sees the whole event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pp_classifier.tagging.rules import RuleHit, RuleTagger
from pp_classifier.tagging.text import normalise
from pp_classifier.taxonomy.document import Taxonomy
from pp_classifier.training.model import ClauseModel, Prediction
from pp_shared.contracts.events import NO_CLAUSE, NO_MODEL, UNCLASSIFIED, Tag, TagMethod, area_of

MAX_TAGS = 3


class LayeredTagger:
    """Tags texts with a rule layer and an optional model layer for one taxonomy version."""

    def __init__(
        self,
        rules: RuleTagger,
        model: ClauseModel | None = None,
        *,
        clauses: Collection[str] | None = None,
        max_tags: int = MAX_TAGS,
    ) -> None:
        """``clauses`` are the clause ids of the rules' taxonomy. A model trained for another
        taxonomy version may then serve until its successor is trained: its predictions of
        clauses outside ``clauses`` become ``unclassified``."""
        if (
            model is not None
            and model.taxonomy_version != rules.taxonomy_version
            and clauses is None
        ):
            raise ValueError(
                f"model {model.version} was trained for taxonomy {model.taxonomy_version},"
                f" the rules are taxonomy {rules.taxonomy_version}"
            )
        self._clauses = frozenset(clauses) if clauses is not None else None
        self.rules = rules
        self.model = model
        self.max_tags = max_tags
        self.taxonomy_version = rules.taxonomy_version
        self.model_version = model.version if model is not None else NO_MODEL
        self._unclassified = (self._tag(UNCLASSIFIED, TagMethod.NONE, 0.0),)

    def _tag(self, clause_id: str, method: TagMethod, confidence: float) -> Tag:
        return Tag(
            clause_id=clause_id,
            area=area_of(clause_id),
            method=method,
            confidence=round(min(max(confidence, 0.0), 1.0), 4),
            taxonomy_version=self.taxonomy_version,
            model_version=self.model_version,
        )

    def _combine(self, hits: list[RuleHit], prediction: Prediction | None) -> tuple[Tag, ...]:
        return tuple(tag for tag, _ in self._explained(hits, prediction))

    def _explained(
        self, hits: list[RuleHit], prediction: Prediction | None
    ) -> list[tuple[Tag, RuleHit | None]]:
        """The tags, best first, each with the lexicon entry that made it (None for the
        model's tag and for ``unclassified``)."""
        best: dict[str, RuleHit] = {}
        for hit in hits:
            seen = best.get(hit.clause_id)
            if seen is None or hit.score > seen.score:
                best[hit.clause_id] = hit
        # sorted() is stable: equal scores keep the order the clauses appeared in the text.
        ranked = sorted(best.values(), key=lambda hit: -hit.score)
        tags: list[tuple[Tag, RuleHit | None]] = [
            (self._tag(hit.clause_id, TagMethod.RULE, hit.score), hit) for hit in ranked
        ]
        if (
            prediction is not None
            and prediction.clause_id != UNCLASSIFIED
            and prediction.clause_id not in best
            and (self._clauses is None or prediction.clause_id in self._clauses)
        ):
            model_tag = self._tag(prediction.clause_id, TagMethod.MODEL, prediction.confidence)
            tags.append((model_tag, None))
        return tags[: self.max_tags] or [(self._unclassified[0], None)]

    def explain_texts(self, texts: Sequence[str]) -> list[list[tuple[Tag, RuleHit | None]]]:
        """As :meth:`tag_texts`, each tag with the lexicon entry that made it, if a rule did."""
        normalised = [normalise(text) for text in texts]
        predictions = self.model_predictions(texts, normalised)
        return [
            self._explained(self.rules.match_normalised(text), p)
            for text, p in zip(normalised, predictions, strict=True)
        ]

    def tag_texts(self, texts: Sequence[str]) -> list[tuple[Tag, ...]]:
        """The tags of each text, best first; ``unclassified`` when no layer names a clause."""
        normalised = [normalise(text) for text in texts]
        return self.tag_normalised(normalised, self.model_predictions(texts, normalised))

    def model_predictions(
        self, texts: Sequence[str], normalised: Sequence[str]
    ) -> list[Prediction | None]:
        """The model's prediction of each raw text (``normalised``: their normalised forms);
        None without a model, and for a text with nothing left after normalisation ("...",
        emoji only): it has no features, and the model would only repeat its class prior."""
        if self.model is None:
            return [None] * len(normalised)
        predictions = self.model.predict_texts(texts, normalised)
        return [p if text else None for text, p in zip(normalised, predictions, strict=True)]

    def tag_normalised(
        self, normalised: Sequence[str], predictions: Sequence[Prediction | None]
    ) -> list[tuple[Tag, ...]]:
        """The tags of each normalised text with the model's ``predictions`` made already
        (another tagger with the same model may share them)."""
        return [
            self._combine(self.rules.match_normalised(text), p)
            for text, p in zip(normalised, predictions, strict=True)
        ]

    def tag_text(self, text: str) -> tuple[Tag, ...]:
        """The tags of one text, best first."""
        return self.tag_texts([text])[0]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """The first tag of each text as a prediction, for :func:`evaluate`."""
        normalised = [normalise(text) for text in texts]
        hits = [self.rules.match_normalised(text) for text in normalised]
        predictions: Sequence[Prediction | None] = (
            self.model.predict_texts(texts, normalised)
            if self.model is not None
            else [None] * len(texts)
        )
        out: list[Prediction] = []
        for h, p in zip(hits, predictions, strict=True):
            first = self._combine(h, p)[0]
            top_label, top_p = (p.top_label, p.top_probability) if p else (NO_CLAUSE, 1.0)
            out.append(
                Prediction(
                    first.clause_id, first.area, first.confidence, first.method, top_label, top_p
                )
            )
        return out


@dataclass(frozen=True)
class Layers:
    """One consistent pair of rules and model; a batch is tagged with one ``Layers``."""

    taxonomy: Taxonomy
    tagger: LayeredTagger
    lexicon_languages: frozenset[str]


def build_layers(taxonomy: Taxonomy, rules: RuleTagger, model: ClauseModel | None) -> Layers:
    """The layers of ``taxonomy``'s rules and ``model``, which may be of an older taxonomy."""
    languages = frozenset(lang for c in taxonomy.clauses() for lang in c.lexicon)
    tagger = LayeredTagger(rules, model, clauses=taxonomy.clause_ids())
    return Layers(taxonomy, tagger, languages)
