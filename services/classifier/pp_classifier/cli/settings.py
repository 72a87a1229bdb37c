"""What the command line reads from the environment (imported when a command runs)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore")

    api_url: str = "http://127.0.0.1:8080"
