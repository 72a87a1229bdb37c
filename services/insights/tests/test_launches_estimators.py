"""The estimators on series drawn from known distributions: intervals cover an injected
effect and the tests keep their size when there is none (pure functions, many seeds)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from pp_insights.launches.estimators import (
    Series,
    difference_in_differences,
    interrupted_time_series,
    newey_west_lags,
)
from pp_insights.queries.stats import wilson_interval

DAYS = 28


def _series(rng: np.random.Generator, n: int, before: float, after: float) -> Series:
    t = np.arange(-DAYS, DAYS)
    share = np.where(t >= 0, after, before)
    values = rng.binomial(n, share) / n
    return Series(t.astype(np.float64), values.astype(np.float64), np.full(len(t), n * 1.0), t >= 0)


def _draw(seed: int, effect: float) -> tuple[Series, Series]:
    rng = np.random.default_rng(seed)
    return _series(rng, 30, 0.3, 0.3 + effect), _series(rng, 90, 0.3, 0.3)


class TestFalsePositiveRate:
    def test_no_effect_is_significant_in_about_5_percent_of_1000_seeds(self) -> None:
        # Measured: 52 (DiD) and 47 (ITS) of 1000; a test of size 5% gives 50 +- 7.
        did = its = 0
        for seed in range(1000):
            treated, control = _draw(seed, 0.0)
            d = difference_in_differences(treated, control)
            i = interrupted_time_series(treated, first_after=0)
            assert d is not None
            assert i is not None
            did += d.significant
            its += i.level_change.significant
        assert (did, its) == (52, 47)


class TestCoverage:
    def test_a_halved_share_is_covered_and_significant_in_most_seeds(self) -> None:
        covered = significant = 0
        for seed in range(100):
            treated, control = _draw(seed, -0.15)
            for e in (
                difference_in_differences(treated, control),
                interrupted_time_series(treated, first_after=0).level_change,  # type: ignore[union-attr]
            ):
                assert e is not None
                covered += e.ci_low <= -0.15 <= e.ci_high
                significant += e.significant
        assert covered >= 180, covered
        assert significant >= 190, significant


class TestEdges:
    def test_too_few_buckets_give_no_estimate(self) -> None:
        short = Series.of(
            [-2, -1, 0, 1], [0.1, 0.2, 0.1, 0.2], [10] * 4, [False, False, True, True]
        )
        assert interrupted_time_series(short, first_after=0) is None
        alone = Series.of([-1, 0], [0.1, 0.2], [10, 10], [False, True])
        assert difference_in_differences(alone, alone) is None

    def test_newey_west_lags(self) -> None:
        assert [newey_west_lags(n) for n in (8, 56, 100, 400)] == [2, 3, 4, 5]


class TestWilson:
    @pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (1, 1000), (517, 1680)])
    def test_the_answers_interval_is_statsmodels(self, x: int, n: int) -> None:
        low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert wilson_interval(x, n) == pytest.approx((low, high), abs=1e-12)
