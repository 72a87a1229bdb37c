"""Configuration: every setting comes from a ``PP_*`` environment variable, read once."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/policypulse"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"


class ServiceSettings(BaseSettings):
    """Settings every service shares. Subclasses add their own and set the default port."""

    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, description="PostgreSQL URL (asyncpg form)."
    )
    kafka_bootstrap_servers: str = Field(
        default=DEFAULT_KAFKA_BOOTSTRAP, description="Comma-separated host:port list."
    )
    kafka_idempotent_producer: bool = Field(
        default=False,
        description="Enable Kafka producer idempotence (real Kafka only; tansu rejects it).",
    )
    kafka_partitions: int = Field(default=4, ge=1, description="Partitions for created topics.")
    kafka_session_timeout_ms: int = Field(
        default=10_000,
        ge=1000,
        description="Consumer-group session timeout; a new member's join takes about half of it.",
    )
    kafka_fetch_max_wait_ms: int = Field(
        default=500,
        ge=1,
        description="Longest a consumer's fetch waits on the broker for new records. The "
        "embedded broker does not answer a waiting fetch as records arrive, so on it this "
        "trades latency per consumer hop against CPU per event (smaller, more frequent "
        "batches); Kafka answers as records arrive.",
    )
    topic_prefix: str = Field(default="", description="Namespace prefix for every topic name.")
    log_level: str = Field(default="INFO")
    host: str = Field(default="127.0.0.1")
    db_pool_max: int = Field(default=10, ge=1)
    gateway_secret: SecretStr | None = Field(
        default=None,
        description="Shared with the gateway: the key of the HMAC that signs the caller's "
        "identity on every relayed request. Set, the service answers /v1 requests relayed by "
        "the gateway only; unset, every caller is the internal one (a service's own tests).",
    )
