from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """The gateway holds no database or broker connection: it routes to the services."""

    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    ingest_url: str = Field(default="http://127.0.0.1:8081")
    classifier_url: str = Field(default="http://127.0.0.1:8082")
    insights_url: str = Field(default="http://127.0.0.1:8083")
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
