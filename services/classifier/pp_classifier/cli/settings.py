"""What the command line reads from the environment (imported when a command runs)."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore")

    api_url: str = "http://127.0.0.1:8080"
    api_key: SecretStr | None = Field(
        default=None,
        description="An API key, sent as Authorization: Bearer to the gateway (PP_API_KEY). "
        "Without one, the commands reach a service that has no gateway secret (development).",
    )
