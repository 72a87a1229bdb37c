"""Tags on request (``POST /v1/tag``): a text or a small batch, each tag with what made it.

Nothing is stored and nothing is logged: the texts come from upstream tools and the console,
and the answer names the lexicon entry (a placeholder for a restricted term, never the
word) or the model version behind each tag.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pp_classifier.tagging.layers import Layers
from pp_classifier.tagging.rules import RuleHit
from pp_classifier.tagging.service import language_covered
from pp_classifier.tagging.text import MAX_TEXT_CHARS
from pp_shared.contracts.events import NO_MODEL, Tag, TagMethod

MAX_TEXTS = 100

TagText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class TagRequest(BaseModel):
    """Texts to tag, with the language they are written in (BCP 47) if known."""

    model_config = ConfigDict(extra="forbid")

    texts: list[TagText] = Field(
        min_length=1,
        max_length=MAX_TEXTS,
        description=f"1 to {MAX_TEXTS} texts of up to {MAX_TEXT_CHARS:,} characters.",
    )
    language: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] = (
        Field(
            default="en",
            description="BCP 47; a language without lexicon makes model tags model_fallback.",
        )
    )


class LexiconEntry(BaseModel):
    """The lexicon entry a rule tag came from: a term, or a restricted list's placeholder."""

    term: str
    language: str


class ExplainedTag(BaseModel):
    clause_id: str = Field(description="A clause id, or 'unclassified'.")
    area: str
    method: TagMethod
    confidence: float
    lexicon: LexiconEntry | None = Field(
        default=None, description="For a rule tag: the lexicon entry that matched."
    )
    model_version: str | None = Field(
        default=None, description="For a model tag: the model that made it."
    )


class TextTags(BaseModel):
    index: int = Field(description="The text's position in the request, from 0.")
    tags: list[ExplainedTag] = Field(description="Best first; 'unclassified' alone if none.")


class TagResponse(BaseModel):
    taxonomy_version: str
    model_version: str = Field(description=f"The model of this replica, or '{NO_MODEL}'.")
    results: list[TextTags]


def _explained(tag: Tag, hit: RuleHit | None, fallback: bool) -> ExplainedTag:
    method = tag.method
    if method is TagMethod.MODEL and fallback:
        method = TagMethod.MODEL_FALLBACK
    model = method in (TagMethod.MODEL, TagMethod.MODEL_FALLBACK)
    return ExplainedTag(
        clause_id=tag.clause_id,
        area=tag.area,
        method=method,
        confidence=tag.confidence,
        lexicon=LexiconEntry(term=hit.term, language=hit.language) if hit else None,
        model_version=tag.model_version if model else None,
    )


def tag_request(request: TagRequest, *, layers: Layers) -> TagResponse:
    """The tags of each text of ``request`` (CPU-bound: the caller runs it in a thread)."""
    fallback = not language_covered(request.language, layers)
    explained = layers.tagger.explain_texts(request.texts)
    return TagResponse(
        taxonomy_version=layers.taxonomy.version,
        model_version=layers.tagger.model_version,
        results=[
            TextTags(index=i, tags=[_explained(tag, hit, fallback) for tag, hit in tags])
            for i, tags in enumerate(explained)
        ],
    )
