"""The statistics of answers: the Wilson interval of a rate."""

from __future__ import annotations

import pytest

from pp_insights.queries.stats import wilson_interval


class TestWilsonInterval:
    @pytest.mark.parametrize(
        ("successes", "trials", "low", "high"),
        [
            (8, 10, 0.4902, 0.9433),
            (0, 10, 0.0, 0.2775),
            (10, 10, 0.7225, 1.0),
            (1, 2, 0.0945, 0.9055),
            (50, 100, 0.4038, 0.5962),
            (1, 1000, 0.0002, 0.0056),
        ],
    )
    def test_known_values(self, successes: int, trials: int, low: float, high: float) -> None:
        got = wilson_interval(successes, trials)
        assert (round(got[0], 4), round(got[1], 4)) == (low, high)

    def test_needs_a_trial(self) -> None:
        with pytest.raises(ValueError, match="at least one trial"):
            wilson_interval(0, 0)
