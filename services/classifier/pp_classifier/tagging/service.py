"""Tagging escalations in layers: declared > rule > model > ``unclassified``.

A clause declared by the upstream tool wins. Otherwise the text excerpt goes through the
lexicon rules and the model (:class:`~pp_classifier.tagging.layers.LayeredTagger`); with no
text, or when neither layer names a clause, the escalation is ``unclassified``. Every tag
records the taxonomy and model versions it was made with.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from pp_classifier.metrics import LANGUAGE_FALLBACK
from pp_classifier.tagging import repository
from pp_classifier.tagging.layers import Layers
from pp_shared.contracts.events import (
    NO_MODEL,
    UNCLASSIFIED,
    EscalationCreated,
    Tag,
    TagMethod,
    area_of,
)

log = logging.getLogger(__name__)


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


def tag_safely(
    escalations: Sequence[EscalationCreated], *, layers: Layers
) -> list[tuple[Tag, ...]]:
    """Tags for every escalation even if a layer fails: a failing batch is retried one event
    at a time, and an event that still fails is ``unclassified`` (and logged)."""
    try:
        return tag_escalations(escalations, layers=layers)
    except Exception:
        log.exception("batch tagging failed; tagging one escalation at a time")
    out: list[tuple[Tag, ...]] = []
    for event in escalations:
        try:
            out.append(tag_escalations([event], layers=layers)[0])
        except Exception:
            log.exception("tagging failed", extra={"event_id": event.event_id})
            out.append((unclassified(taxonomy_version=layers.taxonomy.version),))
    return out


async def store_tags(
    conn: asyncpg.Connection,
    escalations: Sequence[EscalationCreated],
    tagged: Sequence[tuple[Tag, ...]],
) -> dict[str, tuple[Tag, ...]]:
    """Store each escalation event's tags unless it has some already; return the tags on
    record by event id, so a redelivered event keeps the tags it was first given."""
    fresh = {
        e.event_id: (e.escalation_id, [t.model_dump(mode="json") for t in tags])
        for e, tags in zip(escalations, tagged, strict=True)
    }
    on_record = await repository.store_tags(
        conn, [(eid, esc, tags) for eid, (esc, tags) in fresh.items()]
    )
    return {
        event_id: tuple(Tag.model_validate(t) for t in tags) for event_id, tags in on_record.items()
    }
