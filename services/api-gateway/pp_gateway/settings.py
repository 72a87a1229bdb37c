from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pp_shared.settings import DEFAULT_DATABASE_URL


class GatewaySettings(BaseSettings):
    """The gateway routes to the services; its database holds API keys and the audit log
    (schema ``gateway``)."""

    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="PostgreSQL URL.")
    ingest_url: str = Field(default="http://127.0.0.1:8081")
    classifier_url: str = Field(default="http://127.0.0.1:8082")
    insights_url: str = Field(default="http://127.0.0.1:8083")
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    gateway_secret: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC that signs the caller's identity on relayed requests; "
        "the services hold the same (PP_GATEWAY_SECRET).",
    )
    gateway_auth: Literal["required", "off"] = Field(
        default="required",
        description="'off' lets every request through as an administrator: only to measure "
        "what authentication costs, never to serve.",
    )
    rate_limit_scale: float = Field(
        default=1.0, gt=0, description="Multiplies every role's rate limit and burst."
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open a service's breaker."
    )
    breaker_cooldown_seconds: float = Field(
        default=10.0, gt=0, description="How long an open breaker answers 503 at once."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (CORS); none by default.",
    )
    console_secure_cookies: bool = Field(
        default=False,
        description="Mark the console's cookies Secure even when the request came over plain "
        "HTTP (behind a proxy that ends TLS); requests over https get Secure cookies anyway.",
    )
