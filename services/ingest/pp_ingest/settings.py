import secrets

from pydantic import Field, SecretStr

from pp_shared.settings import ServiceSettings


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
    intake_key: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_hex(32)),
        description="Key of the seal on events intake validated (the raw consumer skips "
        "validating them again). Give every ingest replica the same key; unset, each process "
        "draws its own, and sealed events from another process are simply validated again.",
    )
    dsa_import_max_statements: int = Field(
        default=5_000, ge=1, description="Statements of reasons per DSA import request."
    )
