"""The statistics of answers: a rate's confidence interval, the significance of a change
between two periods (for rates and for counts), and the precision answers are rounded to.

Rates use the two-proportion z-test with the pooled proportion (the textbook test of
H0: both periods share one rate). Counts use the difference of Anscombe-transformed Poisson
counts: ``2 * sqrt(c + 3/8)`` has variance close to 1 for any Poisson mean, so
``sqrt(2) * (sqrt(c1 + 3/8) - sqrt(c0 + 3/8))`` is close to standard normal when both periods
share one rate (equal period lengths). Both grow with the sample, unlike a percentage
change: 1 -> 4 escalations scores 1.30, 100 -> 130 scores 1.98.
"""

from __future__ import annotations

import math

ALPHA = 0.05
"""Two-sided significance level of the ``significant`` flags."""
RATE_DIGITS = 6
"""Rates, intervals, z and p are rounded to this many decimals in answers."""
SECONDS_DIGITS = 1
"""Latency quantiles are rounded to this many decimals (seconds) in answers."""


def rounded(value: float | None, digits: int = RATE_DIGITS) -> float | None:
    return None if value is None else round(value, digits)


def two_proportion_z(x1: int, n1: int, x0: int, n0: int) -> float | None:
    """z of ``x1/n1 - x0/n0`` under a pooled proportion; None when a period has no trials.
    Both rates 0 (or both 1) differ by nothing: z is 0."""
    if n1 <= 0 or n0 <= 0:
        return None
    pooled = (x1 + x0) / (n1 + n0)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    if variance <= 0:
        return 0.0
    return (x1 / n1 - x0 / n0) / math.sqrt(variance)


def poisson_z(c1: int, c0: int) -> float:
    """z of a count change between two periods of equal length (Anscombe transform)."""
    return math.sqrt(2) * (math.sqrt(c1 + 0.375) - math.sqrt(c0 + 0.375))


def two_sided_p(z: float) -> float:
    """The two-sided normal p-value of ``z``."""
    return math.erfc(abs(z) / math.sqrt(2))


Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion: honest for small samples and for
    rates near 0 or 1, where the normal approximation collapses to a point."""
    if trials <= 0:
        raise ValueError("a proportion needs at least one trial")
    p = successes / trials
    z2 = z * z
    scale = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / scale
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)
