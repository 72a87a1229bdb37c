"""Training a clause model: features, logistic regression, then temperature scaling.

TF-IDF word and character n-grams (:mod:`pp_classifier.training.features`) feed a
multinomial logistic regression over the clause ids plus ``none`` (and, with
``TrainingParams.area_stage``, a second one over ``none`` and the areas, on the same
features). Each one's probabilities are then temperature-scaled: one divisor for the logits,
fitted on out-of-fold predictions, which fixes the over- or under-confidence regularisation
leaves without changing which label ranks first. Only this module imports scikit-learn,
and only while it trains.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from pp_classifier.tagging.text import normalise
from pp_classifier.training.features import Vocabulary, featuriser_input, hash_ngrams
from pp_classifier.training.linear import AreaStage, LinearWeights, area_label, area_labels
from pp_classifier.training.model import (
    ClauseModel,
    ModelError,
    TrainingParams,
    text_digest,
)
from pp_shared.contracts.events import NO_CLAUSE

_TEMPERATURE_RANGE = (0.05, 20.0)


def fit_logistic(
    features: csr_matrix[np.float32],
    targets: npt.NDArray[np.int64],
    n_classes: int,
    *,
    c: float,
    balanced: bool,
    max_iter: int,
    balance_power: float = 1.0,
) -> LinearWeights:
    """L2 logistic regression over class indices ``0..n_classes-1``.

    Classes absent from ``targets`` (a fold of a small class) get logits of -30, so they are
    never predicted by that fold's model but every fold still has the same columns.
    """
    # Imported here: only training needs scikit-learn, and its import is most of a start-up
    # that loads its model from Postgres.
    from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    present, sizes = np.unique(targets, return_counts=True)
    weights_by_class = (
        {
            int(k): float((len(targets) / (len(present) * n)) ** balance_power)
            for k, n in zip(present, sizes, strict=True)
        }
        if balanced
        else None
    )
    # Newton-CG converges in about ten steps here where lbfgs needs fifty or more, each as
    # costly: 0.6 s instead of 7 s for the seed data, which decides whether a fresh install
    # can train at start-up.
    model = LogisticRegression(
        C=c,
        class_weight=weights_by_class,
        max_iter=max_iter,
        solver="newton-cg",
    )
    with warnings.catch_warnings():
        # Stopping at max_iter still gives a usable model; the warning would only be noise
        # in every seed-model start-up.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, targets)
    weights = np.asarray(model.coef_, dtype=np.float32)
    intercepts = np.asarray(model.intercept_, dtype=np.float32)
    n_features = features.shape[1]
    coef = np.zeros((n_features, n_classes), dtype=np.float32)
    intercept = np.full(n_classes, -30.0, dtype=np.float32)
    if len(present) == 2:
        # The binary model has one weight vector for the second class against the first.
        coef[:, present[1]] = weights[0]
        intercept[present[0]] = 0.0
        intercept[present[1]] = intercepts[0]
    else:
        coef[:, present] = weights.T
        intercept[present] = intercepts
    return LinearWeights(np.ascontiguousarray(coef), intercept)


def _nll(logits: npt.NDArray[np.float32], targets: npt.NDArray[np.int64], t: float) -> float:
    scaled = logits.astype(np.float64) / t
    scaled -= scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(targets)), targets]))


def fit_temperature(logits: npt.NDArray[np.float32], targets: npt.NDArray[np.int64]) -> float:
    """The logit divisor that minimises log loss; golden-section search on log(T)."""
    low, high = math.log(_TEMPERATURE_RANGE[0]), math.log(_TEMPERATURE_RANGE[1])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(logits, targets, math.exp(a)), _nll(logits, targets, math.exp(b))
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(logits, targets, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(logits, targets, math.exp(b))
    return round(math.exp((low + high) / 2.0), 6)


def _folds(targets: npt.NDArray[np.int64], k: int, seed: int) -> npt.NDArray[np.int64]:
    """A fold number per example, each class dealt round-robin after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(targets), dtype=np.int64)
    for label in np.unique(targets):
        members = np.flatnonzero(targets == label)
        rng.shuffle(members)
        fold[members] = (np.arange(len(members)) + int(rng.integers(k))) % k
    return fold


