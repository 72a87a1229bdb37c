"""Training sets, candidate models and the promotion rule: pure functions, no I/O.

Every model, the seed model included, learns from the same kind of set: the packaged seed
examples plus the texts moderators labelled through their decisions, one label per
normalised text (a moderator's label replaces a seed label; a later decision replaces an
earlier one). A stable hash of the normalised text (of the template group, for a templated
test case) keeps ``holdout_percent`` of the texts out of every model's training, so a
candidate and the active model are compared on texts that neither has seen, and a text
never moves between training and evaluation as the data grows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.text import normalise
from pp_classifier.taxonomy.document import Taxonomy
from pp_classifier.training.evaluation import (
    Evaluation,
    LevelReport,
    answers,
    compare_macro_f1,
    evaluate,
    level_report,
)
from pp_classifier.training.features import FeatureSpec
from pp_classifier.training.fit import model_version, train_model
from pp_classifier.training.model import ClauseModel, ModelError, TrainingParams, held_out
from pp_classifier.training.seed_data import seed_training_data
from pp_shared.contracts.events import NO_CLAUSE

log = logging.getLogger(__name__)

# Model versions start with what the model learnt from: "seed-<hash>", "retrained-<hash>".
SEED_NAME = "seed"
RETRAINED_NAME = "retrained"


# Chosen on held-out template groups (README, "Model"): C 3 regularises more than 10, which
# learnt the templates' wording; square-root class balance (see TrainingParams).
SEED_C = 3.0
BALANCE_POWER = 0.5
# Two folds for temperature scaling: three fits of half, half and all the data, where three
# folds cost four (about 50 s of CPU on 20,000 texts, over the start-up budget).
CALIBRATION_FOLDS = 2
# Words up to three after a negation cue are negated-word features (training/features.py):
# on held-out HateCheck/MHC templates, hate F1 en 0.780 -> 0.790, es 0.749 -> 0.755, the
# other languages within 0.006; negation cases right 15 % -> 19 % in template
# cross-validation (README, "Measured").
NEGATION_WINDOW = 3
# Quoted words are quoted-word features (tagging/text.py quote_view): in template
# cross-validation, counter-speech right 49 % -> 68 % and hate F1 +0.011 to +0.013 in every
# language; Davidson macro-F1 0.721 -> 0.728 (README, "Measured").
QUOTE_SCOPE = True
# The area stage (training/linear.py) averaged with the clause model: in template
# cross-validation hate F1 +0.001 to +0.010 per language, counter-speech 68 % -> 72 %,
# negation 13 % -> 22 %; on the held-out templates en, fr and de +0.016 to +0.026; Davidson
# macro-F1 0.728 -> 0.718 (README, "Measured").
AREA_STAGE = True


def training_params(settings: ClassifierSettings) -> TrainingParams:
    """The training parameters of these settings.

    Class weights are balanced by default: the seed data has a few examples per clause and
    hundreds of Davidson tweets for one, and unweighted the model learns mostly that one
    (held-out clause macro-F1 0.13 unweighted, 0.42 balanced; see the README).
    """
    return TrainingParams(
        c=SEED_C,
        threshold=settings.model_threshold,
        balanced=settings.model_balanced,
        balance_power=BALANCE_POWER,
        calibration_folds=CALIBRATION_FOLDS,
        area_stage=AREA_STAGE,
        features=FeatureSpec(negation_window=NEGATION_WINDOW, quote_scope=QUOTE_SCOPE),
    )


# Macro-F1 differences below this are floating-point noise, not a worse model.
F1_TOLERANCE = 1e-9
# A candidate with a lower macro-F1 is rejected only when the active model's lead is
# significant at this level (approximate randomisation of the macro-F1 difference on the
# held-out texts, evaluation.compare_macro_f1).
SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class DecisionLabel:
    """A moderator's clause (or ``none``) for an escalation text; ``from_qa`` when a QA
    reviewer corrected the moderator and this is the reviewer's clause."""

    text: str
    label: str
    from_qa: bool = False


@dataclass(frozen=True)
class TrainingSet:
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]
    # Decision labels used (after de-duplication), and those dropped because their clause
    # is not in the taxonomy the model is trained for.
    decisions: int
    unknown_clauses: int
    # Of ``decisions``, those whose label is a QA reviewer's correction.
    qa_labels: int = 0


