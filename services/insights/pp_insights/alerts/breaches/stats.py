"""One-sided tests for rules: binomial for rates against a baseline rate, Poisson for counts
against a seasonal mean. Exact tails (scipy), because alerting samples are small."""

from __future__ import annotations

from typing import Protocol, cast

from scipy import stats as _stats


class _Discrete(Protocol):
    def sf(self, k: float, *args: float) -> float: ...
    def cdf(self, k: float, *args: float) -> float: ...


_binom = cast(_Discrete, _stats.binom)
_poisson = cast(_Discrete, _stats.poisson)

SEASONAL_PRIOR = 0.5
"""Added to the summed baseline counts before averaging: a clause that had no escalation in
four past weeks has an expected count above 0, so a single escalation is not 'infinitely'
surprising."""


def binomial_p(successes: int, trials: int, rate: float, *, rising: bool) -> float:
    """P(X >= successes) (rising) or P(X <= successes) under Binomial(trials, rate)."""
    if trials <= 0:
        return 1.0
    if rising:
        return float(_binom.sf(successes - 1, trials, rate))
    return float(_binom.cdf(successes, trials, rate))


def seasonal_mean(counts: list[int]) -> float:
    """The expected count from the same window in past seasons."""
    return (sum(counts) + SEASONAL_PRIOR) / max(1, len(counts))


def poisson_p(count: int, mean: float, *, rising: bool) -> float:
    """P(X >= count) (rising) or P(X <= count) under Poisson(mean)."""
    if rising:
        return float(_poisson.sf(count - 1, mean))
    return float(_poisson.cdf(count, mean))