def _model_version(
    name: str, taxonomy_version: str, params: TrainingParams, pairs: list[tuple[int, str]]
) -> str:
    # Derived from the inputs, not the weights, so the same data and settings give the same
    # version on every machine even where floating-point results differ in the last bits.
    recipe = json.dumps(
        {"taxonomy": taxonomy_version, "params": params.to_json(), "data": sorted(pairs)},
        sort_keys=True,
    )
    return f"{name}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def model_version(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    taxonomy_version: str,
    name: str,
    params: TrainingParams,
) -> str:
    """The version :func:`train_model` gives a model of these inputs, without training it."""
    digests = [text_digest(normalise(text)) for text in texts]
    return _model_version(name, taxonomy_version, params, list(zip(digests, labels, strict=True)))


def _fit_calibrated(
    matrix: csr_matrix[np.float32],
    targets: npt.NDArray[np.int64],
    n_classes: int,
    params: TrainingParams,
) -> tuple[LinearWeights, float]:
    """Weights fitted on every row, and the temperature fitted on out-of-fold logits."""

    def fit(rows: npt.NDArray[np.int64]) -> LinearWeights:
        return fit_logistic(
            matrix[rows],
            targets[rows],
            n_classes,
            c=params.c,
            balanced=params.balanced,
            max_iter=params.max_iter,
            balance_power=params.balance_power,
        )

    temperature = 1.0
    if params.calibration_folds >= 2:
        fold = _folds(targets, params.calibration_folds, params.seed)
        held_out = np.zeros((len(targets), n_classes), dtype=np.float32)
        scored = np.zeros(len(targets), dtype=bool)
        for k in range(params.calibration_folds):
            train_rows, test_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            if len(np.unique(targets[train_rows])) < 2 or not len(test_rows):
                continue
            w = fit(train_rows)
            held_out[test_rows] = matrix[test_rows] @ w.coef + w.intercept
            scored[test_rows] = True
        if scored.any():
            temperature = fit_temperature(held_out[scored], targets[scored])
    return fit(np.arange(len(targets))), temperature


def train_model(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    taxonomy_version: str,
    clause_order: Sequence[str] = (),
    name: str = "custom",
    params: TrainingParams | None = None,
) -> ClauseModel:
    """Train a model on raw texts labelled with clause ids or ``none``.

    ``clause_order`` fixes the column order of the clauses (the taxonomy's order); clauses
    not listed follow in sorted order. Deterministic for given inputs.
    """
    params = params or TrainingParams()
    if len(texts) != len(labels):
        raise ModelError(f"{len(texts)} texts but {len(labels)} labels")
    counts = Counter(labels)
    if NO_CLAUSE not in counts or len(counts) < 2:
        raise ModelError("training needs 'none' examples and at least one clause")
    ordered = [c for c in clause_order if c in counts]
    ordered += sorted(c for c in counts if c != NO_CLAUSE and c not in ordered)
    label_list = [NO_CLAUSE, *ordered]
    index = {label: i for i, label in enumerate(label_list)}
    normalised = [normalise(text) for text in texts]
    targets = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))

    spec = params.features
    grams = hash_ngrams(featuriser_input(spec, texts, normalised), spec)
    vocabulary = Vocabulary.fit(grams, spec)
    matrix = vocabulary.transform(grams)

    weights, temperature = _fit_calibrated(matrix, targets, len(label_list), params)
    area_stage = None
    if params.area_stage:
        areas = area_labels(label_list)
        area_index = {area: i for i, area in enumerate(areas)}
        area_targets = np.fromiter(
            (area_index[area_label(label)] for label in labels),
            dtype=np.int64,
            count=len(labels),
        )
        area_weights, area_temperature = _fit_calibrated(matrix, area_targets, len(areas), params)
        area_stage = AreaStage(tuple(areas), area_weights, area_temperature)
    digests = [text_digest(text) for text in normalised]
    return ClauseModel(
        version=_model_version(
            name, taxonomy_version, params, list(zip(digests, labels, strict=True))
        ),
        taxonomy_version=taxonomy_version,
        labels=label_list,
        params=params,
        vocabulary=vocabulary,
        weights=weights,
        temperature=temperature,
        training_digests=np.array(sorted(set(digests)), dtype=np.uint64),
        class_counts={label: counts[label] for label in label_list},
        area_stage=area_stage,
    )
