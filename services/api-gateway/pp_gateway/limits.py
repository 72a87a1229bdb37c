"""Per-key rate limits (token buckets) and a circuit breaker per upstream service.

Both live in the gateway process: with several gateway replicas, each enforces its own share
(a key's limit is per replica).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pp_gateway.access import Role

RATES: dict[str, tuple[float, float]] = {
    Role.INGEST: (2_000.0, 4_000.0),
    Role.ANALYST: (20.0, 60.0),
    Role.POLICY_ADMIN: (20.0, 60.0),
    Role.CALIBRATION_LEAD: (20.0, 60.0),
    Role.ADMIN: (50.0, 200.0),
}
"""Requests per second and burst, by role: upstream tools send events in volume; people and
dashboards do not."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """One token bucket per key prefix, refilled at the role's rate up to its burst."""

    def __init__(self, *, scale: float = 1.0) -> None:
        self.scale = scale
        self._buckets: dict[str, _Bucket] = {}

    def take(self, prefix: str, role: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until a token is back."""
        rate, burst = RATES.get(role, (1.0, 1.0))
        rate, burst = rate * self.scale, burst * self.scale
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(prefix)
        if bucket is None:
            bucket = self._buckets[prefix] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate


@dataclass(slots=True)
class Breaker:
    """Opens after ``threshold`` consecutive failures (no answer, or a timeout) and answers
    503 at once for ``cooldown`` seconds; then lets one request through to try, closing on
    its success and opening again on its failure."""

    threshold: int = 5
    cooldown: float = 10.0
    failures: int = 0
    opened_at: float | None = None
    trying: bool = False

    def allow(self, now: float | None = None) -> float:
        """0 when a request may go upstream, else seconds until the breaker tries again."""
        if self.opened_at is None:
            return 0.0
        now = time.monotonic() if now is None else now
        left = self.opened_at + self.cooldown - now
        if left > 0:
            return left
        if self.trying:
            return 1.0
        self.trying = True
        return 0.0

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trying = False

    def failed(self, now: float | None = None) -> None:
        self.failures += 1
        if self.trying or self.failures >= self.threshold:
            self.opened_at = time.monotonic() if now is None else now
            self.trying = False
