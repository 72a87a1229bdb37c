"""The agreement statistics of calibration: exact values on designs computed by hand, and
the two formulas written in ``stats`` (percent agreement, alpha over resamples) held equal
to brute force and to the ``krippendorff`` library."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from pp_insights.calibration import stats


def counts(*rows: list[int]) -> stats.Counts:
    return np.array(rows, dtype=np.int64)


# Three raters, three cases: X X X / X X Y / Y Y Y.
BALANCED = counts([3, 0], [2, 1], [0, 3])


class TestHandComputed:
    def test_balanced(self) -> None:
        # n = 9, n_X = 5, n_Y = 4; one case with 2 disagreeing pairs: 1 - 8 * 2 / (81 - 41).
        assert stats.alpha(BALANCED) == pytest.approx(0.6, abs=1e-12)
        # Mean P = 7/9, P_e = 41/81: (63 - 41) / (81 - 41).
        assert stats.fleiss_kappa(BALANCED) == pytest.approx(0.55, abs=1e-12)
        assert stats.percent_agreement(BALANCED) == pytest.approx(7 / 9, abs=1e-12)

    def test_missing_answers_and_a_lone_answer(self) -> None:
        design = counts([2, 0], [1, 2], [0, 1], [3, 0])
        assert stats.alpha(design) == pytest.approx(5 / 12, abs=1e-12)
        assert stats.fleiss_kappa(design) is None
        assert stats.percent_agreement(design) == pytest.approx(10 / 14, abs=1e-12)

    def test_undefined(self) -> None:
        assert stats.alpha(counts([3, 0], [2, 0])) is None  # one label only
        assert stats.alpha(counts([1, 0], [0, 1])) is None  # no case with two answers
        assert stats.percent_agreement(counts([1, 0])) is None
        assert stats.bootstrap_alpha(counts([1, 0])) is None
        assert stats.wilson(0, 0) is None
        assert stats.cohens_kappa(np.array([[4, 0], [0, 0]])) is None
        assert stats.proportion_change((1, 2), (0, 0)) is None

    def test_wilson(self) -> None:
        interval = stats.wilson(2, 4)
        assert interval is not None
        z = 1.959963984540054
        half = z * np.sqrt(0.25 / 4 + z * z / 64) / (1 + z * z / 4)
        assert (interval.low, interval.high) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)

    def test_cohens_kappa(self) -> None:
        table = np.array([[20, 5], [10, 15]])
        # p_o = 35/50, p_e = (25 * 30 + 25 * 20) / 2500 = 1/2: kappa 0.4.
        kappa = stats.cohens_kappa(table)
        assert kappa is not None
        assert kappa.value == pytest.approx(0.4, abs=1e-12)
        reference = cohens_kappa(table)
        assert (kappa.interval.low, kappa.interval.high) == pytest.approx(
            (reference.kappa_low, reference.kappa_upp), abs=1e-12
        )

    def test_cohens_kappa_equals_statsmodels_on_random_tables(self) -> None:
        # The formulas are statsmodels' (its results object left out): equal on 500 tables of
        # 2 to 6 labels, sparse and dense, perfect agreement and worse than chance among them.
        rng = np.random.default_rng(3)
        compared = 0
        for size in range(2, 7):
            for _ in range(100):
                table = rng.poisson(rng.uniform(0.2, 20), size=(size, size))
                table[rng.random((size, size)) < 0.3] = 0
                if rng.random() < 0.1:
                    table = np.diag(np.diag(table))
                ours = stats.cohens_kappa(table)
                if ours is None:
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    reference = cohens_kappa(table)
                assert ours.value == pytest.approx(float(reference.kappa), abs=1e-12)
                low = float(reference.kappa_low)
                high = float(reference.kappa_upp)
                if not np.isfinite(low):  # a variance of zero rounded below it
                    low = high = float(reference.kappa)
                # A variance of zero may round to +-1e-17 either side: its root, 3e-9.
                assert (ours.interval.low, ours.interval.high) == pytest.approx(
                    (low, high), abs=1e-7
                )
                compared += 1
        assert compared > 450

    def test_many_tables_at_once_equal_one_at_a_time(self) -> None:
        # 300 random tables of 2 to 6 labels as cells, some cells split in two (a pair may
        # come as several cells), labels coded across all tables; the undefined ones NaN.
        rng = np.random.default_rng(5)
        tables = []
        for _ in range(300):
            size = int(rng.integers(2, 7))
            table = rng.poisson(rng.uniform(0.2, 20), size=(size, size))
            table[rng.random((size, size)) < 0.3] = 0
            if rng.random() < 0.1:
                table = np.diag(np.diag(table))
            tables.append(table)
        tables.append(np.zeros((2, 2), dtype=np.int64))
        tables.append(np.array([[7, 0], [0, 0]]))
        group, row, col, counts = [], [], [], []
        for g, table in enumerate(tables):
            offset = g % 3  # the same label codes mean different labels across tables
            for (i, j), n in np.ndenumerate(table):
                parts = [n] if n < 2 or rng.random() < 0.5 else [n // 2, n - n // 2]
                for part in parts:
                    if part:
                        group.append(g)
                        row.append(i + offset)
                        col.append(j + offset)
                        counts.append(float(part))
        cells = stats.KappaCells(
            np.array(group), np.array(row), np.array(col), np.array(counts), len(tables), 9
        )
        kappa, low, high = stats.cohens_kappa_many(cells)
        for g, table in enumerate(tables):
            one = stats.cohens_kappa(table)
            if one is None:
                assert np.isnan(kappa[g])
                continue
            assert kappa[g] == pytest.approx(one.value, abs=1e-12)
            # A variance of zero (perfect agreement) sums to +-1e-17 in either order: its
            # root, about 1e-8, is the only difference.
            assert (low[g], high[g]) == pytest.approx(
                (one.interval.low, one.interval.high), abs=1e-7
            )


def random_design(seed: int, cases: int = 40, labels: int = 4) -> stats.Counts:
    rng = np.random.default_rng(seed)
    design: stats.Counts = rng.multinomial(5, [0.55, 0.25, 0.15, 0.05][:labels], size=cases)
    design[::7] = 0  # cases nobody answered
    design[3] = [1, 0, 0, 0][:labels]  # a lone answer
    return design


class TestAgainstTheLibraries:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_alpha_of_each_resample(self, seed: int) -> None:
        design = random_design(seed)
        draws = stats._draws(design.shape[0], 25, seed)
        ours = stats.resampled_alpha(design, draws)
        for b in range(draws.shape[0]):
            resample = np.repeat(design, draws[b], axis=0)
            resample = resample[resample.sum(axis=1) >= 2]
            expected = krippendorff.alpha(value_counts=resample, level_of_measurement="nominal")
            assert ours[b] == pytest.approx(expected, abs=1e-12)

    def test_alpha_is_the_library_on_reliability_data(self) -> None:
        design = random_design(4, labels=3)
        # The same answers as a raters x cases table (raters fill each case in turn).
        raters = int(design.sum(axis=1).max())
        table = np.full((raters, design.shape[0]), np.nan)
        for u, row in enumerate(design):
            labels = np.repeat(np.arange(row.size), row)
            table[: labels.size, u] = labels
        expected = krippendorff.alpha(reliability_data=table, level_of_measurement="nominal")
        assert stats.alpha(design) == pytest.approx(expected, abs=1e-12)

    def test_percent_agreement_is_the_share_of_agreeing_pairs(self) -> None:
        design = random_design(5)
        agree = pairs = 0
        for row in design:
            answers = np.repeat(np.arange(row.size), row)
            for a, b in itertools.combinations(answers, 2):
                pairs += 1
                agree += int(a == b)
        assert stats.percent_agreement(design) == pytest.approx(agree / pairs, abs=1e-12)

    def test_fleiss_when_balanced(self) -> None:
        design = np.random.default_rng(6).multinomial(4, [0.5, 0.3, 0.2], size=30)
        assert stats.fleiss_kappa(design) == pytest.approx(fleiss_kappa(design), abs=1e-12)
        # Fleiss' mean P is percent agreement when every case has as many answers.
        answers = 4
        mean_p = ((design * (design - 1)).sum(axis=1) / (answers * (answers - 1))).mean()
        assert stats.percent_agreement(design) == pytest.approx(mean_p, abs=1e-12)

    def test_the_bootstrap_holds_the_estimate_and_repeats(self) -> None:
        design = random_design(7, cases=120)
        first, again = stats.bootstrap_alpha(design), stats.bootstrap_alpha(design)
        assert first == again
        assert first is not None
        estimate = stats.alpha(design)
        assert estimate is not None
        assert first.low < estimate < first.high

    def test_a_paired_change_of_nothing_is_zero(self) -> None:
        design = random_design(8)
        interval = stats.paired_bootstrap_change(design, design)
        assert interval == stats.Interval(0.0, 0.0)
