"""Quality and speed of a tagger on labelled texts, per clause and per area."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy.stats import permutation_test

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
    predicted = [_answer(p) for p in predictions]
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


def _answer(prediction: Prediction) -> str:
    """A prediction's clause, ``none`` where it gives none."""
    return NO_CLAUSE if prediction.clause_id == UNCLASSIFIED else prediction.clause_id


def answers(model: Predictor, texts: Sequence[str]) -> list[str]:
    """``model``'s clause per text, ``none`` where it gives none (as :func:`evaluate` reads)."""
    return [_answer(p) for p in model.predict(texts)]


def macro_f1_codes(gold: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], k: int) -> Any:
    """:func:`level_report`'s macro-F1 for label codes ``0..k-1``, over the last axis:
    ``predicted`` may stack several answer vectors ``(..., n)`` for the same ``gold``. The
    labels averaged over are those in the gold or the predictions, per vector."""
    rows = predicted.reshape(-1, predicted.shape[-1])
    offset = (np.arange(len(rows), dtype=np.int64) * k)[:, None]
    size = len(rows) * k
    claimed = np.bincount((offset + rows).ravel(), minlength=size).reshape(-1, k)
    hits = np.bincount(
        (offset + rows).ravel(), weights=(rows == gold).ravel(), minlength=size
    ).reshape(-1, k)
    support = np.bincount(gold, minlength=k)[None, :]
    present = (support + claimed) > 0
    f1 = np.divide(2 * hits, support + claimed, out=np.zeros(hits.shape), where=present)
    macro = f1.sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    return macro.reshape(predicted.shape[:-1])


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Two models' macro-F1 on the same texts and whether the first's lead is chance: an
    approximate randomisation test (each text's two answers swapped at random, scipy's
    paired ``permutation_test``), the test for F-scores of Yeh (2000), since macro-F1 is not
    a mean of per-text scores."""

    first: float
    second: float
    p_value: float


def compare_macro_f1(
    labels: Sequence[str],
    first: Sequence[str],
    second: Sequence[str],
    *,
    resamples: int = 999,
    seed: int = 0,
) -> PairedComparison:
    """Whether ``first``'s answers to ``labels`` have a higher macro-F1 than ``second``'s by
    more than chance: the p-value of that lead (one-sided)."""
    names = sorted(set(labels) | set(first) | set(second))
    index = {name: i for i, name in enumerate(names)}
    gold = np.fromiter((index[x] for x in labels), dtype=np.int64, count=len(labels))
    a = np.fromiter((index[x] for x in first), dtype=np.int64, count=len(first))
    b = np.fromiter((index[x] for x in second), dtype=np.int64, count=len(second))
    k = len(names)

    def lead(x: npt.NDArray[np.int64], y: npt.NDArray[np.int64], axis: int) -> Any:
        return macro_f1_codes(gold, x, k) - macro_f1_codes(gold, y, k)

    test = permutation_test(
        (a, b),
        lead,
        permutation_type="samples",
        vectorized=True,
        n_resamples=resamples,
        alternative="greater",
        random_state=np.random.default_rng(seed),
    )
    return PairedComparison(
        float(macro_f1_codes(gold, a, k)), float(macro_f1_codes(gold, b, k)), float(test.pvalue)
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
