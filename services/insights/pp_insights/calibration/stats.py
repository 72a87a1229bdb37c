"""The agreement statistics of calibration, from well-kept libraries: Krippendorff's alpha
(nominal, ``krippendorff``), Fleiss' and Cohen's kappa and the intervals of proportions
(``statsmodels``).

Three small formulas are written here, each held equal to a library or to brute force by
``tests/test_calibration_stats.py``: percent agreement (the share of agreeing pairs of
answers to the same case); alpha over bootstrap resamples, vectorised so that a thousand
resamples of every clause cost a few matrix products instead of a library call each; and
Cohen's kappa with its asymptotic interval, statsmodels' formulas without its results object
(whose tests against zero cost about 4 ms a table, and agreement in production answers a
table per bucket and group: 400 of them for four weeks by region).

Answers are counts per case and label: ``counts[u, v]`` answers of label ``v`` to case ``u``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import krippendorff
import numpy as np
import numpy.typing as npt
from scipy.stats import norm
from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss_kappa
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

Counts = npt.NDArray[np.int64]
"""Answers per case (rows) and label (columns)."""

CONFIDENCE = 0.95
RESAMPLES = 1000
"""Bootstrap resamples of the cases: the 2.5% and 97.5% quantiles of 1000 resamples move by
about 0.01 of alpha from one seed to another."""
SEED = 16
"""The same answers give the same intervals: the bootstrap draws from a fixed seed."""


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def pairable(counts: Counts) -> Counts:
    """Only the cases with at least two answers: a lone answer agrees with nothing."""
    kept: Counts = counts[counts.sum(axis=1) >= 2]
    return kept


def alpha(counts: Counts) -> float | None:
    """Krippendorff's alpha, nominal, missing answers allowed; None when it is undefined (no
    case with two answers, or every answer the same label: no disagreement to expect)."""
    units = pairable(counts)
    if units.shape[0] == 0 or np.count_nonzero(units.sum(axis=0)) < 2:
        return None
    return float(krippendorff.alpha(value_counts=units, level_of_measurement="nominal"))


def percent_agreement(counts: Counts) -> float | None:
    """The share of agreeing pairs among all pairs of answers to the same case (Fleiss' mean
    P when every case has as many answers); None without a case of two answers."""
    units = pairable(counts).astype(np.float64)
    if units.shape[0] == 0:
        return None
    answers = units.sum(axis=1)
    return float((units * (units - 1)).sum() / (answers * (answers - 1)).sum())


def balanced(counts: Counts) -> bool:
    """Every case has the same number of answers, at least two: the design Fleiss' kappa
    assumes."""
    answers = counts.sum(axis=1)
    return (
        counts.shape[0] > 0 and int(answers.min()) >= 2 and int(answers.max()) == int(answers.min())
    )


def fleiss_kappa(counts: Counts) -> float | None:
    """Fleiss' kappa when the design is balanced; None otherwise, or when every answer is the
    same label."""
    if not balanced(counts) or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    return float(_fleiss_kappa(counts, method="fleiss"))


def bootstrap_alpha(
    counts: Counts, *, resamples: int = RESAMPLES, seed: int = SEED
) -> Interval | None:
    """A percentile interval of alpha over resamples of the cases (with replacement)."""
    units = pairable(counts)
    if units.shape[0] == 0:
        return None
    draws = _draws(units.shape[0], resamples, seed)
    return _percentiles(resampled_alpha(units, draws))


def paired_bootstrap_change(
    before: Counts, after: Counts, *, resamples: int = RESAMPLES, seed: int = SEED
) -> Interval | None:
    """A percentile interval of ``alpha(after) - alpha(before)`` over resamples of the cases
    both answered, the same cases drawn for both: ``before`` and ``after`` hold one row per
    case of the same golden set, in the same order."""
    both = (before.sum(axis=1) >= 2) & (after.sum(axis=1) >= 2)
    if not both.any():
        return None
    draws = _draws(int(both.sum()), resamples, seed)
    change = resampled_alpha(after[both], draws) - resampled_alpha(before[both], draws)
    return _percentiles(change)


def resampled_alpha(units: Counts, draws: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Nominal alpha of each resample, ``draws[b, u]`` being how often case ``u`` was drawn
    into resample ``b``; NaN where it is undefined.

    Alpha is ``1 - (n - 1) * sum_u d_u / (n^2 - sum_v n_v^2)``, with ``d_u = (m_u^2 -
    sum_v n_uv^2) / (m_u - 1)`` a case's disagreeing pairs, ``m_u`` its answers, ``n_v`` the
    answers of label ``v`` and ``n`` all answers: sums over cases, so a resample's value is
    the draws times each case's terms.
    """
    # A case with fewer than two answers counts for nothing, whatever its draws.
    answers = units.sum(axis=1)
    lone = answers < 2
    units = np.where(lone[:, np.newaxis], 0, units).astype(np.float64)
    answers = np.where(lone, 2, answers).astype(np.float64)
    disagreeing = (answers**2 - (units**2).sum(axis=1)) / (answers - 1)
    disagreeing[lone] = 0.0
    weights = draws.astype(np.float64)
    per_label = weights @ units
    total = per_label.sum(axis=1)
    expected = total**2 - (per_label**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: npt.NDArray[np.float64] = 1 - (total - 1) * (weights @ disagreeing) / expected
    result[expected <= 0] = np.nan
    return result


def _draws(cases: int, resamples: int, seed: int) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    drawn: npt.NDArray[np.int64] = rng.multinomial(cases, np.full(cases, 1 / cases), resamples)
    return drawn


def _percentiles(values: npt.NDArray[np.float64]) -> Interval | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(low), float(high))


