"""Alert settings: fields the insights settings class inherits (``PP_ALERT_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertSettings(BaseSettings):
    """Threshold rules, evaluation, and delivery of breach notifications."""

    model_config = SettingsConfigDict(env_prefix="PP_", extra="ignore", frozen=True)

    alert_rules_file: Path | None = Field(
        default=None,
        description=(
            "YAML or JSON list of rules created at start when missing (and updated while"
            " nobody changed them through the API)."
        ),
    )
    alert_evaluation_interval_seconds: float = Field(
        default=60, gt=0, description="How often every enabled rule is evaluated."
    )
    alert_sender_interval_seconds: float = Field(
        default=1, gt=0, description="How often the sender looks for due outbox rows."
    )
    alert_webhook_allowed_hosts: list[str] = Field(
        default=["hooks.slack.com"],
        description=(
            "Hosts that Slack and JSON webhook URLs may name: exact names, or '*.example.com'"
            " for subdomains. Anything else is refused, at validation and at send time."
        ),
    )
    alert_webhook_allow_http: bool = Field(
        default=False, description="Allow plain http:// webhook URLs (local receivers only)."
    )
    alert_webhook_allow_private_addresses: bool = Field(
        default=False,
        description=(
            "Allow allowlisted host names that resolve to loopback, private or link-local"
            " addresses (an IP address named in the allowlist is always allowed)."
        ),
    )
    alert_webhook_signing_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC-SHA256 key of JSON webhook signatures; empty sends them unsigned.",
    )
    alert_slack_bot_token: SecretStr = Field(
        default=SecretStr(""), description="Slack bot token for slack_api channels."
    )
    alert_slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL."
    )
    alert_http_timeout_seconds: float = Field(
        default=10, gt=0, description="Timeout of one delivery request."
    )
    alert_retry_base_seconds: float = Field(
        default=5, gt=0, description="First retry delay; doubles with every failed attempt."
    )
    alert_retry_max_seconds: float = Field(
        default=300, gt=0, description="Longest delay between two attempts (Retry-After aside)."
    )
    alert_retry_jitter: float = Field(
        default=0.2, ge=0, le=1, description="Each delay grows by a random share up to this."
    )
    alert_link_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Public base URL of the console (the gateway), for the drill-down and "
        "breach pages that messages link to.",
    )
