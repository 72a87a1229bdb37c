from __future__ import annotations

import math
import random

import pytest

from pp_insights.metrics_def import (
    LATENCY_HISTOGRAM,
    METRICS,
    CountMetric,
    LogHistogram,
    QuantileMetric,
    RateMetric,
    RollupCounter,
)


class TestLogHistogram:
    def test_bins_cover_one_second_to_over_thirty_days(self) -> None:
        h = LATENCY_HISTOGRAM
        assert h.bins == 69
        assert h.edges[0] == 1.0
        assert h.edges[-2] < 30 * 86400 <= h.edges[-1]
        assert all(math.isclose(b / a, 1.25) for a, b in zip(h.edges, h.edges[1:], strict=False))

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(-5.0, 0), (0.0, 0), (0.99, 0), (1.0, 1), (1.2, 1), (1.25, 2), (100.0, 21), (1e12, 68)],
    )
    def test_bin_of_matches_width_bucket(self, value: float, expected: int) -> None:
        assert LATENCY_HISTOGRAM.bin_of(value) == expected

    def test_quantiles_interpolate_geometrically(self) -> None:
        h = LogHistogram(first=1.0, ratio=2.0, edge_count=4)  # bins [0,1) [1,2) [2,4) [4,8) [8,inf)
        assert h.quantile([0, 0, 0, 0, 0], 0.5) is None
        assert h.quantile([2, 0, 0, 0, 0], 0.5) == 0.5
        assert h.quantile([0, 0, 4, 0, 0], 0.5) == 2 * math.sqrt(2)
        assert h.quantile([0, 1, 0, 1, 0], 0.5) == 2.0
        assert h.quantile([0, 1, 0, 1, 0], 0.75) == 4 * math.sqrt(2)
        assert h.quantile([0, 0, 0, 0, 3], 0.9) == 8.0

    def test_large_samples_are_within_five_percent(self) -> None:
        rng = random.Random(20261120)
        values = sorted(rng.lognormvariate(8, 1.5) for _ in range(5000))
        counts = [0] * LATENCY_HISTOGRAM.bins
        for v in values:
            counts[LATENCY_HISTOGRAM.bin_of(v)] += 1
        for q in (0.5, 0.9):
            estimate = LATENCY_HISTOGRAM.quantile(counts, q)
            assert estimate is not None
            exact = values[math.ceil(q * len(values)) - 1]
            assert abs(estimate / exact - 1) < 0.05


class TestCatalogue:
    def test_every_domain_metric_once(self) -> None:
        assert list(METRICS) == [
            "volume",
            "policy_unclear_share",
            "overturn_rate",
            "qa_disagreement_rate",
            "decision_latency",
            "tagging_agreement",
        ]

    def test_rates_are_numerators_over_denominators(self) -> None:
        rates = {
            m.name: (m.numerator, m.denominator)
            for m in METRICS.values()
            if isinstance(m, RateMetric)
        }
        assert rates == {
            "policy_unclear_share": (RollupCounter.POLICY_UNCLEAR, RollupCounter.VOLUME),
            "overturn_rate": (RollupCounter.APPEALS_OVERTURNED, RollupCounter.APPEALS_RESOLVED),
            "qa_disagreement_rate": (RollupCounter.QA_DISAGREEMENTS, RollupCounter.QA_REVIEWS),
            "tagging_agreement": (RollupCounter.TAG_AGREED, RollupCounter.DECIDED),
        }
        assert isinstance(METRICS["volume"], CountMetric)
        latency = METRICS["decision_latency"]
        assert isinstance(latency, QuantileMetric)
        assert (latency.quantiles, latency.sample) == ((0.5, 0.9), RollupCounter.DECIDED)