def wilson(successes: int, trials: int) -> Interval | None:
    """The 95% Wilson score interval of a proportion; None without trials."""
    if trials == 0:
        return None
    low, high = proportion_confint(successes, trials, alpha=1 - CONFIDENCE, method="wilson")
    return Interval(float(low), float(high))


def proportion_change(
    before: tuple[int, int], after: tuple[int, int]
) -> tuple[float, Interval] | None:
    """The change ``after - before`` of two proportions (successes, trials) from independent
    samples, with Newcombe's hybrid score interval; None when either has no trials."""
    (x0, n0), (x1, n1) = before, after
    if n0 == 0 or n1 == 0:
        return None
    low, high = confint_proportions_2indep(
        x1, n1, x0, n0, method="newcomb", compare="diff", alpha=1 - CONFIDENCE
    )
    return x1 / n1 - x0 / n0, Interval(float(low), float(high))


@dataclass(frozen=True)
class Kappa:
    value: float
    interval: Interval


_Z = float(norm.isf((1 - CONFIDENCE) / 2))
"""The normal quantile of a two-sided 95% interval."""


def cohens_kappa(table: npt.NDArray[np.int64]) -> Kappa | None:
    """Cohen's kappa of a square table (rows one rater's labels, columns the other's, in the
    same order) with its asymptotic 95% interval (the variance of Fleiss, Cohen and Everitt
    1969, as ``statsmodels.stats.inter_rater.cohens_kappa`` computes it); None when it is
    undefined (no pairs, or both raters always gave one and the same label)."""
    nobs = float(table.sum())
    if nobs == 0:
        return None
    probs = table / nobs
    rows, cols = probs.sum(axis=1), probs.sum(axis=0)
    agree_exp = float((rows * cols).sum())
    if agree_exp >= 1:
        return None
    diagonal = np.diag(probs)
    kappa = (float(diagonal.sum()) - agree_exp) / (1 - agree_exp)
    term_a = float((diagonal * (1 - (rows + cols) * (1 - kappa)) ** 2).sum())
    off = probs * (cols[:, None] + rows) ** 2
    np.fill_diagonal(off, 0.0)
    term_b = (1 - kappa) ** 2 * float(off.sum())
    term_c = (kappa - agree_exp * (1 - kappa)) ** 2
    variance = (term_a + term_b - term_c) / (1 - agree_exp) ** 2 / nobs
    # Rounding can leave a variance of a few ulps below zero (a perfect table): no spread.
    delta = _Z * math.sqrt(variance) if variance > 0 else 0.0
    return Kappa(kappa, Interval(kappa - delta, kappa + delta))


@dataclass(frozen=True)
class KappaCells:
    """Many tables at once, as their non-empty cells: cell ``k`` adds ``counts[k]`` to table
    ``group[k]`` at row label ``row[k]`` and column label ``col[k]`` (label codes shared by
    every table; a cell may repeat)."""

    group: npt.NDArray[np.int64]
    row: npt.NDArray[np.int64]
    col: npt.NDArray[np.int64]
    counts: npt.NDArray[np.float64]
    groups: int
    labels: int


def cohens_kappa_many(
    cells: KappaCells,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`cohens_kappa` of every table of ``cells`` in one pass of numpy: (kappa, low,
    high) per group, NaN where it is undefined. The terms of the variance are sums over the
    cells, each linear in a cell's share, so cells need not be summed into tables first: 840
    tables of a console page cost one bincount each instead of 840 small-array passes."""
    g, n = cells.group, cells.counts
    nobs = np.bincount(g, weights=n, minlength=cells.groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = n / nobs[g]
        shape = (cells.groups, cells.labels)
        rows = np.bincount(g * cells.labels + cells.row, share, cells.groups * cells.labels)
        cols = np.bincount(g * cells.labels + cells.col, share, cells.groups * cells.labels)
        rows, cols = rows.reshape(shape), cols.reshape(shape)
        agree_exp = (rows * cols).sum(axis=1)
        on = cells.row == cells.col
        agree = np.bincount(g[on], share[on], cells.groups)
        kappa = (agree - agree_exp) / (1 - agree_exp)
        spread = 1 - (rows[g, cells.row] + cols[g, cells.row]) * (1 - kappa[g])
        term_a = np.bincount(g[on], (share * spread**2)[on], cells.groups)
        cross = share * (cols[g, cells.row] + rows[g, cells.col]) ** 2
        term_b = (1 - kappa) ** 2 * np.bincount(g[~on], cross[~on], cells.groups)
        term_c = (kappa - agree_exp * (1 - kappa)) ** 2
        variance = (term_a + term_b - term_c) / (1 - agree_exp) ** 2 / nobs
        delta = _Z * np.sqrt(np.maximum(variance, 0.0))
    undefined = (nobs == 0) | (agree_exp >= 1)
    kappa = np.where(undefined, np.nan, kappa)
    return kappa, kappa - delta, kappa + delta
