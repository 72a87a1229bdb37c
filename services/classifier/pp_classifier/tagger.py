"""Tagging in layers: declared > rule > model > ``unclassified``.

A clause declared by the upstream tool wins. Otherwise the text excerpt goes through the
lexicon rules and the model (:class:`~pp_classifier.model.layered.LayeredTagger`); with no
text, or when neither layer names a clause, the escalation is ``unclassified``. Every tag
records the taxonomy and model versions it was made with.
"""

from __future__ import annotations

from collections.abc import Sequence

from pp_classifier.learner import Layers
from pp_classifier.metrics import LANGUAGE_FALLBACK
from pp_shared.events import UNCLASSIFIED, EscalationCreated, Tag, TagMethod, area_of

# Declared tags were made by no model.
NO_MODEL = "none"


def declared(event: EscalationCreated, *, taxonomy_version: str) -> Tag | None:
    """The tag of the clause the upstream tool stated, if any."""
    if not event.suggested_clause_id:
        return None
    return Tag(
        clause_id=event.suggested_clause_id,
        area=area_of(event.suggested_clause_id),
        method=TagMethod.DECLARED,
        confidence=1.0,
        taxonomy_version=taxonomy_version,
        model_version=NO_MODEL,
    )


def unclassified(*, taxonomy_version: str, model_version: str = NO_MODEL) -> Tag:
    return Tag(
        clause_id=UNCLASSIFIED,
        area=UNCLASSIFIED,
        method=TagMethod.NONE,
        confidence=0.0,
        taxonomy_version=taxonomy_version,
        model_version=model_version,
    )


def language_covered(language: str, layers: Layers) -> bool:
    """Whether a lexicon exists for the primary subtag of a BCP 47 tag ("pt-BR" -> "pt")."""
    return language.split("-", 1)[0].lower() in layers.lexicon_languages


def tag_escalations(
    events: Sequence[EscalationCreated], *, layers: Layers
) -> list[tuple[Tag, ...]]:
    """The tags of each escalation, best first, in order (the model runs once per batch)."""
    version = layers.taxonomy.version
    out: list[tuple[Tag, ...] | None] = []
    pending: list[int] = []
    for i, event in enumerate(events):
        stated = declared(event, taxonomy_version=version)
        if stated is not None:
            out.append((stated,))
        elif event.text_excerpt and event.text_excerpt.strip():
            out.append(None)
            pending.append(i)
            if not language_covered(event.language, layers):
                LANGUAGE_FALLBACK.inc()
        else:
            out.append(
                (unclassified(taxonomy_version=version, model_version=layers.tagger.model_version),)
            )
    if pending:
        texts = [events[i].text_excerpt or "" for i in pending]
        for i, tags in zip(pending, layers.tagger.tag_texts(texts), strict=True):
            out[i] = tags if language_covered(events[i].language, layers) else _fallback(tags)
    return [tags or () for tags in out]


def _fallback(tags: tuple[Tag, ...]) -> tuple[Tag, ...]:
    """Model tags of a text in a language without lexicon say so in their method."""
    return tuple(
        t.model_copy(update={"method": TagMethod.MODEL_FALLBACK})
        if t.method is TagMethod.MODEL
        else t
        for t in tags
    )
