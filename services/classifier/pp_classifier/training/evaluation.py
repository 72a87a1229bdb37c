"""Quality and speed of a tagger on labelled texts, per clause and per area."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from pp_classifier.training.model import Prediction
from pp_shared.contracts.events import NO_CLAUSE, UNCLASSIFIED, area_of

CALIBRATION_BINS = 10


class Predictor(Protocol):
    """Anything that predicts one clause (or ``unclassified``) per raw text."""

    def predict(self, texts: Sequence[str]) -> Sequence[Prediction]: ...


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LevelReport:
    """Metrics over one label space (clauses, or areas); ``none`` is a class like the others.

    ``labels`` are the gold and predicted labels together, ``none`` first, as sklearn's
    ``classification_report`` would list them; ``macro_f1`` averages over all of them.
    ``confusion[i][j]`` counts texts of gold label ``labels[i]`` predicted as ``labels[j]``.
    """

    labels: tuple[str, ...]
    per_class: tuple[ClassMetrics, ...]
    macro_f1: float
    accuracy: float
    confusion: tuple[tuple[int, ...], ...]

    def metrics(self, label: str) -> ClassMetrics:
        """The row of one label; ``KeyError`` if it occurs in neither gold nor predictions."""
        for row in self.per_class:
            if row.label == label:
                return row
        raise KeyError(label)


@dataclass(frozen=True)
class Evaluation:
    clauses: LevelReport
    areas: LevelReport
    texts: int
    seconds: float
    texts_per_second: float
    # Expected calibration error of the model's top label, over 10 equal-width bins.
    calibration_error: float


def _area_label(label: str) -> str:
    return NO_CLAUSE if label == NO_CLAUSE else area_of(label)


def level_report(gold: Sequence[str], predicted: Sequence[str]) -> LevelReport:
    """Per-class precision, recall, F1 and support, macro-F1 and the confusion matrix."""
    found = set(gold) | set(predicted)
    labels = ([NO_CLAUSE] if NO_CLAUSE in found else []) + sorted(found - {NO_CLAUSE})
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    g = np.fromiter((index[x] for x in gold), dtype=np.int64, count=len(gold))
    p = np.fromiter((index[x] for x in predicted), dtype=np.int64, count=len(predicted))
    confusion = np.bincount(g * k + p, minlength=k * k).reshape(k, k)
    hits = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    claimed = confusion.sum(axis=0)
    precision = np.divide(hits, claimed, out=np.zeros(k), where=claimed > 0)
    recall = np.divide(hits, support, out=np.zeros(k), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(k), where=total > 0)
    rows = tuple(
        ClassMetrics(label, float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, label in enumerate(labels)
    )
    return LevelReport(
        labels=tuple(labels),
        per_class=rows,
        macro_f1=float(f1.mean()) if k else 0.0,
        accuracy=float(hits.sum() / len(gold)) if len(gold) else 0.0,
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
    )


def calibration_error(
    probabilities: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_]
) -> float:
    """Expected calibration error: |accuracy - mean confidence| per bin, weighted by size."""
    if not len(probabilities):
        return 0.0
    bins = np.minimum((probabilities * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
    confidence = np.bincount(bins, weights=probabilities, minlength=CALIBRATION_BINS)
    accuracy = np.bincount(bins, weights=correct.astype(np.float64), minlength=CALIBRATION_BINS)
    return float(np.abs(accuracy - confidence).sum() / len(probabilities))


def evaluate(model: Predictor, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
    """Tag ``texts`` with ``model`` and compare with ``labels`` (clause ids or ``none``)."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    start = time.perf_counter()
    predictions = model.predict(texts)
    seconds = time.perf_counter() - start
    predicted = [NO_CLAUSE if p.clause_id == UNCLASSIFIED else p.clause_id for p in predictions]
    top = np.fromiter((p.top_probability for p in predictions), dtype=np.float64)
    correct = np.fromiter(
        (p.top_label == label for p, label in zip(predictions, labels, strict=True)), dtype=bool
    )
    return Evaluation(
        clauses=level_report(labels, predicted),
        areas=level_report([_area_label(x) for x in labels], [_area_label(x) for x in predicted]),
        texts=len(texts),
        seconds=seconds,
        texts_per_second=len(texts) / seconds if seconds > 0 else float("inf"),
        calibration_error=calibration_error(top, correct),
    )


def stratified_split(
    labels: Sequence[str], *, test_fraction: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row indices (train, test): ``test_fraction`` of each label's rows, seeded, sorted."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    values = np.array(labels, dtype=object)
    test: list[npt.NDArray[np.int64]] = []
    for label in sorted(set(labels)):
        members = np.flatnonzero(values == label)
        rng.shuffle(members)
        test.append(members[: round(len(members) * test_fraction)])
    test_rows = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    train_rows = np.setdiff1d(np.arange(len(labels)), test_rows)
    return train_rows.astype(np.int64), test_rows.astype(np.int64)
