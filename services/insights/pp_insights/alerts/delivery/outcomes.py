"""What one delivery attempt came to, and how HTTP answers map to it: delivered, retried
later (connection errors, timeouts, 408, 5xx, 429 with its ``Retry-After``) or failed for
good (other 4xx: a revoked Slack webhook answers 404)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

from pp_insights.alerts.documents import DeliveryProgress

MAX_RETRY_AFTER = 3600.0


@dataclass
class Outcome:
    """The result of one delivery attempt."""

    delivered: bool
    permanent: bool = False
    status_code: int | None = None
    error: str | None = None
    reason: str | None = None
    """Metrics label of a failure: config, unreachable, http_4xx, http_5xx, rate_limited,
    slack_error."""
    retry_after: float | None = None
    progress: DeliveryProgress = field(default_factory=DeliveryProgress)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), capped at an hour."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def header(headers: Mapping[str, object] | None, name: str) -> str | None:
    """A header of a client's answer, by name in any case (the first, when listed)."""
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def http_outcome(status: int, retry_after: str | None, now: datetime) -> Outcome:
    if 200 <= status < 300:
        return Outcome(True, status_code=status)
    if status == 429:
        return Outcome(
            False,
            status_code=status,
            error="HTTP 429",
            reason="rate_limited",
            retry_after=retry_after_seconds(retry_after, now),
        )
    if status == 408 or status >= 500:
        return Outcome(False, status_code=status, error=f"HTTP {status}", reason="http_5xx")
    # Redirects are never followed (they could lead to an address outside the allowlist).
    return Outcome(
        False, permanent=True, status_code=status, error=f"HTTP {status}", reason="http_4xx"
    )