def training_set(
    taxonomy: Taxonomy,
    decisions: Sequence[DecisionLabel],
    *,
    holdout_percent: int,
    decision_weight: int,
) -> TrainingSet:
    """Seed examples and decision labels for ``taxonomy``, split into training and held-out
    texts; decision labels in the training share count ``decision_weight`` times."""
    known = set(taxonomy.clause_ids()) | {NO_CLAUSE}
    # normalised text -> (text, label, source, held out); source 0 seed, 1 decision, 2 QA
    by_text: dict[str, tuple[str, str, int, bool]] = {}
    for example in seed_training_data(taxonomy):
        key = normalise(example.text)
        evaluation = held_out(example.group or key, holdout_percent)
        seen = by_text.get(key)
        if seen is None:
            by_text[key] = (example.text, example.label, 0, evaluation)
        elif evaluation and not seen[3]:
            # A text of a held-out template group is never trained on, whichever group
            # (or standalone example) it also appears in.
            by_text[key] = (*seen[:3], True)
    unknown = 0
    for decision in decisions:
        if decision.label not in known:
            unknown += 1
            continue
        key = normalise(decision.text)
        seen = by_text.get(key)
        by_text[key] = (
            decision.text,
            decision.label,
            2 if decision.from_qa else 1,
            held_out(key, holdout_percent) or (seen is not None and seen[3]),
        )
    train_texts: list[str] = []
    train_labels: list[str] = []
    test_texts: list[str] = []
    test_labels: list[str] = []
    used = qa = 0
    for key, (text, label, source, evaluation) in by_text.items():
        if not key:
            continue
        used += source > 0
        qa += source == 2
        if evaluation:
            test_texts.append(text)
            test_labels.append(label)
        else:
            repeat = decision_weight if source else 1
            train_texts.extend([text] * repeat)
            train_labels.extend([label] * repeat)
    return TrainingSet(train_texts, train_labels, test_texts, test_labels, used, unknown, qa)


@dataclass(frozen=True)
class Candidate:
    model: ClauseModel
    evaluation: Evaluation
    data: TrainingSet


def train_candidate(
    taxonomy: Taxonomy,
    decisions: Sequence[DecisionLabel],
    *,
    params: TrainingParams,
    holdout_percent: int,
    decision_weight: int,
) -> Candidate:
    """Train on the training share and evaluate on the held-out share (CPU-bound: seconds)."""
    data = training_set(
        taxonomy, decisions, holdout_percent=holdout_percent, decision_weight=decision_weight
    )
    return train_on(taxonomy, data, params)


def train_on(taxonomy: Taxonomy, data: TrainingSet, params: TrainingParams) -> Candidate:
    """The candidate of a training set: trained on its training share, evaluated on the
    held-out share."""
    model = train_model(
        data.train_texts,
        data.train_labels,
        taxonomy_version=taxonomy.version,
        clause_order=taxonomy.clause_ids(),
        name=_candidate_name(data),
        params=params,
    )
    return Candidate(model, evaluate(model, data.test_texts, data.test_labels), data)


def _candidate_name(data: TrainingSet) -> str:
    return RETRAINED_NAME if data.decisions else SEED_NAME


def candidate_version(taxonomy: Taxonomy, data: TrainingSet, params: TrainingParams) -> str:
    """The version :func:`train_on` gives the candidate of a training set, without training
    it: the training texts' hashes, about a second against the training's minute, so labels
    that change nothing (a text seen again) cost no training."""
    return model_version(
        data.train_texts,
        data.train_labels,
        taxonomy_version=taxonomy.version,
        name=_candidate_name(data),
        params=params,
    )


# Seed models are deterministic for a taxonomy version and parameters; replicas and commands
# in one process (tests, the benchmark) share them instead of training again.
_SEED_CACHE: dict[tuple[str, TrainingParams, int, int], Candidate] = {}


def seed_candidate(
    taxonomy: Taxonomy, settings: ClassifierSettings, *, cache: Path | None = None
) -> Candidate:
    """The seed model of ``taxonomy`` for these settings (no decision labels), trained once
    per process; with ``cache`` (a folder), also once per machine: a model trained before is
    loaded from there when its version, derived from the same data and parameters, matches."""
    params = training_params(settings)
    holdout_percent = settings.holdout_percent
    decision_weight = settings.decision_label_weight
    key = (taxonomy.version, params, holdout_percent, decision_weight)
    cached = _SEED_CACHE.get(key)
    if cached is None:
        data = training_set(
            taxonomy, [], holdout_percent=holdout_percent, decision_weight=decision_weight
        )
        model = _cached_seed(cache, data, taxonomy, params) if cache is not None else None
        if model is None:
            model = train_model(
                data.train_texts,
                data.train_labels,
                taxonomy_version=taxonomy.version,
                clause_order=taxonomy.clause_ids(),
                name=SEED_NAME,
                params=params,
            )
            if cache is not None:
                _store_seed(cache, model)
        cached = Candidate(model, evaluate(model, data.test_texts, data.test_labels), data)
        _SEED_CACHE[key] = cached
    return cached


