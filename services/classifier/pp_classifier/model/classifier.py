"""The statistical layer: a calibrated linear model that predicts a clause, or abstains.

Training: TF-IDF word and character n-grams (:mod:`pp_classifier.model.features`) and a
multinomial logistic regression over the clause ids plus ``none``. Its probabilities are
then temperature-scaled: one divisor for the logits, fitted on out-of-fold predictions,
which fixes the over- or under-confidence regularisation leaves without changing which
label ranks first. A prediction names the most probable clause when its probability
reaches the threshold and says ``unclassified`` otherwise.

Inference does not touch scikit-learn: it is a sparse matrix product and a softmax, and a
serialised model is a numpy archive of arrays and JSON, so loading one from a database row
cannot run code the way unpickling can.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from pp_classifier.model._linear import LinearWeights, fit_logistic
from pp_classifier.model._sparse import CsrMatrix
from pp_classifier.model.features import FeatureSpec, Vocabulary, hash_ngrams
from pp_classifier.rules import normalise
from pp_shared.events import UNCLASSIFIED, TagMethod, area_of

NONE_LABEL = "none"
FORMAT = "pp-clause-model"
FORMAT_VERSION = 1
# Features and the product run in batches: large enough to amortise numpy's per-call cost,
# small enough that a batch's n-gram arrays stay in cache-friendly sizes.
BATCH_SIZE = 1024
_TEMPERATURE_RANGE = (0.05, 20.0)


class ModelError(ValueError):
    """Training data or a serialised model that cannot be used."""


@dataclass(frozen=True)
class TrainingParams:
    """How a model is trained; stored with it and part of its version."""

    c: float = 10.0
    balanced: bool = False
    threshold: float = 0.5
    calibration_folds: int = 3
    max_iter: int = 100
    seed: int = 0
    features: FeatureSpec = field(default_factory=FeatureSpec)

    def to_json(self) -> dict[str, Any]:
        return {
            "c": self.c,
            "balanced": self.balanced,
            "threshold": self.threshold,
            "calibration_folds": self.calibration_folds,
            "max_iter": self.max_iter,
            "seed": self.seed,
            "features": self.features.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingParams:
        return cls(
            c=float(data["c"]),
            balanced=bool(data["balanced"]),
            threshold=float(data["threshold"]),
            calibration_folds=int(data["calibration_folds"]),
            max_iter=int(data["max_iter"]),
            seed=int(data["seed"]),
            features=FeatureSpec.from_json(data["features"]),
        )


@dataclass(frozen=True, slots=True)
class Prediction:
    """The answer for one text.

    ``clause_id`` is a clause or ``unclassified``; ``confidence`` is the calibrated
    probability of that clause (0.0 when unclassified) and ``method`` the layer that gave
    it. ``top_label`` and ``top_probability`` are the model's most probable label, ``none``
    included, whether or not it abstained: what threshold tuning and calibration checks need.
    """

    clause_id: str
    area: str
    confidence: float
    method: TagMethod
    top_label: str
    top_probability: float


def text_digest(normalised: str) -> int:
    """A 64-bit digest of a normalised text, to recognise training texts without keeping them."""
    return int.from_bytes(hashlib.sha256(normalised.encode("utf-8")).digest()[:8], "little")


def _softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted: npt.NDArray[np.float32] = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


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


class ClauseModel:
    """A trained clause classifier: call :meth:`predict` on raw texts."""

    def __init__(
        self,
        *,
        version: str,
        taxonomy_version: str,
        labels: Sequence[str],
        params: TrainingParams,
        vocabulary: Vocabulary,
        weights: LinearWeights,
        temperature: float,
        training_digests: npt.NDArray[np.uint64],
        class_counts: dict[str, int],
    ) -> None:
        if len(labels) != weights.coef.shape[1] or labels[0] != NONE_LABEL:
            raise ModelError("labels must start with 'none' and match the weight columns")
        self.version = version
        self.taxonomy_version = taxonomy_version
        self.labels = tuple(labels)
        self.params = params
        self.threshold = params.threshold
        self.vocabulary = vocabulary
        self.weights = weights
        self.temperature = temperature
        self.training_digests = np.sort(training_digests.astype(np.uint64))
        self.class_counts = dict(class_counts)
        self._areas = tuple(area_of(label) for label in self.labels)

    def with_threshold(self, threshold: float) -> ClauseModel:
        """The same model abstaining below another probability."""
        if not 0.0 <= threshold <= 1.0:
            raise ModelError(f"threshold must be within [0, 1], got {threshold}")
        return ClauseModel(
            version=self.version,
            taxonomy_version=self.taxonomy_version,
            labels=self.labels,
            params=replace(self.params, threshold=threshold),
            vocabulary=self.vocabulary,
            weights=self.weights,
            temperature=self.temperature,
            training_digests=self.training_digests,
            class_counts=self.class_counts,
        )

    # -- inference ---------------------------------------------------------------------

    def features(self, normalised: Sequence[str]) -> CsrMatrix:
        """TF-IDF rows of normalised texts."""
        grams = hash_ngrams(list(normalised), self.params.features)
        return self.vocabulary.transform(grams)

    def logits(self, normalised: Sequence[str]) -> npt.NDArray[np.float32]:
        """Uncalibrated logits, one row per normalised text."""
        out = np.empty((len(normalised), len(self.labels)), dtype=np.float32)
        for start in range(0, len(normalised), BATCH_SIZE):
            batch = normalised[start : start + BATCH_SIZE]
            scores = self.features(batch) @ self.weights.coef
            out[start : start + len(batch)] = scores + self.weights.intercept
        return out

    def probabilities_normalised(self, normalised: Sequence[str]) -> npt.NDArray[np.float32]:
        """Calibrated probabilities over :attr:`labels`, one row per normalised text."""
        return _softmax(self.logits(normalised) / np.float32(self.temperature))

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Calibrated probabilities over :attr:`labels`, one row per raw text."""
        return self.probabilities_normalised([normalise(text) for text in texts])

    def decide(self, probabilities: npt.NDArray[np.float32]) -> list[Prediction]:
        """Predictions from probability rows: the best clause if it reaches the threshold."""
        if len(probabilities) == 0:
            return []
        top = probabilities.argmax(axis=1)
        top_p = probabilities[np.arange(len(top)), top]
        clause_p = probabilities[:, 1:]
        best = clause_p.argmax(axis=1) + 1 if clause_p.shape[1] else np.zeros_like(top)
        best_p = probabilities[np.arange(len(best)), best]
        out: list[Prediction] = []
        labels, areas, threshold = self.labels, self._areas, self.threshold
        for t, tp, b, bp in zip(
            top.tolist(), top_p.tolist(), best.tolist(), best_p.tolist(), strict=True
        ):
            if b and bp >= threshold:
                out.append(Prediction(labels[b], areas[b], bp, TagMethod.MODEL, labels[t], tp))
            else:
                out.append(
                    Prediction(UNCLASSIFIED, UNCLASSIFIED, 0.0, TagMethod.NONE, labels[t], tp)
                )
        return out

    def predict_normalised(self, normalised: Sequence[str]) -> list[Prediction]:
        """As :meth:`predict`, for texts already passed through :func:`normalise`."""
        return self.decide(self.probabilities_normalised(normalised))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per raw text, in order."""
        return self.predict_normalised([normalise(text) for text in texts])

    def seen_in_training(self, texts: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which texts (after normalisation) the model was trained on."""
        digests = np.fromiter(
            (text_digest(normalise(text)) for text in texts), dtype=np.uint64, count=len(texts)
        )
        if not len(self.training_digests):
            return np.zeros(len(texts), dtype=bool)
        where = np.searchsorted(self.training_digests, digests).clip(
            0, len(self.training_digests) - 1
        )
        found: npt.NDArray[np.bool_] = self.training_digests[where] == digests
        return found

    # -- serialisation -----------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """Everything but the arrays: JSON-safe, for the serialised form and for reports."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "taxonomy_version": self.taxonomy_version,
            "labels": list(self.labels),
            "params": self.params.to_json(),
            "temperature": self.temperature,
            "class_counts": self.class_counts,
            "features": len(self.vocabulary),
        }

    def to_bytes(self) -> bytes:
        """A compressed numpy archive; :meth:`from_bytes` reads it back."""
        buffer = io.BytesIO()
        meta = np.frombuffer(json.dumps(self.metadata(), sort_keys=True).encode(), np.uint8)
        arrays: dict[str, npt.NDArray[Any]] = {
            "meta": meta,
            "coef": self.weights.coef,
            "intercept": self.weights.intercept,
            "training_digests": self.training_digests,
            **self.vocabulary.arrays(),
        }
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ClauseModel:
        """Load a model written by :meth:`to_bytes`; ``ModelError`` for anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        except (
            OSError,
            EOFError,
            ValueError,
            KeyError,
            zipfile.BadZipFile,
            UnicodeDecodeError,
        ) as exc:
            raise ModelError(f"not a serialised clause model: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelError("not a serialised clause model")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"clause model format {meta.get('format_version')} is not supported;"
                f" this version reads format {FORMAT_VERSION}"
            )
        try:
            params = TrainingParams.from_json(meta["params"])
            vocabulary = Vocabulary.from_arrays(params.features, arrays)
            weights = LinearWeights(
                np.ascontiguousarray(arrays["coef"], dtype=np.float32),
                arrays["intercept"].astype(np.float32),
            )
            return cls(
                version=str(meta["version"]),
                taxonomy_version=str(meta["taxonomy_version"]),
                labels=[str(label) for label in meta["labels"]],
                params=params,
                vocabulary=vocabulary,
                weights=weights,
                temperature=float(meta["temperature"]),
                training_digests=arrays["training_digests"],
                class_counts={str(k): int(v) for k, v in meta["class_counts"].items()},
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"serialised clause model is incomplete: {exc}") from exc


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
    if NONE_LABEL not in counts or len(counts) < 2:
        raise ModelError("training needs 'none' examples and at least one clause")
    ordered = [c for c in clause_order if c in counts]
    ordered += sorted(c for c in counts if c != NONE_LABEL and c not in ordered)
    label_list = [NONE_LABEL, *ordered]
    index = {label: i for i, label in enumerate(label_list)}
    normalised = [normalise(text) for text in texts]
    targets = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))

    spec = params.features
    grams = hash_ngrams(normalised, spec)
    vocabulary = Vocabulary.fit(grams, spec)
    matrix = vocabulary.transform(grams)

    def fit(rows: npt.NDArray[np.int64]) -> LinearWeights:
        return fit_logistic(
            matrix[rows],
            targets[rows],
            len(label_list),
            c=params.c,
            balanced=params.balanced,
            max_iter=params.max_iter,
        )

    temperature = 1.0
    if params.calibration_folds >= 2:
        fold = _folds(targets, params.calibration_folds, params.seed)
        held_out = np.zeros((len(targets), len(label_list)), dtype=np.float32)
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
    weights = fit(np.arange(len(targets)))
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
    )
