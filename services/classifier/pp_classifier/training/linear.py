"""The linear layers of a clause model: weights, calibrated probabilities, the area stage.

The clause model is one multinomial regression over every clause and ``none``. Telling the
hate clauses apart rests on the group a text names ("women" -> ``HATE.PROTECTED_ATTR.SEX``),
so those words take large weights, and the same weights then speak for a violation against
``none``: "I love women." came out ``HATE.PROTECTED_ATTR.SEX`` at 0.99, a training text
labelled ``none``. The area stage is a second regression on the same features over ``none``
and the areas (``HATE``, ``VBDA``, ...), where a group's name says little. A clause's
probability is the mean of the two opinions: the clause model's, and the area model's
probability of its area shared among the area's clauses as the clause model shares it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from pp_shared.contracts.events import NO_CLAUSE, area_of

F32 = npt.NDArray[np.float32]
# The weight of the clause model's own opinion; the area stage has the rest.
CLAUSE_SHARE = 0.5


@dataclass(frozen=True)
class LinearWeights:
    """Multinomial logits ``X @ coef + intercept``; ``coef`` is (features, classes)."""

    coef: F32
    intercept: F32

    def probabilities(self, matrix: csr_matrix[np.float32], temperature: float) -> F32:
        """Temperature-scaled softmax of the logits of TF-IDF rows."""
        logits: F32 = matrix @ self.coef + self.intercept
        return softmax(logits / np.float32(temperature))


def softmax(logits: F32) -> F32:
    shifted: F32 = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def area_label(label: str) -> str:
    """The area stage's label for a clause model's label: its area, ``none`` for ``none``."""
    return NO_CLAUSE if label == NO_CLAUSE else area_of(label)


def area_labels(labels: Sequence[str]) -> list[str]:
    """The area stage's labels for a clause model's labels: ``none``, then each area once,
    in the order its first clause comes."""
    return list(dict.fromkeys([NO_CLAUSE, *(area_label(label) for label in labels)]))


@dataclass(frozen=True)
class AreaStage:
    """The area model: its labels (``none`` first), weights and calibration temperature."""

    labels: tuple[str, ...]
    weights: LinearWeights
    temperature: float

    def combine(self, matrix: csr_matrix[np.float32], clause_p: F32, labels: Sequence[str]) -> F32:
        """Probabilities over the clause model's ``labels``: the mean of ``clause_p`` and
        the area model's opinion of the same TF-IDF rows (see the module's note)."""
        area_p = self.weights.probabilities(matrix, self.temperature)
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.empty_like(clause_p)
        out[:, 0] = area_p[:, index[NO_CLAUSE]]
        areas = [area_of(label) for label in labels]
        for area in dict.fromkeys(areas[1:]):
            columns = [i for i, a in enumerate(areas) if i and a == area]
            share = clause_p[:, columns]
            total = np.maximum(share.sum(axis=1, keepdims=True), np.float32(1e-12))
            out[:, columns] = area_p[:, [index[area]]] * share / total
        mixed: F32 = CLAUSE_SHARE * clause_p + (1.0 - CLAUSE_SHARE) * out
        return mixed
