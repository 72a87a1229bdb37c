import secrets

from pydantic import Field, SecretStr

from pp_shared.settings import ServiceSettings

DSA_IMPORT_MAX_STATEMENTS = 5_000
DSA_CSV_MAX_FIELD_CHARS = 64 * 1024
"""The longest CSV field a DSA import reads, in characters. The longest legitimate field of
a statement of reasons is ``decision_facts`` at 5,000 characters (the explanations hold 2,000,
the other texts 500; an array cell naming every DSA keyword, legacy ones included, is about
2,600), so 64 KiB is thirteen times anything valid: a longer field is not a statement with a
typo but a broken or hostile file, and is refused before it is held or validated. The bound
can be lowered to 5,000 and cannot exceed 131,072, the csv module's own limit, which applies
to every reader in the process and is left alone."""


class IngestSettings(ServiceSettings):
    port: int = 8081
    produce_timeout_seconds: float = Field(
        default=1.5, gt=0, description="Longest wait for the broker's ack before answering 503."
    )
    batch_produce_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for the broker's acks of one batch request (or replay).",
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After on a 503.")
    max_future_skew_seconds: int = Field(
        default=300, ge=0, description="How far in the future an occurred_at may lie."
    )
    max_event_age_days: int = Field(
        default=1096,
        ge=1,
        le=700_000,
        description="How far in the past an occurred_at may lie (three years by default, "
        "which covers the EU DSA Transparency Database since it opened).",
    )
    batch_max_events: int = Field(default=10_000, ge=1, description="Events per batch request.")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest request body ingest reads."
    )
    dedupe_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Longest wait for the duplicate lookup; past it, intake goes on without it.",
    )
    recent_events_max: int = Field(
        default=100_000,
        ge=0,
        le=10_000_000,
        description="Event ids this process remembers having accepted (with their body hash), "
        "to answer a re-send still in flight as duplicate or conflict; 0 turns the record off.",
    )
    recent_events_seconds: float = Field(
        default=600.0,
        gt=0,
        description="How long an accepted event id stays in that record.",
    )
    intake_key: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_hex(32)),
        description="Key of the seal on events intake validated (the raw consumer skips "
        "validating them again). Give every ingest replica the same key; unset, each process "
        "draws its own, and sealed events from another process are simply validated again.",
    )
    dsa_import_max_statements: int = Field(
        default=DSA_IMPORT_MAX_STATEMENTS,
        ge=1,
        description="Statements of reasons per DSA import request.",
    )
    dsa_csv_max_field_chars: int = Field(
        default=DSA_CSV_MAX_FIELD_CHARS,
        ge=5_000,
        le=131_072,
        description="Longest field of a DSA CSV import, in characters; a longer one is a 422.",
    )
