"""The statistical layer: a calibrated linear model that predicts a clause, or abstains.

A model (trained by :mod:`pp_classifier.training.fit`) holds TF-IDF word and character
n-gram weights (:mod:`pp_classifier.training.features`) of a multinomial logistic
regression over the clause ids plus ``none`` and a temperature that calibrates its
probabilities; with an area stage (:mod:`pp_classifier.training.linear`), a second such
regression over ``none`` and the areas, whose opinion is averaged in. A prediction names the
most probable clause when the probability of any violation (1 - P(``none``)) reaches the
threshold, and says ``unclassified`` otherwise.

Inference does not touch scikit-learn: it is a sparse matrix product and a softmax, and a
serialised model is a numpy archive of arrays and JSON, so loading one from a database row
cannot run code the way unpickling can.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from pp_classifier.tagging.text import normalise
from pp_classifier.training.features import (
    FeatureSpec,
    Vocabulary,
    featuriser_input,
    hash_ngrams,
)
from pp_classifier.training.linear import AreaStage, LinearWeights, area_labels
from pp_shared.contracts.events import NO_CLAUSE, UNCLASSIFIED, TagMethod, area_of

FORMAT = "pp-clause-model"
# Format 2 adds the area stage's arrays; a reader of format 1 would drop them silently, so
# a model that has one says 2, and this version reads both.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
# Features and the product run in batches: large enough to amortise numpy's per-call cost,
# small enough that a batch's n-gram arrays stay in cache-friendly sizes.
BATCH_SIZE = 1024


class ModelError(ValueError):
    """Training data or a serialised model that cannot be used."""


@dataclass(frozen=True)
class TrainingParams:
    """How a model is trained; stored with it and part of its version."""

    c: float = 10.0
    balanced: bool = False
    # With ``balanced``, a class weighs (n / (classes * its size)) ** balance_power: 1.0 is
    # scikit-learn's "balanced"; 0.5 lifts rare clauses without letting a dozen hate clauses
    # outweigh "none" twelve to one (which tags every mention of a group as hate).
    balance_power: float = 1.0
    threshold: float = 0.5
    # A second regression over none and the areas, averaged with the clause model
    # (training/linear.py).
    area_stage: bool = False
    calibration_folds: int = 3
    max_iter: int = 100
    seed: int = 0
    features: FeatureSpec = field(default_factory=FeatureSpec)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "c": self.c,
            "balanced": self.balanced,
            "balance_power": self.balance_power,
            "threshold": self.threshold,
            "calibration_folds": self.calibration_folds,
            "max_iter": self.max_iter,
            "seed": self.seed,
            "features": self.features.to_json(),
        }
        if self.area_stage:
            out["area_stage"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingParams:
        return cls(
            c=float(data["c"]),
            balanced=bool(data["balanced"]),
            balance_power=float(data.get("balance_power", 1.0)),
            threshold=float(data["threshold"]),
            area_stage=bool(data.get("area_stage", False)),
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


def held_out(key: str, percent: int) -> bool:
    """Whether a key (a normalised text, or a template's key) belongs to the evaluation share:
    the same answer on every run and every machine."""
    return text_digest(key) % 100 < percent


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
        area_stage: AreaStage | None = None,
    ) -> None:
        if len(labels) != weights.coef.shape[1] or labels[0] != NO_CLAUSE:
            raise ModelError("labels must start with 'none' and match the weight columns")
        if area_stage is not None and (
            len(area_stage.labels) != area_stage.weights.coef.shape[1]
            or area_stage.labels[0] != NO_CLAUSE
            or not set(area_labels(labels)) <= set(area_stage.labels)
        ):
            raise ModelError("the area stage's labels must be 'none' and every clause's area")
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
        self.area_stage = area_stage
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
            area_stage=self.area_stage,
        )

    # -- inference ---------------------------------------------------------------------

    def views(self, texts: Sequence[str], normalised: Sequence[str] | None = None) -> list[str]:
        """What the featuriser reads of raw texts (``normalised``: their normalised forms,
        when the caller has them): see :func:`featuriser_input`."""
        if normalised is None:
            normalised = [normalise(text) for text in texts]
        return featuriser_input(self.params.features, texts, normalised)

    def features(self, views: Sequence[str]) -> csr_matrix[np.float32]:
        """TF-IDF rows of the featuriser's inputs (:meth:`views`)."""
        grams = hash_ngrams(list(views), self.params.features)
        return self.vocabulary.transform(grams)

    def probabilities_of_views(self, views: Sequence[str]) -> npt.NDArray[np.float32]:
        """Calibrated probabilities over :attr:`labels`, one row per featuriser input (with
        the area stage's opinion, when the model has one)."""
        out = np.empty((len(views), len(self.labels)), dtype=np.float32)
        for start in range(0, len(views), BATCH_SIZE):
            batch = views[start : start + BATCH_SIZE]
            matrix = self.features(batch)
            p = self.weights.probabilities(matrix, self.temperature)
            if self.area_stage is not None:
                p = self.area_stage.combine(matrix, p, self.labels)
            out[start : start + len(batch)] = p
        return out

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Calibrated probabilities over :attr:`labels`, one row per raw text."""
        return self.probabilities_of_views(self.views(texts))

    def decide(self, probabilities: npt.NDArray[np.float32]) -> list[Prediction]:
        """Predictions from probability rows: the most probable clause when the probability
        that the text breaks any clause (1 - P(none)) reaches the threshold. Its confidence is
        that clause's own probability: with a dozen hate clauses sharing one violation, no
        single clause would often reach the threshold alone."""
        if len(probabilities) == 0:
            return []
        top = probabilities.argmax(axis=1)
        top_p = probabilities[np.arange(len(top)), top]
        clause_p = probabilities[:, 1:]
        best = clause_p.argmax(axis=1) + 1 if clause_p.shape[1] else np.zeros_like(top)
        best_p = probabilities[np.arange(len(best)), best]
        violation = 1.0 - probabilities[:, 0]
        out: list[Prediction] = []
        labels, areas, threshold = self.labels, self._areas, self.threshold
        for t, tp, b, bp, v in zip(
            top.tolist(),
            top_p.tolist(),
            best.tolist(),
            best_p.tolist(),
            violation.tolist(),
            strict=True,
        ):
            if b and v >= threshold:
                out.append(Prediction(labels[b], areas[b], bp, TagMethod.MODEL, labels[t], tp))
            else:
                out.append(
                    Prediction(UNCLASSIFIED, UNCLASSIFIED, 0.0, TagMethod.NONE, labels[t], tp)
                )
        return out

    def predict_texts(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None
    ) -> list[Prediction]:
        """One prediction per raw text, in order (``normalised``: their normalised forms,
        when the caller has them)."""
        return self.decide(self.probabilities_of_views(self.views(texts, normalised)))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per raw text, in order."""
        return self.predict_texts(texts)

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
            "format_version": FORMAT_VERSION if self.area_stage is not None else 1,
            "version": self.version,
            "taxonomy_version": self.taxonomy_version,
            "labels": list(self.labels),
            "params": self.params.to_json(),
            "temperature": self.temperature,
            "class_counts": self.class_counts,
            "features": len(self.vocabulary),
            **(
                {
                    "area_labels": list(self.area_stage.labels),
                    "area_temperature": self.area_stage.temperature,
                }
                if self.area_stage is not None
                else {}
            ),
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
        if self.area_stage is not None:
            arrays["area_coef"] = self.area_stage.weights.coef
            arrays["area_intercept"] = self.area_stage.weights.intercept
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
        if meta.get("format_version") not in READABLE_FORMATS:
            raise ModelError(
                f"clause model format {meta.get('format_version')} is not supported;"
                f" this version reads formats {', '.join(map(str, READABLE_FORMATS))}"
            )
        try:
            params = TrainingParams.from_json(meta["params"])
            vocabulary = Vocabulary.from_arrays(params.features, arrays)
            weights = LinearWeights(
                np.ascontiguousarray(arrays["coef"], dtype=np.float32),
                arrays["intercept"].astype(np.float32),
            )
            area_stage = None
            if "area_labels" in meta:
                area_stage = AreaStage(
                    labels=tuple(str(label) for label in meta["area_labels"]),
                    weights=LinearWeights(
                        np.ascontiguousarray(arrays["area_coef"], dtype=np.float32),
                        arrays["area_intercept"].astype(np.float32),
                    ),
                    temperature=float(meta["area_temperature"]),
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
                area_stage=area_stage,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"serialised clause model is incomplete: {exc}") from exc