def _cached_seed(
    cache: Path, data: TrainingSet, taxonomy: Taxonomy, params: TrainingParams
) -> ClauseModel | None:
    version = model_version(
        data.train_texts,
        data.train_labels,
        taxonomy_version=taxonomy.version,
        name=SEED_NAME,
        params=params,
    )
    path = cache / f"{version}.npz"
    if not path.is_file():
        return None
    try:
        model = ClauseModel.from_bytes(path.read_bytes())
    except (OSError, ModelError):
        log.warning("cached seed model unreadable; training it", extra={"path": str(path)})
        return None
    if model.version != version:
        log.warning("cached seed model of another version; training it", extra={"path": str(path)})
        return None
    return model


def _store_seed(cache: Path, model: ClauseModel) -> None:
    """Keep a trained seed model for the next start; a folder that cannot be written only
    costs the next start a training (logged)."""
    path = cache / f"{model.version}.npz"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(model.to_bytes())
        partial.replace(path)
    except OSError as exc:
        log.warning(
            "seed model not cached", extra={"path": str(path), "error": exc.strerror or str(exc)}
        )


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str
    active_macro_f1: float | None


def judge(candidate: Candidate, active: ClauseModel | None, *, taxonomy_version: str) -> Verdict:
    """Promote when there is no comparable active model, or when the candidate's macro-F1 on
    the held-out texts is not worse than the active model's on the same texts, or worse only
    by chance: the active model's lead is not significant (an approximate randomisation test
    of the macro-F1 difference, p >= ``SIGNIFICANCE``). A retraining on a few new labels moves a
    text or two of the held-out share either way; a strict comparison rejected a model whose
    one new label had moved one held-out text, and the label never took effect."""
    if active is None:
        return Verdict(True, "no active model", None)
    if active.taxonomy_version != taxonomy_version:
        return Verdict(True, f"taxonomy changed from {active.taxonomy_version}", None)
    data = candidate.data
    # The active model's answers, tagged once: its macro-F1 (as evaluate reads it) and, when
    # it leads, the comparison.
    theirs = answers(active, data.test_texts)
    baseline = level_report(data.test_labels, theirs).macro_f1
    mine = candidate.evaluation.clauses.macro_f1
    if mine + F1_TOLERANCE >= baseline:
        return Verdict(True, f"macro-F1 {mine:.4f} >= active {baseline:.4f}", baseline)
    compared = compare_macro_f1(data.test_labels, theirs, answers(candidate.model, data.test_texts))
    detail = f"randomisation test p={compared.p_value:.3g} on {len(data.test_texts)} texts"
    if compared.p_value >= SIGNIFICANCE:
        return Verdict(
            True, f"macro-F1 {mine:.4f} < active {baseline:.4f}, within chance ({detail})", baseline
        )
    return Verdict(False, f"macro-F1 {mine:.4f} < active {baseline:.4f} ({detail})", baseline)


def _level_json(report: LevelReport) -> dict[str, Any]:
    return {
        "macro_f1": round(report.macro_f1, 6),
        "accuracy": round(report.accuracy, 6),
        "per_class": [
            {
                "label": row.label,
                "precision": round(row.precision, 6),
                "recall": round(row.recall, 6),
                "f1": round(row.f1, 6),
                "support": row.support,
            }
            for row in report.per_class
        ],
    }


def evaluation_json(candidate: Candidate, verdict: Verdict | None = None) -> dict[str, Any]:
    """What is stored with a model and served by the API (no texts)."""
    evaluation = candidate.evaluation
    out: dict[str, Any] = {
        "held_out_texts": evaluation.texts,
        "training_texts": len(candidate.data.train_texts),
        "decision_labels": candidate.data.decisions,
        "qa_labels": candidate.data.qa_labels,
        "unknown_clause_labels": candidate.data.unknown_clauses,
        "clauses": _level_json(evaluation.clauses),
        "areas": _level_json(evaluation.areas),
        "calibration_error": round(evaluation.calibration_error, 6),
    }
    if verdict is not None and verdict.active_macro_f1 is not None:
        out["active_macro_f1"] = round(verdict.active_macro_f1, 6)
    return out
