"""A HateCheck-style report: which kinds of hate, and of non-hate, the tagger gets wrong.

A case counts as tagged hateful when its first tag is in the HATE area, or is a threat or an
incitement to violence (HateCheck's threats against a group are hate; the taxonomy puts
them in VBDA.THREATS and VBDA.INCITEMENT). Accuracy per functionality and per target group,
with counts, and hate precision, recall and F1, overall and per language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pp_classifier.training.corpora import FUNCTIONALITY_NAMES, FunctionalCase
from pp_shared.contracts.events import Tag

HATE_AREA = "HATE"
HATE_CLAUSES_OUTSIDE_HATE = frozenset({"VBDA.THREATS", "VBDA.INCITEMENT"})


def tagged_hateful(tags: Sequence[Tag]) -> bool:
    """Whether a text's first tag says hate (see the module's note on threats)."""
    first = tags[0]
    return first.area == HATE_AREA or first.clause_id in HATE_CLAUSES_OUTSIDE_HATE


@dataclass(frozen=True, slots=True)
class Accuracy:
    name: str
    key: str
    correct: int
    cases: int

    @property
    def share(self) -> float:
        return self.correct / self.cases if self.cases else 0.0

    def line(self) -> str:
        return f"{self.name}: {self.share:.0%} of {self.cases} correct"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "correct": self.correct,
            "cases": self.cases,
            "accuracy": round(self.share, 4),
        }


@dataclass(frozen=True, slots=True)
class HateScores:
    cases: int
    hateful: int
    precision: float
    recall: float
    f1: float
    accuracy: float

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "hateful": self.hateful,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "accuracy": round(self.accuracy, 4),
        }


def hate_scores(gold: Sequence[bool], predicted: Sequence[bool]) -> HateScores:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return HateScores(
        len(gold), tp + fn, precision, recall, f1, correct / len(gold) if gold else 0.0
    )


@dataclass(frozen=True)
class FunctionalReport:
    overall: HateScores
    languages: dict[str, HateScores]
    functionalities: list[Accuracy]
    targets: list[Accuracy]

    def to_json(self) -> dict[str, Any]:
        return {
            "hate": self.overall.to_json(),
            "languages": {k: v.to_json() for k, v in self.languages.items()},
            "functionalities": [a.to_json() for a in self.functionalities],
            "targets": [a.to_json() for a in self.targets],
        }


def _accuracies(
    keys: Sequence[str], correct: Sequence[bool], names: dict[str, str]
) -> list[Accuracy]:
    totals: dict[str, list[int]] = {}
    for key, ok in zip(keys, correct, strict=True):
        row = totals.setdefault(key, [0, 0])
        row[0] += ok
        row[1] += 1
    return [
        Accuracy(names.get(key, key), key, right, n)
        for key, (right, n) in sorted(totals.items(), key=lambda item: item[1][0] / item[1][1])
    ]


def functional_report(
    cases: Sequence[FunctionalCase], predicted: Sequence[bool]
) -> FunctionalReport:
    """Scores of ``predicted`` (tagged hateful or not, one per case), worst first."""
    gold = [c.hateful for c in cases]
    correct = [g == p for g, p in zip(gold, predicted, strict=True)]
    languages: dict[str, HateScores] = {}
    for language in sorted({c.language for c in cases}):
        rows = [i for i, c in enumerate(cases) if c.language == language]
        languages[language] = hate_scores([gold[i] for i in rows], [predicted[i] for i in rows])
    return FunctionalReport(
        overall=hate_scores(gold, predicted),
        languages=languages,
        functionalities=_accuracies(
            [c.functionality for c in cases],
            correct,
            {k: f"{v} ({k})" for k, v in FUNCTIONALITY_NAMES.items()},
        ),
        targets=_accuracies([c.target or "no target group" for c in cases], correct, {}),
    )
