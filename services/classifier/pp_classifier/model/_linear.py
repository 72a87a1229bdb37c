"""A typed face for scikit-learn's logistic regression (scikit-learn ships no types)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pp_classifier.model._sparse import CsrMatrix


@dataclass(frozen=True)
class LinearWeights:
    """Multinomial logits ``X @ coef + intercept``; ``coef`` is (features, classes)."""

    coef: npt.NDArray[np.float32]
    intercept: npt.NDArray[np.float32]


def fit_logistic(
    features: CsrMatrix,
    targets: npt.NDArray[np.int64],
    n_classes: int,
    *,
    c: float,
    balanced: bool,
    max_iter: int,
) -> LinearWeights:
    """L2 logistic regression over class indices ``0..n_classes-1``.

    Classes absent from ``targets`` (a fold of a small class) get logits of -30, so they are
    never predicted by that fold's model but every fold still has the same columns.
    """
    # Imported here: only training needs scikit-learn, and its import is most of a start-up
    # that loads its model from Postgres.
    from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    present = np.unique(targets)
    # Newton-CG converges in about ten steps here where lbfgs needs fifty or more, each as
    # costly: 0.6 s instead of 7 s for the seed data, which decides whether a fresh install
    # can train at start-up.
    model = LogisticRegression(
        C=c,
        class_weight="balanced" if balanced else None,
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
