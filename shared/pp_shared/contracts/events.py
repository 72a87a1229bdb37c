"""The wire format of DOMAIN.md as pydantic models: the public contract for upstream tools.

Field names are fixed. Consumers ignore unknown fields; a breaking change is a new
``schema_version`` and a new topic version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

SCHEMA_VERSION = 1
CLAUSE_ID_PATTERN = r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*$"
AREAS = ("HATE", "VBDA", "HEX", "INA")
UNCLASSIFIED = "unclassified"
NO_CLAUSE = "none"
"""The answer "no clause applies": the label of a decision that found no violation, the class
the classifier's model learns it as, and the expected answer of such a case in a labelled set."""
NO_MODEL = "none"
"""The ``model_version`` of a tag made with no model: a declared tag, or any tag while the
classifier's model layer is off."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone, e.g. 2026-11-20T10:15:00Z")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
# What ingest refuses in any string field (Unicode Cc, pp_ingest's validation), stated for
# producers in the JSON Schemas; the models leave it to ingest, which names the character.
_NO_CONTROLS = {"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"}
_NO_CONTROLS_BUT_BREAKS = {
    "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
}
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(json_schema_extra=_NO_CONTROLS),
]
ClauseId = Annotated[str, StringConstraints(max_length=128, pattern=CLAUSE_ID_PATTERN)]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Language = Annotated[
    str, StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
]
Token = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=128), Field(json_schema_extra=_NO_CONTROLS)
]


class EventType(StrEnum):
    ESCALATION_CREATED = "escalation.created"
    DECISION_MADE = "decision.made"
    APPEAL_RESOLVED = "appeal.resolved"
    QA_REVIEWED = "qa.reviewed"


class EscalationReason(StrEnum):
    POLICY_UNCLEAR = "policy_unclear"
    HIGH_SEVERITY = "high_severity"
    NOVEL_TREND = "novel_trend"
    LEGAL_REQUEST = "legal_request"
    PRESS_OR_PUBLIC = "press_or_public"
    OTHER = "other"


class ReporterType(StrEnum):
    USER_REPORT = "user_report"
    AUTOMATED_DETECTION = "automated_detection"
    MODERATOR = "moderator"
    TRUSTED_FLAGGER = "trusted_flagger"


class Tier(StrEnum):
    FRONTLINE = "frontline"
    ESCALATION = "escalation"
    POLICY_EXPERT = "policy_expert"
    QA = "qa"


class Action(StrEnum):
    REMOVE = "remove"
    RESTRICT = "restrict"
    AGE_GATE = "age_gate"
    LABEL = "label"
    NO_VIOLATION = "no_violation"
    ACCOUNT_STRIKE = "account_strike"
    ACCOUNT_BAN = "account_ban"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    PARTIALLY_OVERTURNED = "partially_overturned"


class _Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)

    event_id: Id = Field(description="Idempotency key: the same id is accepted once.")
    schema_version: Literal[1] = Field(description="Version of this wire format.")
    occurred_at: AwareDatetime = Field(description="When it happened, with a time zone (RFC 3339).")
    source: ShortText = Field(description="Which upstream tool sent the event.")
    escalation_id: Id = Field(description="Shared by all events of one escalation; the Kafka key.")


class EscalationCreated(_Event):
    """A piece of content was escalated beyond front-line review."""

    event_type: Literal["escalation.created"]
    content_id: Id = Field(description="Opaque content identifier.")
    content_type: Token = Field(description="e.g. video, image, text, audio, account.")
    product_feature: Token = Field(
        description="video, live, comments, direct_messages, profile, ads (extendable)."
    )
    region: Region = Field(description="ISO 3166-1 alpha-2 country code.")
    language: Language = Field(description="BCP 47 language tag.")
    queue: ShortText | None = None
    escalation_reason: EscalationReason
    reporter_type: ReporterType
    severity: Annotated[int, Field(ge=1, le=4)] | None = Field(
        default=None, description="1 (low) to 4 (critical)."
    )
    text_excerpt: (
        Annotated[
            str,
            StringConstraints(max_length=10_000),
            Field(json_schema_extra=_NO_CONTROLS_BUT_BREAKS),
        ]
        | None
    ) = None
    suggested_clause_id: ClauseId | None = None


class DecisionMade(_Event):
    """A moderator (or policy expert) decided."""

    event_type: Literal["decision.made"]
    decision_id: Id
    moderator_id: Id = Field(description="Pseudonymous moderator id.")
    tier: Tier
    action: Action
    clause_id: ClauseId | None = Field(
        default=None, description="Clause applied; absent for no_violation."
    )


class AppealResolved(_Event):
    """An appeal of a decision was resolved."""

    event_type: Literal["appeal.resolved"]
    appeal_id: Id
    decision_id: Id
    outcome: AppealOutcome


class QaReviewed(_Event):
    """A quality reviewer checked a decision."""

    event_type: Literal["qa.reviewed"]
    decision_id: Id
    reviewer_id: Id
    agrees: bool
    correct_clause_id: ClauseId | None = None


Event = Annotated[
    EscalationCreated | DecisionMade | AppealResolved | QaReviewed,
    Field(discriminator="event_type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_MODELS: dict[str, type[_Event]] = {
    EventType.ESCALATION_CREATED.value: EscalationCreated,
    EventType.DECISION_MADE.value: DecisionMade,
    EventType.APPEAL_RESOLVED.value: AppealResolved,
    EventType.QA_REVIEWED.value: QaReviewed,
}


def parse_event(data: bytes | str) -> Event:
    """Validate one JSON-encoded event; raises pydantic.ValidationError."""
    return EVENT_ADAPTER.validate_json(data)


def area_of(clause_id: str) -> str:
    """The policy area a clause id belongs to (its first segment), or ``unclassified``."""
    head = clause_id.split(".", 1)[0]
    return head if head in AREAS else UNCLASSIFIED


class TagMethod(StrEnum):
    DECLARED = "declared"
    RULE = "rule"
    MODEL = "model"
    MODEL_FALLBACK = "model_fallback"
    """The model, for a language no clause has a lexicon in: the rules could not judge it."""
    NONE = "none"


class Tag(BaseModel):
    """One policy-clause tag the classifier attached to an escalation."""

    model_config = ConfigDict(frozen=True)

    clause_id: str = Field(description="A clause id, or 'unclassified'.")
    area: str = Field(description="HATE, VBDA, HEX, INA, or 'unclassified'.")
    method: TagMethod
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    taxonomy_version: str
    model_version: str


class TaggedEvent(BaseModel):
    """A validated event as the classifier publishes it; ``tags`` is empty but for escalations."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event: Event
    tags: tuple[Tag, ...] = ()


class TaxonomyPublished(BaseModel):
    """A taxonomy version the classifier stored, as announced on ``pp.taxonomy.published.v1``
    (the version is the Kafka key). Announced at least once: a consumer keys what it does by
    ``version``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: str
    previous_version: str | None = Field(
        description="The latest version before this one; None for the first taxonomy."
    )
    stored_at: AwareDatetime = Field(description="When classifiers began switching to it.")
    published_by: str
    description: str = ""
    changed_clause_ids: tuple[str, ...] = Field(
        description="Clauses added, removed, or whose title, description, examples or lexicon"
        " changed since ``previous_version``, sorted."
    )
